package sandbox

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// fcmPush emulates the FCM HTTP v1 API with Google's OAuth 2.0
// service-account flow, as golang.org/x/oauth2/google and a plain HTTP
// client call them:
//
//	POST /token: grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer with
//	an RS256 assertion signed by the service account's key (the token_uri of
//	the service account JSON Connect hands out) → {access_token, expires_in}
//	POST /v1/projects/{project}/messages:send with that Bearer token
//	→ {"name": "projects/{project}/messages/{id}"}
//
// Errors come in Google's {error:{code, message, status, details}} shape,
// with FCM's error code (UNREGISTERED for a token Unregister marked or
// that starts with "unregistered", INVALID_ARGUMENT for a malformed one).
// FCM sends no delivery callbacks.
type fcmPush struct {
	m   *Messaging
	env Env
}

func (f *fcmPush) Name() string { return "fcm" }

func (f *fcmPush) Handler(env Env) http.Handler {
	f.env = env
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", f.token)
	mux.HandleFunc("POST /v1/projects/{project}/messages:send", f.m.withFaults("fcm", func(w http.ResponseWriter, status int, msg string) {
		st := map[int]string{500: "INTERNAL", 429: "QUOTA_EXCEEDED", 504: "UNAVAILABLE"}[status]
		fcmError(w, status, st, st, msg)
	}, f.send))
	return mux
}

func (f *fcmPush) tokenURL() string { return f.env.BaseURL + "/token" }

// serviceAccount is the account's key file, as Google's console downloads it.
func (f *fcmPush) serviceAccount(a *Account) (string, error) {
	if f.env.BaseURL == "" {
		return "", errors.New("sandbox: the fcm emulator is not registered yet")
	}
	der, err := x509.MarshalPKCS8PrivateKey(a.fcmKey)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(map[string]string{
		"type": "service_account", "project_id": a.FCMProject, "private_key_id": a.FCMKeyID,
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": a.FCMEmail, "client_id": randomDigits(21),
		"auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": f.tokenURL(),
		"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs", "universe_domain": "googleapis.com",
	})
	return string(b), err
}

// accessTokens live an hour, as Google's do.
const accessTokenLife = time.Hour

func (f *fcmPush) token(w http.ResponseWriter, r *http.Request) {
	body, err := f.m.readBody("fcm", r, 64<<10)
	oauthErr := func(status int, code, desc string) {
		writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
	}
	if err != nil {
		oauthErr(http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		oauthErr(http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type: "+form.Get("grant_type"))
		return
	}
	var acct *Account
	claims := jwt.MapClaims{}
	_, err = jwt.ParseWithClaims(form.Get("assertion"), claims, func(t *jwt.Token) (any, error) {
		iss, _ := claims["iss"].(string)
		acct = f.m.account(func(a *Account) bool { return a.FCMEmail == iss })
		if acct == nil {
			return nil, fmt.Errorf("no service account %q", iss)
		}
		if kid, _ := t.Header["kid"].(string); kid != "" && kid != acct.FCMKeyID {
			return nil, fmt.Errorf("unknown key id %q", kid)
		}
		return &acct.fcmKey.PublicKey, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience(f.tokenURL()), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	if err != nil {
		oauthErr(http.StatusBadRequest, "invalid_grant", "Invalid JWT Signature.")
		return
	}
	if scope, _ := claims["scope"].(string); !strings.Contains(scope, "https://www.googleapis.com/auth/firebase.messaging") &&
		!strings.Contains(scope, "https://www.googleapis.com/auth/cloud-platform") {
		oauthErr(http.StatusBadRequest, "invalid_scope", "The service account may not use the scope "+scope)
		return
	}
	tok := "ya29.sandbox-" + randomHex(24)
	now := f.m.now()
	f.m.mu.Lock()
	if len(f.m.fcmAccess) >= 10_000 {
		for k, v := range f.m.fcmAccess {
			if now.After(v.exp) {
				delete(f.m.fcmAccess, k)
			}
		}
	}
	f.m.fcmAccess[tok] = fcmToken{project: acct.FCMProject, exp: now.Add(accessTokenLife)}
	f.m.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "expires_in": int(accessTokenLife.Seconds()) - 1, "token_type": "Bearer"})
}

type fcmToken struct {
	project string
	exp     time.Time
}

func fcmError(w http.ResponseWriter, status int, grpcStatus, fcmCode, msg string) {
	e := map[string]any{"code": status, "message": msg, "status": grpcStatus}
	if fcmCode != "" {
		e["details"] = []map[string]string{{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": fcmCode}}
	}
	writeJSON(w, status, map[string]any{"error": e})
}

var (
	fcmTokenRE = regexp.MustCompile(`^[A-Za-z0-9_:\-]{20,1000}$`)
	labelRE    = regexp.MustCompile(`^[a-zA-Z0-9\-_.~%]{1,50}$`)
)

// fcmMessage is the v1 message as the emulator checks it.
type fcmMessage struct {
	Token        string `json:"token"`
	Topic        string `json:"topic"`
	Condition    string `json:"condition"`
	Notification *struct {
		Title string `json:"title"`
		Body  string `json:"body"`
		Image string `json:"image"`
	} `json:"notification"`
	Data       map[string]any `json:"data"`
	FCMOptions *struct {
		AnalyticsLabel string `json:"analytics_label"`
	} `json:"fcm_options"`
}

func (f *fcmPush) send(w http.ResponseWriter, r *http.Request) {
	body, err := f.m.readBody("fcm", r, 64<<10)
	if err != nil {
		fcmError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Request payload is too large")
		return
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.m.mu.Lock()
	at, known := f.m.fcmAccess[tok]
	f.m.mu.Unlock()
	project := r.PathValue("project")
	switch {
	case !ok || !known || f.m.now().After(at.exp):
		fcmError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
		return
	case at.project != project:
		fcmError(w, http.StatusForbidden, "PERMISSION_DENIED", "", "Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/projects/"+project+"'")
		return
	}
	var req struct {
		Message      *fcmMessage `json:"message"`
		ValidateOnly bool        `json:"validate_only"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Message == nil {
		fcmError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "", "Invalid JSON payload received. The request needs a message.")
		return
	}
	m := req.Message
	targets := 0
	for _, t := range []string{m.Token, m.Topic, m.Condition} {
		if t != "" {
			targets++
		}
	}
	if targets != 1 {
		fcmError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Exactly one of message.token, message.topic or message.condition must be set.")
		return
	}
	data := map[string]string{}
	for k, v := range m.Data {
		s, isString := v.(string)
		if !isString {
			fcmError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "", fmt.Sprintf("Invalid value at 'message.data[%s].value' (TYPE_STRING)", k))
			return
		}
		if k == "from" || strings.HasPrefix(k, "google") || strings.HasPrefix(k, "gcm") {
			fcmError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Invalid data key: "+k)
			return
		}
		data[k] = s
	}
	if m.FCMOptions != nil && m.FCMOptions.AnalyticsLabel != "" && !labelRE.MatchString(m.FCMOptions.AnalyticsLabel) {
		fcmError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Invalid analytics_label: "+m.FCMOptions.AnalyticsLabel)
		return
	}
	if len(body) > 4096+512 { // FCM's 4 KB payload limit, with room for the envelope
		fcmError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Message is too big")
		return
	}
	if m.Token != "" {
		f.m.mu.Lock()
		gone := f.m.gone[m.Token]
		f.m.mu.Unlock()
		switch {
		case gone || strings.HasPrefix(m.Token, "unregistered"):
			fcmError(w, http.StatusNotFound, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found.")
			return
		case !fcmTokenRE.MatchString(m.Token):
			fcmError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token")
			return
		}
	}
	id := fmt.Sprintf("0:%d%%%s", f.m.now().UnixNano(), randomHex(8))
	name := "projects/" + project + "/messages/" + id
	if !req.ValidateOnly {
		title, text := "", ""
		if m.Notification != nil {
			title, text = m.Notification.Title, m.Notification.Body
		}
		_ = f.env.Outbox.Add(Message{Channel: "push", To: m.Token + m.Topic + m.Condition, Subject: title, Body: text,
			CampaignID: data["campaignId"], Variant: data["variant"], ProviderMessageID: name})
	}
	writeJSON(w, http.StatusOK, map[string]string{"name": name})
}
