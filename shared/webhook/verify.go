package webhook

import (
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/sendgrid/sendgrid-go/helpers/eventwebhook"
	twilio "github.com/twilio/twilio-go/client"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

// VerifyShopify reports whether signature (the X-Shopify-Hmac-Sha256 header:
// base64 of HMAC-SHA256 over the raw body) matches one of secrets. Several
// secrets are accepted so a rotated app secret keeps working for the
// rotation window.
func VerifyShopify(body []byte, signature string, secrets []string) bool {
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(signature))
	if err != nil || len(got) != sha256.Size {
		return false
	}
	return anyHMAC(body, got, secrets)
}

// VerifyMeta reports whether header (X-Hub-Signature-256: "sha256=" and the
// hex HMAC-SHA256 of the raw body with the app secret) matches one of secrets.
// WhatsApp Cloud API callbacks are signed the same way.
func VerifyMeta(body []byte, header string, secrets []string) bool {
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return false
	}
	return anyHMAC(body, got, secrets)
}

func anyHMAC(body, got []byte, secrets []string) bool {
	ok := false
	for _, s := range secrets {
		if s == "" {
			continue
		}
		m := hmac.New(sha256.New, []byte(s))
		m.Write(body)
		// No early return: every configured secret costs the same time.
		if hmac.Equal(m.Sum(nil), got) {
			ok = true
		}
	}
	return ok
}

// MetaHandshake answers Meta's subscription check (GET with hub.mode,
// hub.verify_token, hub.challenge): the challenge is echoed only when the
// mode is "subscribe" and the token matches.
func MetaHandshake(query map[string]string, verifyToken string) (challenge string, ok bool) {
	if verifyToken == "" || query["hub.mode"] != "subscribe" || query["hub.challenge"] == "" {
		return "", false
	}
	if !hmac.Equal([]byte(query["hub.verify_token"]), []byte(verifyToken)) {
		return "", false
	}
	return query["hub.challenge"], true
}

// VerifyTwilio checks X-Twilio-Signature with twilio-go's request validator:
// HMAC-SHA1 over the exact public URL Twilio called followed by the POST
// parameters sorted by name.
func VerifyTwilio(authToken, publicURL string, params map[string]string, signature string) bool {
	if authToken == "" || signature == "" {
		return false
	}
	v := twilio.NewRequestValidator(authToken)
	return v.Validate(publicURL, params, signature)
}

// VerifySendGrid checks SendGrid's signed event webhook: an ECDSA P-256
// signature (base64 DER) over timestamp + raw body, with the public key shown
// in SendGrid's settings (base64 DER SubjectPublicKeyInfo). It checks the
// signature only: a captured request verifies forever, so a receiver also
// needs CheckSendGridTimestamp.
func VerifySendGrid(publicKey string, body []byte, signature, timestamp string) bool {
	key, err := ParseSendGridKey(publicKey)
	return err == nil && VerifySendGridKey(key, body, signature, timestamp)
}

// ParseSendGridKey parses SendGrid's verification key (base64 DER). The
// handler caches the result: parsing costs as much as verifying.
func ParseSendGridKey(publicKey string) (key *ecdsa.PublicKey, err error) {
	if publicKey == "" {
		return nil, errors.New("webhook: SendGrid verification key is empty")
	}
	// The helper type-asserts the parsed key to ECDSA and panics on any
	// other key type; a misconfigured key must read as "not verified".
	defer func() {
		if recover() != nil {
			key, err = nil, errors.New("webhook: SendGrid verification key is not an ECDSA public key")
		}
	}()
	key, err = eventwebhook.ConvertPublicKeyBase64ToECDSA(publicKey)
	if err == nil && key == nil {
		err = errors.New("webhook: SendGrid verification key is empty")
	}
	return key, err
}

// VerifySendGridKey is VerifySendGrid with a parsed key (signature only, as
// VerifySendGrid).
func VerifySendGridKey(key *ecdsa.PublicKey, body []byte, signature, timestamp string) bool {
	if key == nil || signature == "" || timestamp == "" {
		return false
	}
	ok, err := eventwebhook.VerifySignature(key, body, signature, timestamp)
	return err == nil && ok
}

// The window in which a signed SendGrid request is accepted. SendGrid signs
// X-Twilio-Email-Event-Webhook-Timestamp with the body but documents no
// tolerance, and it retries a failed POST for up to 24 hours without saying
// whether a retry is signed anew; so a request may be up to 25 hours old
// (a day of retries, an hour of slack), or a PulseHub outage would lose
// every event SendGrid retries after it. That still closes replays: ingest
// dedupes on the body hash and sg_event_id for 7 days, longer than the
// window, and anything older is refused here. Ahead of the clock only a
// skewed clock explains a timestamp, so that side stays tight.
const (
	SendGridMaxAge  = 25 * time.Hour
	SendGridMaxSkew = 5 * time.Minute
)

// TimestampHeaderSendGrid is the signed timestamp's header.
const TimestampHeaderSendGrid = "X-Twilio-Email-Event-Webhook-Timestamp"

// CheckSendGridTimestamp reads the signed timestamp (Unix seconds, digits
// only) and refuses it, as apperr.Unauthorized with a detail saying why,
// when it is malformed, older than SendGridMaxAge or more than
// SendGridMaxSkew ahead of now. It returns the time the header states.
func CheckSendGridTimestamp(ts string, now time.Time) (time.Time, error) {
	sec, err := parseInt(ts)
	if err != nil {
		return time.Time{}, apperr.E(apperr.Unauthorized, "%s %q is not a Unix time in seconds", TimestampHeaderSendGrid, clip(ts, 32))
	}
	at := time.Unix(sec, 0).UTC()
	// Times are compared, not durations: a far-off timestamp would
	// saturate a Duration and could pass a sign flip.
	switch {
	case at.Before(now.Add(-SendGridMaxAge)):
		return time.Time{}, apperr.E(apperr.Unauthorized, "%s %s is %s old; a signed SendGrid request older than %s is refused as a possible replay",
			TimestampHeaderSendGrid, ts, now.Sub(at).Round(time.Second), SendGridMaxAge)
	case at.After(now.Add(SendGridMaxSkew)):
		return time.Time{}, apperr.E(apperr.Unauthorized, "%s %s is %s ahead of this server's clock (at most %s is accepted); check the clock",
			TimestampHeaderSendGrid, ts, at.Sub(now).Round(time.Second), SendGridMaxSkew)
	}
	return at, nil
}

// clip shortens an echoed header value so a problem detail stays small.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
