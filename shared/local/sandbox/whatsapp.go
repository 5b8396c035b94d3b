package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/pulsehub/pulsehub/shared/webhook"
)

// waCloud emulates the WhatsApp Cloud API (Graph API) as a plain JSON
// client calls it:
//
//	POST /{version}/{phone-number-id}/messages with the number's Bearer
//	access token: text inside the 24-hour customer-service window (the
//	recipient wrote within a day, see /dev/sandbox/whatsapp/inbound),
//	approved templates (Templates) with the right parameter count anywhere;
//	the number's throughput (messagesPerSecond) enforced with 130429
//	GET /{version}/{waba-id}/message_templates → the approved templates
//
// Errors come in the Graph API's {error:{message, type, code,
// error_data, fbtrace_id}} shape (131047 outside the window, 132001 for an
// unknown template, 132000 for a wrong parameter count, 190 for a bad
// token). Statuses (sent, delivered, read, or failed) are posted to
// /webhooks/whatsapp, signed with the app secret (X-Hub-Signature-256);
// recipients who reply in the engagement model send an inbound message,
// which opens the window.
type waCloud struct {
	m   *Messaging
	env Env

	mu      sync.Mutex
	buckets map[string]*bucket // phone number id → its throughput
}

func (c *waCloud) Name() string { return "whatsapp" }

func (c *waCloud) Handler(env Env) http.Handler {
	c.env = env
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{version}/{phone}/messages", c.m.withFaults("whatsapp", func(w http.ResponseWriter, status int, msg string) {
		code := map[int]int{500: 131000, 429: 130429, 504: 131016}[status]
		graphError(w, status, code, 0, msg, "")
	}, c.send))
	mux.HandleFunc("GET /{version}/{waba}/message_templates", c.templates)
	return mux
}

// Template is an approved WhatsApp message template of the sandbox.
type Template struct {
	Name     string `json:"name"`
	Language string `json:"language"`
	Category string `json:"category"`
	Body     string `json:"body"` // with {{1}}, {{2}}, … placeholders
}

// Templates are the approved templates every sandbox number has.
var Templates = []Template{
	{"pulsehub_reengage", "en_US", "MARKETING", "Hi {{1}}, we have news for you. Reply to hear more."},
	{"abandoned_cart", "en_US", "MARKETING", "Hi {{1}}, you left something in your cart. Finish your order: {{2}}"},
	{"order_update", "en_US", "UTILITY", "Hi {{1}}, your order {{2}} is on its way."},
	{"welcome", "en_US", "MARKETING", "Welcome to {{1}}! Reply STOP to opt out."},
}

var placeholderRE = regexp.MustCompile(`\{\{\d+\}\}`)

func graphError(w http.ResponseWriter, status, code, sub int, msg, details string) {
	e := map[string]any{"message": msg, "type": "OAuthException", "code": code, "fbtrace_id": "Sandbox" + randomHex(8)}
	if sub != 0 {
		e["error_subcode"] = sub
	}
	if details != "" {
		e["error_data"] = map[string]string{"messaging_product": "whatsapp", "details": details}
	}
	writeJSON(w, status, map[string]any{"error": e})
}

// waMessage is the part of a send request the emulator checks.
type waMessage struct {
	Product string `json:"messaging_product"`
	To      string `json:"to"`
	Type    string `json:"type"`
	Text    *struct {
		Body string `json:"body"`
	} `json:"text"`
	Template *struct {
		Name     string `json:"name"`
		Language struct {
			Code string `json:"code"`
		} `json:"language"`
		Components []struct {
			Type       string `json:"type"`
			Parameters []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"parameters"`
		} `json:"components"`
	} `json:"template"`
	Opaque string `json:"biz_opaque_callback_data"`
}

// bucket is a number's throughput: a token bucket of one second.
type bucket struct {
	tokens float64
	at     time.Time
}

func (c *waCloud) take(phone string, rate int, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.buckets[phone]
	if b == nil {
		b = &bucket{tokens: float64(rate), at: now}
		c.buckets[phone] = b
	}
	b.tokens = min(float64(rate), b.tokens+now.Sub(b.at).Seconds()*float64(rate))
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (c *waCloud) send(w http.ResponseWriter, r *http.Request) {
	body, err := c.m.readBody("whatsapp", r, 1<<20)
	if err != nil {
		graphError(w, http.StatusBadRequest, 100, 0, "(#100) The request is too large", "")
		return
	}
	phone := r.PathValue("phone")
	acct := c.m.account(func(a *Account) bool { return a.WAPhoneID == phone })
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch {
	case !strings.HasPrefix(r.PathValue("version"), "v"):
		graphError(w, http.StatusBadRequest, 2635, 0, "Unknown Graph API version "+r.PathValue("version"), "")
		return
	case tok == "" || c.m.account(func(a *Account) bool { return a.WAToken == tok }) == nil:
		graphError(w, http.StatusUnauthorized, 190, 0, "Invalid OAuth access token - Cannot parse access token", "")
		return
	case acct == nil:
		graphError(w, http.StatusBadRequest, 100, 33, "Unsupported post request. Object with ID '"+phone+"' does not exist, cannot be loaded due to missing permissions, or does not support this operation.", "")
		return
	case acct.WAToken != tok:
		graphError(w, http.StatusForbidden, 10, 0, "(#10) Application does not have permission for this action", "")
		return
	}
	var m waMessage
	if err := json.Unmarshal(body, &m); err != nil {
		graphError(w, http.StatusBadRequest, 100, 0, "(#100) Invalid JSON", "")
		return
	}
	to := strings.TrimPrefix(m.To, "+")
	switch {
	case m.Product != "whatsapp":
		graphError(w, http.StatusBadRequest, 100, 0, "(#100) The parameter messaging_product is required.", "")
		return
	case !e164.MatchString("+" + to):
		graphError(w, http.StatusBadRequest, 131009, 0, "(#131009) Parameter value is not valid", "The recipient phone number is not a valid phone number")
		return
	case !c.take(phone, acct.WARate, c.m.now()):
		graphError(w, http.StatusBadRequest, 130429, 0, "(#130429) Rate limit hit", "Cloud API message throughput has been reached.")
		return
	}
	shown, templateName := "", ""
	switch m.Type {
	case "text":
		if m.Text == nil || m.Text.Body == "" {
			graphError(w, http.StatusBadRequest, 100, 0, "(#100) The parameter text['body'] is required.", "")
			return
		}
		if utf8.RuneCountInString(m.Text.Body) > 4096 {
			graphError(w, http.StatusBadRequest, 100, 0, "(#100) Param text['body'] must be at most 4096 characters long.", "")
			return
		}
		c.m.mu.Lock()
		last, wrote := c.m.inbound[to]
		c.m.mu.Unlock()
		if !wrote || c.m.now().Sub(last) >= 24*time.Hour {
			graphError(w, http.StatusBadRequest, 131047, 0, "(#131047) Re-engagement message",
				"Message failed to send because more than 24 hours have passed since the customer last replied to this number.")
			return
		}
		shown = m.Text.Body
	case "template":
		if m.Template == nil {
			graphError(w, http.StatusBadRequest, 100, 0, "(#100) The parameter template is required.", "")
			return
		}
		var t *Template
		for i := range Templates {
			if Templates[i].Name == m.Template.Name && Templates[i].Language == m.Template.Language.Code {
				t = &Templates[i]
			}
		}
		if t == nil {
			graphError(w, http.StatusNotFound, 132001, 0, "(#132001) Template name does not exist in the translation",
				fmt.Sprintf("template name (%s) does not exist in %s", m.Template.Name, m.Template.Language.Code))
			return
		}
		var params []string
		for _, comp := range m.Template.Components {
			if strings.EqualFold(comp.Type, "body") {
				for _, p := range comp.Parameters {
					params = append(params, p.Text)
				}
			}
		}
		if want := len(placeholderRE.FindAllString(t.Body, -1)); len(params) != want {
			graphError(w, http.StatusBadRequest, 132000, 0, "(#132000) Number of parameters does not match the expected number of params",
				fmt.Sprintf("body: number of localizable_params (%d) does not match the expected number of params (%d)", len(params), want))
			return
		}
		shown = placeholderRE.ReplaceAllStringFunc(t.Body, func(ph string) string {
			n, _ := strconv.Atoi(strings.Trim(ph, "{}"))
			return params[n-1]
		})
		templateName = t.Name
	default:
		graphError(w, http.StatusBadRequest, 131051, 0, "(#131051) Unsupported message type", "Message type "+m.Type+" is not supported by the sandbox")
		return
	}
	raw := make([]byte, 24)
	_, _ = rand.Read(raw)
	id := "wamid." + base64.StdEncoding.EncodeToString(raw)
	var cb struct{ CampaignID, Variant string }
	_ = json.Unmarshal([]byte(m.Opaque), &cb)
	subject := ""
	if templateName != "" {
		subject = "template:" + templateName
	}
	_ = c.env.Outbox.Add(Message{Channel: "whatsapp", To: "+" + to, Subject: subject, Body: shown, CampaignID: cb.CampaignID, Variant: cb.Variant, ProviderMessageID: id})
	writeJSON(w, http.StatusOK, map[string]any{
		"messaging_product": "whatsapp",
		"contacts":          []map[string]string{{"input": m.To, "wa_id": to}},
		"messages":          []map[string]string{{"id": id, "message_status": "accepted"}},
	})
	c.engage(acct, id, to, m.Opaque)
}

// engage posts the message's statuses, and a reply when the model says so.
func (c *waCloud) engage(a *Account, id, to, opaque string) {
	md := c.m.model("whatsapp")
	status := func(st string) map[string]any {
		s := map[string]any{"id": id, "status": st, "timestamp": strconv.FormatInt(c.m.now().Unix(), 10), "recipient_id": to}
		if opaque != "" {
			s["biz_opaque_callback_data"] = opaque
		}
		return s
	}
	c.post(a, 0, map[string]any{"statuses": []any{status("sent")}})
	if c.m.chance(id, "delivered") >= md.Delivered {
		failed := status("failed")
		failed["errors"] = []map[string]any{{"code": 131026, "title": "Message undeliverable", "message": "Message undeliverable",
			"error_data": map[string]string{"details": "The recipient cannot receive this message (sandbox)."}}}
		c.post(a, after(md, 1), map[string]any{"statuses": []any{failed}})
		return
	}
	c.post(a, after(md, 1), map[string]any{"statuses": []any{status("delivered")}})
	if c.m.chance(id, "opened") < md.Opened {
		c.post(a, after(md, 2), map[string]any{"statuses": []any{status("read")}})
	}
	if c.m.chance(id, "replied") < md.Replied {
		c.reply(a, to, "Thanks!", after(md, 3))
	}
}

// reply makes the user write to the business: it opens the 24-hour
// window here and, through the callback, in PulseHub's profile.
func (c *waCloud) reply(a *Account, from, text string, delay time.Duration) {
	c.m.mu.Lock()
	c.m.inbound[from] = c.m.now().Add(delay)
	c.m.mu.Unlock()
	c.post(a, delay, map[string]any{
		"contacts": []map[string]any{{"profile": map[string]string{"name": "Sandbox user"}, "wa_id": from}},
		"messages": []map[string]any{{"from": from, "id": "wamid." + randomHex(16), "timestamp": strconv.FormatInt(c.m.now().Add(delay).Unix(), 10),
			"type": "text", "text": map[string]string{"body": text}}},
	})
}

// inboundFrom is POST /dev/sandbox/whatsapp/inbound.
func (c *waCloud) inboundFrom(_ context.Context, tenant, from, text string) error {
	c.m.mu.Lock()
	a := c.m.accounts[tenant]
	c.m.mu.Unlock()
	if a == nil {
		return fmt.Errorf("workspace %s has no sandbox account (POST /dev/sandbox/accounts first)", tenant)
	}
	to := strings.TrimPrefix(from, "+")
	if !e164.MatchString("+" + to) {
		return fmt.Errorf("from %q is not an E.164 phone number", from)
	}
	if text == "" {
		text = "Hi"
	}
	c.reply(a, to, text, 0)
	return nil
}

// post sends a signed Cloud API webhook with one change's value.
func (c *waCloud) post(a *Account, delay time.Duration, value map[string]any) {
	value["messaging_product"] = "whatsapp"
	value["metadata"] = map[string]string{"display_phone_number": "1555" + a.WAPhoneID[len(a.WAPhoneID)-7:], "phone_number_id": a.WAPhoneID}
	body, _ := json.Marshal(map[string]any{
		"object": "whatsapp_business_account",
		"entry":  []any{map[string]any{"id": a.WABusiness, "changes": []any{map[string]any{"field": "messages", "value": value}}}},
	})
	c.env.Callbacks.Go(delay, "/webhooks/whatsapp", http.Header{"Content-Type": {"application/json"}}, body, func(req *http.Request, body []byte) error {
		req.Header.Set("X-Hub-Signature-256", webhook.SignMeta(a.WAAppSecret, body))
		return nil
	})
}

func (c *waCloud) templates(w http.ResponseWriter, r *http.Request) {
	c.m.record("whatsapp", r, nil)
	waba := r.PathValue("waba")
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if tok == "" {
		tok = r.URL.Query().Get("access_token")
	}
	acct := c.m.account(func(a *Account) bool { return a.WABusiness == waba })
	if acct == nil || acct.WAToken != tok {
		graphError(w, http.StatusUnauthorized, 190, 0, "Invalid OAuth access token - Cannot parse access token", "")
		return
	}
	data := make([]map[string]any, 0, len(Templates))
	for _, t := range Templates {
		data = append(data, map[string]any{"name": t.Name, "language": t.Language, "status": "APPROVED", "category": t.Category,
			"id": randomDigits(15), "components": []map[string]string{{"type": "BODY", "text": t.Body}}})
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "paging": map[string]any{}})
}
