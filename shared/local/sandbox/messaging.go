package sandbox

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Messaging is the local stand-in for the four messaging providers
// (SendGrid, Twilio, FCM, WhatsApp Cloud): one account per workspace on
// each (Connect), an engagement model that sends the providers' signed
// delivery, open and click callbacks back to /webhooks/..., and fault
// injection for the send path's tests. Providers returns the four
// emulators to register; ServeHTTP serves /dev/sandbox (the model, the
// faults and the accounts, over HTTP).
type Messaging struct {
	log  *slog.Logger
	now  func() time.Time
	path string // accounts file; "" keeps them in memory

	sendgrid *sendGrid
	twilio   *twilioSMS
	fcm      *fcmPush
	whatsapp *waCloud

	mu        sync.Mutex
	accounts  map[string]*Account // tenant → account
	cfg       Config
	requests  map[string][]Received // provider → the latest requests
	optedOut  map[string]bool       // SMS numbers that replied STOP: Twilio answers 21610
	inbound   map[string]time.Time  // WhatsApp user → last message from them (the 24-hour window)
	gone      map[string]bool       // FCM tokens no longer registered
	fcmAccess map[string]fcmToken   // OAuth access tokens handed out
	seq       atomic.Uint64         // request counter for fault decisions
}

// MessagingOptions configure Messaging.
type MessagingOptions struct {
	Logger *slog.Logger
	Now    func() time.Time
	// AccountsPath keeps the accounts (credentials and signing keys) across
	// restarts, so integration settings saved in a workspace stay valid.
	AccountsPath string
	Config       *Config // nil: DefaultConfig()
}

// NewMessaging returns the messaging sandbox, loading accounts from
// AccountsPath when it exists.
func NewMessaging(o MessagingOptions) (*Messaging, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	cfg := DefaultConfig()
	if o.Config != nil {
		cfg = *o.Config
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Messaging{log: o.Logger.With("component", "sandbox-messaging"), now: o.Now, path: o.AccountsPath, cfg: cfg,
		accounts: map[string]*Account{}, requests: map[string][]Received{}, optedOut: map[string]bool{}, inbound: map[string]time.Time{}, gone: map[string]bool{}, fcmAccess: map[string]fcmToken{}}
	m.sendgrid, m.twilio, m.fcm, m.whatsapp = &sendGrid{m: m}, &twilioSMS{m: m}, &fcmPush{m: m}, &waCloud{m: m, buckets: map[string]*bucket{}}
	if err := m.load(); err != nil {
		return nil, err
	}
	return m, nil
}

// Providers are the four emulators, for Sandbox.Register.
func (m *Messaging) Providers() []Provider {
	return []Provider{m.sendgrid, m.twilio, m.fcm, m.whatsapp}
}

// Config is the engagement model and the fault knobs.
type Config struct {
	// Seed makes every engagement decision repeatable: the same seed and
	// message id always give the same callbacks.
	Seed uint64 `json:"seed"`
	// Engagement per channel (email, sms, push, whatsapp).
	Engagement map[string]Model `json:"engagement"`
	// Faults per provider (sendgrid, twilio, fcm, whatsapp), applied to
	// the message-sending endpoints.
	Faults map[string]Faults `json:"faults"`
}

// Model is how recipients on one channel react. Shares are between 0 and 1.
type Model struct {
	Delivered float64 `json:"delivered"` // of sent; the rest bounce (email) or fail (sms, whatsapp)
	Opened    float64 `json:"opened"`    // of delivered: email opens, WhatsApp reads
	Clicked   float64 `json:"clicked"`   // of opened: email link clicks
	// Unsubscribed is of delivered: one-click email unsubscribes (posted to
	// the message's List-Unsubscribe URL), SMS STOP replies.
	Unsubscribed float64 `json:"unsubscribed"`
	// Replied is of delivered: WhatsApp users who write back (opening the
	// 24-hour window).
	Replied float64  `json:"replied"`
	Delay   Duration `json:"delay"` // before the first callback; each later one follows after another Delay
}

// Faults make a provider fail on purpose. Shares are between 0 and 1 and
// are decided per request in order, deterministically from the seed.
type Faults struct {
	Error500     float64  `json:"error500"`     // answered 500, nothing accepted
	RateLimit429 float64  `json:"rateLimit429"` // answered 429 with Retry-After, nothing accepted
	RetryAfter   Duration `json:"retryAfter"`   // default 1s
	// Timeout holds the request for TimeoutDelay and then answers 504
	// without accepting it: the client sees a timeout, the message was
	// not sent.
	Timeout float64 `json:"timeout"`
	// LostAnswer accepts the message (outbox, callbacks) and then holds
	// the answer like Timeout: the client sees a timeout although the
	// message went out — the case that makes a blind retry send twice.
	LostAnswer   float64  `json:"lostAnswer"`
	TimeoutDelay Duration `json:"timeoutDelay"` // default 15s, beyond the senders' 10 s client timeout
}

// Duration is a time.Duration written as "1.5s" in JSON.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"250ms\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// DefaultConfig is an engagement model with plausible rates, quick
// callbacks and no faults.
func DefaultConfig() Config {
	d := Duration(300 * time.Millisecond)
	return Config{
		Seed: 1,
		Engagement: map[string]Model{
			"email":    {Delivered: 0.97, Opened: 0.35, Clicked: 0.15, Unsubscribed: 0.005, Delay: d},
			"sms":      {Delivered: 0.98, Unsubscribed: 0.01, Delay: d},
			"whatsapp": {Delivered: 0.97, Opened: 0.7, Replied: 0.05, Delay: d},
			"push":     {Delivered: 1, Delay: d}, // FCM sends no callbacks
		},
		Faults: map[string]Faults{},
	}
}

// Validate checks shares and durations.
func (c Config) Validate() error {
	var errs []error
	share := func(what string, v float64) {
		if v < 0 || v > 1 {
			errs = append(errs, fmt.Errorf("%s = %v: a share is between 0 and 1", what, v))
		}
	}
	for ch, md := range c.Engagement {
		if !channels[ch] {
			errs = append(errs, fmt.Errorf("engagement.%s: want email, sms, push or whatsapp", ch))
		}
		for k, v := range map[string]float64{"delivered": md.Delivered, "opened": md.Opened, "clicked": md.Clicked, "unsubscribed": md.Unsubscribed, "replied": md.Replied} {
			share("engagement."+ch+"."+k, v)
		}
		if md.Delay < 0 || time.Duration(md.Delay) > time.Hour {
			errs = append(errs, fmt.Errorf("engagement.%s.delay: between 0 and 1h", ch))
		}
	}
	for p, f := range c.Faults {
		if !map[string]bool{"sendgrid": true, "twilio": true, "fcm": true, "whatsapp": true}[p] {
			errs = append(errs, fmt.Errorf("faults.%s: want sendgrid, twilio, fcm or whatsapp", p))
		}
		for k, v := range map[string]float64{"error500": f.Error500, "rateLimit429": f.RateLimit429, "timeout": f.Timeout, "lostAnswer": f.LostAnswer} {
			share("faults."+p+"."+k, v)
		}
		if s := f.Error500 + f.RateLimit429 + f.Timeout + f.LostAnswer; s > 1 {
			errs = append(errs, fmt.Errorf("faults.%s: the shares add up to %v, more than 1", p, s))
		}
	}
	return errors.Join(errs...)
}

// SetConfig replaces the engagement model and the faults.
func (m *Messaging) SetConfig(c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cfg = c
	m.seq.Store(0)
	return nil
}

// Config returns the current model and faults.
func (m *Messaging) Config() Config {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cfg
}

// chance is a deterministic number in [0, 1) for a decision about key.
func (m *Messaging) chance(parts ...string) float64 {
	m.mu.Lock()
	seed := m.cfg.Seed
	m.mu.Unlock()
	h := fnv.New64a()
	fmt.Fprintf(h, "%d", seed)
	for _, p := range parts {
		h.Write([]byte{0})
		io.WriteString(h, p)
	}
	return float64(h.Sum64()>>11) / float64(1<<53)
}

func (m *Messaging) model(channel string) Model {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cfg.Engagement[channel]
}

// Received is one request a provider emulator got, as it arrived.
type Received struct {
	Method string      `json:"method"`
	Path   string      `json:"path"`
	Header http.Header `json:"header"`
	Body   []byte      `json:"body"`
	At     time.Time   `json:"at"`
}

// maxReceived bounds the requests kept per provider.
const maxReceived = 2000

// Requests returns the latest requests provider received (oldest first),
// for tests that assert what a real client sent.
func (m *Messaging) Requests(provider string) []Received {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Received(nil), m.requests[provider]...)
}

func (m *Messaging) record(provider string, r *http.Request, body []byte) {
	rec := Received{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body, At: m.now()}
	m.mu.Lock()
	defer m.mu.Unlock()
	rs := append(m.requests[provider], rec)
	if len(rs) > maxReceived {
		rs = append([]Received(nil), rs[len(rs)-maxReceived:]...)
	}
	m.requests[provider] = rs
}

// readBody reads a request body (at most limit bytes) and records the request.
func (m *Messaging) readBody(provider string, r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("the body is larger than %d bytes", limit)
	}
	m.record(provider, r, b)
	return b, nil
}

// Account is one workspace's credentials at the four providers.
type Account struct {
	Tenant string `json:"tenant"`

	SendGridKey     string `json:"sendgridKey"`
	SendGridSigning string `json:"sendgridSigning"` // PKCS #8 DER, base64: signs the Event Webhook

	TwilioSID     string `json:"twilioSid"`
	TwilioToken   string `json:"twilioToken"`
	TwilioFrom    string `json:"twilioFrom"`
	TwilioService string `json:"twilioService"`

	FCMProject  string `json:"fcmProject"`
	FCMEmail    string `json:"fcmEmail"`
	FCMKeyID    string `json:"fcmKeyId"`
	FCMKey      string `json:"fcmKey"` // PKCS #8 DER, base64
	WAPhoneID   string `json:"waPhoneId"`
	WABusiness  string `json:"waBusinessId"`
	WAToken     string `json:"waToken"`
	WAAppSecret string `json:"waAppSecret"`
	WAVerify    string `json:"waVerifyToken"`
	WARate      int    `json:"waRate"` // messages per second of the phone number

	sgKey  *ecdsa.PrivateKey
	fcmKey *rsa.PrivateKey
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randomDigits(n int) string {
	var sb strings.Builder
	for sb.Len() < n {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		if sb.Len() == 0 && d.Int64() == 0 {
			continue
		}
		sb.WriteString(d.String())
	}
	return sb.String()
}

func newAccount(tenant string) (*Account, error) {
	sg, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	sgDER, err := x509.MarshalPKCS8PrivateKey(sg)
	if err != nil {
		return nil, err
	}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	rkDER, err := x509.MarshalPKCS8PrivateKey(rk)
	if err != nil {
		return nil, err
	}
	project := "pulsehub-sandbox-" + randomHex(3)
	return &Account{
		Tenant:      tenant,
		SendGridKey: "SG." + randomHex(11) + "." + randomHex(21), SendGridSigning: base64.StdEncoding.EncodeToString(sgDER),
		TwilioSID: "AC" + randomHex(16), TwilioToken: randomHex(16), TwilioFrom: "+1555" + randomDigits(7), TwilioService: "MG" + randomHex(16),
		FCMProject: project, FCMEmail: "pulsehub@" + project + ".iam.gserviceaccount.com", FCMKeyID: randomHex(20), FCMKey: base64.StdEncoding.EncodeToString(rkDER),
		WAPhoneID: randomDigits(15), WABusiness: randomDigits(15), WAToken: "EAAG" + randomHex(24), WAAppSecret: randomHex(16), WAVerify: randomHex(12),
		WARate: 80, sgKey: sg, fcmKey: rk,
	}, nil
}

// parseKeys decodes the stored keys of a loaded account.
func (a *Account) parseKeys() error {
	der, err := base64.StdEncoding.DecodeString(a.SendGridSigning)
	if err != nil {
		return err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return err
	}
	var ok bool
	if a.sgKey, ok = k.(*ecdsa.PrivateKey); !ok {
		return fmt.Errorf("the SendGrid signing key is a %T", k)
	}
	if der, err = base64.StdEncoding.DecodeString(a.FCMKey); err != nil {
		return err
	}
	if k, err = x509.ParsePKCS8PrivateKey(der); err != nil {
		return err
	}
	if a.fcmKey, ok = k.(*rsa.PrivateKey); !ok {
		return fmt.Errorf("the FCM key is a %T", k)
	}
	return nil
}

// Connect returns the workspace's sandbox accounts, creating them the
// first time, as the settings to save with PUT /v1/integrations/{name}
// (name → key → value).
func (m *Messaging) Connect(tenant string) (map[string]map[string]string, error) {
	if tenant == "" {
		return nil, errors.New("sandbox: Connect needs a workspace id")
	}
	m.mu.Lock()
	a := m.accounts[tenant]
	m.mu.Unlock()
	if a == nil {
		var err error
		if a, err = newAccount(tenant); err != nil {
			return nil, fmt.Errorf("sandbox: new account: %w", err)
		}
		m.mu.Lock()
		if prev := m.accounts[tenant]; prev != nil {
			a = prev // a concurrent Connect won
		} else {
			m.accounts[tenant] = a
		}
		err = m.saveLocked()
		m.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
	return m.settings(a)
}

func (m *Messaging) settings(a *Account) (map[string]map[string]string, error) {
	pub, err := x509.MarshalPKIXPublicKey(&a.sgKey.PublicKey)
	if err != nil {
		return nil, err
	}
	sa, err := m.fcm.serviceAccount(a)
	if err != nil {
		return nil, err
	}
	return map[string]map[string]string{
		"sendgrid": {"apiKey": a.SendGridKey, "fromEmail": "news@pulsehub-sandbox.test", "fromName": "PulseHub sandbox",
			"webhookPublicKey": base64.StdEncoding.EncodeToString(pub)},
		"twilio":   {"accountSid": a.TwilioSID, "authToken": a.TwilioToken, "messagingServiceSid": a.TwilioService, "fromNumber": a.TwilioFrom},
		"fcm":      {"projectId": a.FCMProject, "serviceAccountJson": sa},
		"whatsapp": {"phoneNumberId": a.WAPhoneID, "businessAccountId": a.WABusiness, "accessToken": a.WAToken, "appSecret": a.WAAppSecret, "verifyToken": a.WAVerify, "messagesPerSecond": strconv.Itoa(a.WARate)},
	}, nil
}

// account finds the account that holds a credential.
func (m *Messaging) account(match func(*Account) bool) *Account {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range m.accounts {
		if match(a) {
			return a
		}
	}
	return nil
}

func (m *Messaging) load() error {
	if m.path == "" {
		return nil
	}
	b, err := os.ReadFile(m.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sandbox: read accounts: %w", err)
	}
	var as []*Account
	if err := json.Unmarshal(b, &as); err != nil {
		return fmt.Errorf("sandbox: accounts file %s: %w", m.path, err)
	}
	for _, a := range as {
		if err := a.parseKeys(); err != nil {
			return fmt.Errorf("sandbox: accounts file %s, workspace %s: %w", m.path, a.Tenant, err)
		}
		m.accounts[a.Tenant] = a
	}
	return nil
}

// saveLocked writes the accounts file (m.mu held).
func (m *Messaging) saveLocked() error {
	if m.path == "" {
		return nil
	}
	as := make([]*Account, 0, len(m.accounts))
	for _, a := range m.accounts {
		as = append(as, a)
	}
	b, err := json.MarshalIndent(as, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(m.path), 0o700); err != nil {
		return fmt.Errorf("sandbox: accounts dir: %w", err)
	}
	tmp := m.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("sandbox: write accounts: %w", err)
	}
	return os.Rename(tmp, m.path)
}

// Unregister makes FCM answer UNREGISTERED for a device token (the app
// was uninstalled).
func (m *Messaging) Unregister(token string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gone[token] = true
}

// SetWhatsAppRate sets the throughput (messages per second) of the
// workspace's WhatsApp number; the emulator answers 130429 above it.
func (m *Messaging) SetWhatsAppRate(tenant string, perSecond int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.accounts[tenant]
	if a == nil || perSecond < 1 {
		return fmt.Errorf("sandbox: no account for %q, or a rate below 1", tenant)
	}
	a.WARate = perSecond
	return m.saveLocked()
}

// OptOut makes a phone number reply STOP: Twilio refuses it with 21610.
func (m *Messaging) OptOut(phone string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.optedOut[phone] = true
}

// ServeHTTP serves the sandbox's own endpoints:
//
//	GET  /dev/sandbox                  → the engagement model and faults (Config)
//	PUT  /dev/sandbox                  ← a Config
//	POST /dev/sandbox/accounts         ← {"tenantId"} → the integration settings for that workspace
//	POST /dev/sandbox/whatsapp/inbound ← {"tenantId","from","text"}: a customer writes (opens the 24-hour window)
func (m *Messaging) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method + " " + strings.TrimSuffix(r.URL.Path, "/") {
	case "GET /dev/sandbox":
		writeJSON(w, http.StatusOK, m.Config())
	case "PUT /dev/sandbox":
		var c Config
		if err := decodeStrict(r, &c); err != nil {
			Problem(w, http.StatusBadRequest, "body is not a sandbox config: "+err.Error())
			return
		}
		if err := m.SetConfig(c); err != nil {
			Problem(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, m.Config())
	case "POST /dev/sandbox/accounts":
		var in struct {
			TenantID string `json:"tenantId"`
		}
		if err := decodeStrict(r, &in); err != nil || in.TenantID == "" {
			Problem(w, http.StatusBadRequest, `body must be {"tenantId": "..."}`)
			return
		}
		s, err := m.Connect(in.TenantID)
		if err != nil {
			Problem(w, http.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, s)
	case "POST /dev/sandbox/whatsapp/inbound":
		var in struct {
			TenantID, From, Text string
		}
		if err := decodeStrict(r, &in); err != nil || in.TenantID == "" || in.From == "" {
			Problem(w, http.StatusBadRequest, `body must be {"tenantId", "from": "+E.164", "text"}`)
			return
		}
		if err := m.whatsapp.inboundFrom(r.Context(), in.TenantID, in.From, in.Text); err != nil {
			Problem(w, http.StatusBadRequest, err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		Problem(w, http.StatusNotFound, "no sandbox route "+r.Method+" "+r.URL.Path+" (GET|PUT /dev/sandbox, POST /dev/sandbox/accounts, POST /dev/sandbox/whatsapp/inbound)")
	}
}

func decodeStrict(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// fault decides whether this request fails on purpose, and how.
type fault int

const (
	noFault fault = iota
	fault500
	fault429
	faultTimeout
	faultLost
)

func (m *Messaging) fault(provider string) (fault, Faults) {
	m.mu.Lock()
	f, seed := m.cfg.Faults[provider], m.cfg.Seed
	m.mu.Unlock()
	if f.Error500+f.RateLimit429+f.Timeout+f.LostAnswer == 0 {
		return noFault, f
	}
	n := m.seq.Add(1)
	h := fnv.New64a()
	fmt.Fprintf(h, "%d|%s|%d", seed, provider, n)
	x := float64(h.Sum64()>>11) / float64(1<<53)
	switch {
	case x < f.Error500:
		return fault500, f
	case x < f.Error500+f.RateLimit429:
		return fault429, f
	case x < f.Error500+f.RateLimit429+f.Timeout:
		return faultTimeout, f
	case x < f.Error500+f.RateLimit429+f.Timeout+f.LostAnswer:
		return faultLost, f
	}
	return noFault, f
}

// errorShape writes a provider's error body.
type errorShape func(w http.ResponseWriter, status int, msg string)

// withFaults wraps a message-sending handler with the provider's faults.
func (m *Messaging) withFaults(provider string, shape errorShape, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		kind, f := m.fault(provider)
		hold := func() {
			d := time.Duration(f.TimeoutDelay)
			if d <= 0 {
				d = 15 * time.Second
			}
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
			case <-r.Context().Done():
			}
		}
		refuse := func() { // the request is seen, and refused
			b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			m.record(provider, r, b)
		}
		switch kind {
		case fault500:
			refuse()
			shape(w, http.StatusInternalServerError, "sandbox: injected internal error")
		case fault429:
			refuse()
			ra := time.Duration(f.RetryAfter)
			if ra <= 0 {
				ra = time.Second
			}
			w.Header().Set("Retry-After", strconv.Itoa(int((ra+time.Second-1)/time.Second)))
			shape(w, http.StatusTooManyRequests, "sandbox: injected rate limit")
		case faultTimeout:
			refuse()
			hold()
			shape(w, http.StatusGatewayTimeout, "sandbox: injected timeout (not accepted)")
		case faultLost:
			rec := &bufferedWriter{header: http.Header{}}
			next(rec, r) // accepted: outbox and callbacks happen
			hold()
			for k, v := range rec.header {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.status)
			_, _ = w.Write(rec.body)
		default:
			next(w, r)
		}
	}
}

// bufferedWriter keeps an answer to send later.
type bufferedWriter struct {
	header http.Header
	status int
	body   []byte
}

func (b *bufferedWriter) Header() http.Header { return b.header }
func (b *bufferedWriter) WriteHeader(s int) {
	if b.status == 0 {
		b.status = s
	}
}
func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	b.body = append(b.body, p...)
	return len(p), nil
}

// after is the delay of the n-th callback (1-based) of a message.
func after(md Model, n int) time.Duration {
	return time.Duration(n) * time.Duration(md.Delay)
}
