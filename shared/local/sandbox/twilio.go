package sandbox

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pulsehub/pulsehub/shared/channel/sms"
	"github.com/pulsehub/pulsehub/shared/webhook"
)

// twilioSMS emulates Twilio's Messages API,
// POST /2010-04-01/Accounts/{AccountSid}/Messages.json, as twilio-go
// calls it: HTTP Basic auth with the account SID and auth token, form
// parameters, Twilio's checks (answered in its {code, message, more_info,
// status} shape; 21610 for a number that replied STOP), 201 with the
// message resource. Status callbacks (sent, then delivered or
// undelivered) go to the message's StatusCallback, signed with
// X-Twilio-Signature; a recipient who opts out in the engagement model
// replies STOP to /webhooks/twilio/{tenantId}.
type twilioSMS struct {
	m   *Messaging
	env Env
}

func (t *twilioSMS) Name() string { return "twilio" }

func (t *twilioSMS) Handler(env Env) http.Handler {
	t.env = env
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Messages.json", t.m.withFaults("twilio", func(w http.ResponseWriter, status int, msg string) {
		twilioError(w, status, status*100, msg)
	}, t.send))
	return mux
}

func twilioError(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, map[string]any{"code": code, "message": msg, "more_info": "https://www.twilio.com/docs/errors/" + strconv.Itoa(code), "status": status})
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

func (t *twilioSMS) send(w http.ResponseWriter, r *http.Request) {
	body, err := t.m.readBody("twilio", r, 64<<10)
	if err != nil {
		twilioError(w, http.StatusRequestEntityTooLarge, 21617, "The request is too large")
		return
	}
	user, pass, ok := r.BasicAuth()
	sid := r.PathValue("sid")
	acct := t.m.account(func(a *Account) bool { return ok && a.TwilioSID == user && a.TwilioToken == pass })
	if acct == nil {
		twilioError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if sid != acct.TwilioSID {
		twilioError(w, http.StatusNotFound, 20404, "The requested resource /2010-04-01/Accounts/"+sid+"/Messages.json was not found")
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		twilioError(w, http.StatusBadRequest, 21620, "Invalid form body")
		return
	}
	to, from, service, text, callback := form.Get("To"), form.Get("From"), form.Get("MessagingServiceSid"), form.Get("Body"), form.Get("StatusCallback")
	switch {
	case to == "":
		twilioError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	case !e164.MatchString(to):
		twilioError(w, http.StatusBadRequest, 21211, "The 'To' number "+to+" is not a valid phone number.")
		return
	case from == "" && service == "":
		twilioError(w, http.StatusBadRequest, 21603, "A 'From' phone number is required.")
		return
	case from != "" && from != acct.TwilioFrom:
		twilioError(w, http.StatusBadRequest, 21606, "The From phone number "+from+" is not a valid, SMS-capable inbound phone number or short code for your account.")
		return
	case service != "" && service != acct.TwilioService:
		twilioError(w, http.StatusBadRequest, 21701, "The Messaging Service Sid "+service+" is invalid.")
		return
	case text == "":
		twilioError(w, http.StatusBadRequest, 21602, "Message body is required.")
		return
	case utf8.RuneCountInString(text) > sms.MaxBody:
		twilioError(w, http.StatusBadRequest, 21617, "The concatenated message body exceeds the 1600 character limit.")
		return
	case callback != "" && !validCallback(callback):
		twilioError(w, http.StatusBadRequest, 21609, "Invalid StatusCallback url")
		return
	}
	t.m.mu.Lock()
	stopped := t.m.optedOut[to]
	t.m.mu.Unlock()
	if stopped {
		twilioError(w, http.StatusBadRequest, 21610, "Attempt to send to unsubscribed recipient")
		return
	}
	msgSid := "SM" + randomHex(16)
	if from == "" {
		from = acct.TwilioFrom // the Messaging Service's sender pool
	}
	info := sms.Segments(text)
	// Twilio has no custom args; PulseHub's StatusCallback carries the
	// campaign and variant in its query.
	var cq url.Values
	if cu, err := url.Parse(callback); err == nil {
		cq = cu.Query()
	}
	_ = t.env.Outbox.Add(Message{Channel: "sms", To: to, Body: text, ProviderMessageID: msgSid, CampaignID: cq.Get("campaignId"), Variant: cq.Get("variant")})
	now := t.m.now().UTC().Format(http.TimeFormat)
	status := "queued"
	if service != "" {
		status = "accepted"
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"sid": msgSid, "account_sid": acct.TwilioSID, "to": to, "from": from, "body": text, "status": status,
		"messaging_service_sid": nilIfEmpty(service), "num_segments": strconv.Itoa(info.Segments), "num_media": "0",
		"direction": "outbound-api", "api_version": "2010-04-01", "date_created": now, "date_updated": now, "date_sent": nil,
		"price": nil, "price_unit": "USD", "error_code": nil, "error_message": nil,
		"uri": "/2010-04-01/Accounts/" + acct.TwilioSID + "/Messages/" + msgSid + ".json",
	})
	t.engage(acct, msgSid, to, from, callback)
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func validCallback(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != "" && !strings.Contains(p.Host, "_")
}

// engage sends the message's status callbacks, and a STOP reply when the
// engagement model says the recipient opts out.
func (t *twilioSMS) engage(a *Account, msgSid, to, from, callback string) {
	md := t.m.model("sms")
	if callback != "" {
		status := func(st, code string) url.Values {
			v := url.Values{"MessageSid": {msgSid}, "SmsSid": {msgSid}, "AccountSid": {a.TwilioSID}, "From": {from}, "To": {to},
				"MessageStatus": {st}, "SmsStatus": {st}, "ApiVersion": {"2010-04-01"}}
			if code != "" {
				v.Set("ErrorCode", code)
			}
			return v
		}
		t.post(a, callback, after(md, 1), status("sent", ""))
		if t.m.chance(msgSid, "delivered") >= md.Delivered {
			t.post(a, callback, after(md, 2), status("undelivered", "30003"))
			return
		}
		t.post(a, callback, after(md, 2), status("delivered", ""))
	}
	if t.m.chance(msgSid, "unsubscribed") < md.Unsubscribed {
		t.m.OptOut(to)
		inbound := t.env.Callbacks.base + "/webhooks/twilio/" + url.PathEscape(a.Tenant)
		t.post(a, inbound, after(md, 3), url.Values{"MessageSid": {"SM" + randomHex(16)}, "AccountSid": {a.TwilioSID}, "From": {to}, "To": {from},
			"Body": {"STOP"}, "NumMedia": {"0"}, "SmsStatus": {"received"}, "OptOutType": {"STOP"}, "ApiVersion": {"2010-04-01"}})
	}
}

// post sends a signed form callback to fullURL (on the runtime).
func (t *twilioSMS) post(a *Account, fullURL string, delay time.Duration, form url.Values) {
	u, err := url.Parse(fullURL)
	if err != nil {
		return
	}
	body := []byte(form.Encode())
	t.env.Callbacks.Go(delay, u.RequestURI(), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, body, func(req *http.Request, body []byte) error {
		sig, err := webhook.SignTwilio(a.TwilioToken, fullURL, body)
		if err != nil {
			return err
		}
		req.Header.Set("X-Twilio-Signature", sig)
		return nil
	})
}
