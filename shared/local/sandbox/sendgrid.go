package sandbox

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pulsehub/pulsehub/shared/webhook"
)

// sendGrid emulates SendGrid's v3 Mail Send API, POST /v3/mail/send, as
// sendgrid-go calls it: a Bearer API key, SendGrid's checks on the body
// (answered in its {"errors":[{message, field, help}]} shape), 202 with
// X-Message-Id. Each recipient's message goes to the outbox, and its
// Event Webhook events (processed, delivered or bounce, open, click) are
// posted to /webhooks/sendgrid/{tenantId} in signed batches (the events
// of a 100 ms window in one POST, as SendGrid batches). A recipient who
// unsubscribes in the engagement model uses the message's
// List-Unsubscribe one-click URL, as a mailbox provider would.
type sendGrid struct {
	m   *Messaging
	env Env

	mu      sync.Mutex
	batches map[string][]map[string]any // tenant|due → events gathered for that POST
}

// eventBatch is how long events gather before one signed POST, as
// SendGrid's Event Webhook batches them (its own window is longer).
const eventBatch = 100 * time.Millisecond

func (s *sendGrid) Name() string { return "sendgrid" }

func (s *sendGrid) Handler(env Env) http.Handler {
	s.env = env
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v3/mail/send", s.m.withFaults("sendgrid", sgError, s.send))
	return mux
}

func sgError(w http.ResponseWriter, status int, msg string) {
	sgErrors(w, status, sgErr{Message: msg})
}

type sgErr struct {
	Message string  `json:"message"`
	Field   *string `json:"field"`
	Help    *string `json:"help"`
}

func sgErrors(w http.ResponseWriter, status int, errs ...sgErr) {
	writeJSON(w, status, map[string]any{"errors": errs})
}

func field(f, msg string) sgErr {
	help := "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message." + strings.ReplaceAll(f, ".", "-")
	return sgErr{Message: msg, Field: &f, Help: &help}
}

// sgMail is the part of the v3 mail body the emulator checks.
type sgMail struct {
	Personalizations []struct {
		To         []sgAddress       `json:"to"`
		Subject    string            `json:"subject"`
		CustomArgs map[string]string `json:"custom_args"`
		Headers    map[string]string `json:"headers"`
	} `json:"personalizations"`
	From    *sgAddress `json:"from"`
	ReplyTo *sgAddress `json:"reply_to"`
	Subject string     `json:"subject"`
	Content []struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"content"`
	TemplateID string            `json:"template_id"`
	Headers    map[string]string `json:"headers"`
	CustomArgs map[string]string `json:"custom_args"`
	Categories []string          `json:"categories"`
}

type sgAddress struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

// reservedHeaders may not be set through headers (SendGrid refuses them).
var reservedHeaders = map[string]bool{"x-sg-id": true, "x-sg-eid": true, "received": true, "dkim-signature": true, "content-type": true,
	"content-transfer-encoding": true, "to": true, "from": true, "subject": true, "reply-to": true, "cc": true, "bcc": true}

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".")
}

func (s *sendGrid) send(w http.ResponseWriter, r *http.Request) {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	body, err := s.m.readBody("sendgrid", r, 30<<20)
	if err != nil {
		sgErrors(w, http.StatusRequestEntityTooLarge, sgErr{Message: "The JSON payload you have included in your request is too large."})
		return
	}
	acct := s.m.account(func(a *Account) bool { return ok && a.SendGridKey == key })
	if acct == nil {
		sgErrors(w, http.StatusUnauthorized, sgErr{Message: "The provided authorization grant is invalid, expired, or revoked"})
		return
	}
	var m sgMail
	if err := json.Unmarshal(body, &m); err != nil {
		sgErrors(w, http.StatusBadRequest, sgErr{Message: "Bad Request"})
		return
	}
	var errs []sgErr
	if m.From == nil || m.From.Email == "" {
		errs = append(errs, field("from.email", "The from object must be provided for every email send. It is an object that requires the email parameter, but may also contain a name parameter."))
	} else if !validEmail(m.From.Email) {
		errs = append(errs, field("from.email", "The from email does not contain a valid address."))
	}
	if len(m.Personalizations) == 0 {
		errs = append(errs, field("personalizations", "The personalizations field is required and must have at least one personalization."))
	}
	recipients := 0
	for i, p := range m.Personalizations {
		if len(p.To) == 0 {
			errs = append(errs, field(fmt.Sprintf("personalizations.%d.to", i), "The to array is required for all personalization objects, and must have at least one email object with a valid email address."))
		}
		for j, to := range p.To {
			if !validEmail(to.Email) {
				errs = append(errs, field(fmt.Sprintf("personalizations.%d.to.%d.email", i, j), "Does not contain a valid address."))
			}
		}
		recipients += len(p.To)
		if m.Subject == "" && p.Subject == "" && m.TemplateID == "" {
			errs = append(errs, field("subject", "The subject is required. You can get around this requirement if you use a template with a subject defined or if every personalization has a subject defined."))
		}
	}
	if recipients > 1000 {
		errs = append(errs, field("personalizations", "The personalizations field may have at most 1000 recipients."))
	}
	if len(m.Content) == 0 && m.TemplateID == "" {
		errs = append(errs, field("content", "Unless a valid template_id is provided, the content parameter is required. There must be at least one defined content block."))
	}
	for i, c := range m.Content {
		if c.Type == "" || c.Value == "" {
			errs = append(errs, field(fmt.Sprintf("content.%d", i), "The content value must be a string at least one character in length."))
		}
		if i > 0 && c.Type == "text/plain" {
			errs = append(errs, field("content", "If present, text/plain content must be first, followed by any other content."))
		}
	}
	if m.ReplyTo != nil && !validEmail(m.ReplyTo.Email) {
		errs = append(errs, field("reply_to.email", "The reply_to email does not contain a valid address."))
	}
	for h := range m.Headers {
		if reservedHeaders[strings.ToLower(h)] {
			errs = append(errs, field("headers", "The header "+h+" is reserved; it cannot be set through headers."))
		}
	}
	if n := argsSize(m.CustomArgs); n > 10000 {
		errs = append(errs, field("custom_args", "The custom arguments must total less than 10000 bytes."))
	}
	if len(errs) > 0 {
		sgErrors(w, http.StatusBadRequest, errs...)
		return
	}

	id := randomID(22)
	html, text := "", ""
	for _, c := range m.Content {
		switch c.Type {
		case "text/html":
			html = c.Value
		case "text/plain":
			text = c.Value
		}
	}
	shown := html
	if shown == "" {
		shown = text
	}
	n := 0
	for _, p := range m.Personalizations {
		args := map[string]string{}
		for k, v := range m.CustomArgs {
			args[k] = v
		}
		for k, v := range p.CustomArgs {
			args[k] = v
		}
		subject := m.Subject
		if p.Subject != "" {
			subject = p.Subject
		}
		unsub := listUnsubscribe(m.Headers, p.Headers)
		for _, to := range p.To {
			n++
			msgID := fmt.Sprintf("%s.filterdrecv-sandbox.%d.%d.0", id, n, s.m.now().Unix())
			_ = s.env.Outbox.Add(Message{Channel: "email", To: to.Email, Subject: subject, Body: shown, CampaignID: args["campaignId"], Variant: args["variant"], ProviderMessageID: id})
			s.engage(acct, to.Email, msgID, args, shown, unsub)
		}
	}
	w.Header().Set("X-Message-Id", id)
	w.WriteHeader(http.StatusAccepted)
}

func argsSize(m map[string]string) int {
	n := 0
	for k, v := range m {
		n += len(k) + len(v)
	}
	return n
}

// listUnsubscribe returns the https/http URL of a List-Unsubscribe header
// that offers one-click (RFC 8058), "" otherwise.
func listUnsubscribe(global, personal map[string]string) string {
	get := func(name string) string {
		for _, hs := range []map[string]string{personal, global} {
			for k, v := range hs {
				if strings.EqualFold(k, name) {
					return v
				}
			}
		}
		return ""
	}
	if !strings.EqualFold(strings.TrimSpace(get("List-Unsubscribe-Post")), "List-Unsubscribe=One-Click") {
		return ""
	}
	for _, part := range strings.Split(get("List-Unsubscribe"), ",") {
		u := strings.Trim(strings.TrimSpace(part), "<>")
		if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
			return u
		}
	}
	return ""
}

var hrefRE = regexp.MustCompile(`href="(https?://[^"]+)"`)

// engage schedules the recipient's events as the engagement model says.
func (s *sendGrid) engage(a *Account, email, msgID string, args map[string]string, html, unsubURL string) {
	md := s.m.model("email")
	event := func(name string, extra map[string]any) map[string]any {
		e := map[string]any{"email": email, "event": name, "sg_event_id": randomID(22), "sg_message_id": msgID,
			"timestamp": s.m.now().Unix(), "smtp-id": "<" + msgID + "@sandbox.sendgrid.test>"}
		for k, v := range args {
			e[k] = v // custom args arrive as top-level keys of every event
		}
		for k, v := range extra {
			e[k] = v
		}
		return e
	}
	s.post(a, 0, event("processed", nil))
	if s.m.chance(msgID, "delivered") >= md.Delivered {
		s.post(a, after(md, 1), event("bounce", map[string]any{"type": "bounce", "reason": "550 5.1.1 The email account that you tried to reach does not exist (sandbox)", "status": "5.1.1"}))
		return
	}
	s.post(a, after(md, 1), event("delivered", map[string]any{"response": "250 OK (sandbox)"}))
	if s.m.chance(msgID, "unsubscribed") < md.Unsubscribed && unsubURL != "" {
		s.oneClick(after(md, 2), unsubURL)
		return
	}
	if s.m.chance(msgID, "opened") >= md.Opened {
		return
	}
	s.post(a, after(md, 2), event("open", map[string]any{"useragent": "Mozilla/5.0 (sandbox)", "ip": "127.0.0.1"}))
	if s.m.chance(msgID, "clicked") >= md.Clicked {
		return
	}
	link := "https://example.com/"
	for _, mt := range hrefRE.FindAllStringSubmatch(html, -1) {
		if mt[1] != unsubURL {
			link = mt[1]
			break
		}
	}
	s.post(a, after(md, 3), event("click", map[string]any{"url": link, "useragent": "Mozilla/5.0 (sandbox)", "ip": "127.0.0.1"}))
}

// post adds events to the batch due after delay; each batch is one
// signed POST to /webhooks/sendgrid/{tenantId}.
func (s *sendGrid) post(a *Account, delay time.Duration, events ...map[string]any) {
	due := time.Now().Add(delay).Truncate(eventBatch).Add(eventBatch)
	key := a.Tenant + "|" + strconv.FormatInt(due.UnixNano(), 10)
	s.mu.Lock()
	pending, started := s.batches[key]
	if s.batches == nil {
		s.batches = map[string][]map[string]any{}
	}
	s.batches[key] = append(pending, events...)
	s.mu.Unlock()
	if started {
		return // the batch's POST is already scheduled
	}
	path := "/webhooks/sendgrid/" + url.PathEscape(a.Tenant)
	s.env.Callbacks.After(time.Until(due), func() (string, http.Header, []byte, Signer) {
		s.mu.Lock()
		batch := s.batches[key]
		delete(s.batches, key)
		s.mu.Unlock()
		body, _ := json.Marshal(batch)
		return path, http.Header{"Content-Type": {"application/json"}}, body, func(req *http.Request, body []byte) error {
			ts := strconv.FormatInt(time.Now().Unix(), 10)
			sig, err := webhook.SignSendGrid(a.sgKey, ts, body)
			if err != nil {
				return err
			}
			req.Header.Set("X-Twilio-Email-Event-Webhook-Timestamp", ts)
			req.Header.Set("X-Twilio-Email-Event-Webhook-Signature", sig)
			return nil
		}
	})
}

// oneClick posts the RFC 8058 one-click unsubscribe to the message's URL
// (on the runtime, which serves it).
func (s *sendGrid) oneClick(delay time.Duration, link string) {
	u, err := url.Parse(link)
	if err != nil {
		return
	}
	s.env.Callbacks.Go(delay, u.RequestURI(), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, []byte("List-Unsubscribe=One-Click"), nil)
}

// randomID is a SendGrid-looking id of n URL-safe characters.
func randomID(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
