package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/profile"
)

// SMS keywords (carrier-standard opt-out and opt-in words).
var (
	optOut = map[string]bool{"STOP": true, "UNSUBSCRIBE": true, "END": true, "QUIT": true, "STOPALL": true, "REVOKE": true, "OPTOUT": true, "CANCEL": true}
	optIn  = map[string]bool{"START": true, "UNSTOP": true}
)

// Keyword returns the consent state an inbound SMS body asks for ("" none).
// HELP changes nothing.
func Keyword(body string) string {
	w := strings.ToUpper(strings.Trim(strings.TrimSpace(body), ".!"))
	switch {
	case optOut[w]:
		return profile.Unsubscribed
	case optIn[w]:
		return profile.Subscribed
	}
	return ""
}

// twilioCallback is one Twilio webhook (its form fields as a JSON object).
type twilioCallback struct {
	SID, Phone, Status, Body, ErrorCode string
}

// parseTwilio reads a status callback or (topic twilio/inbound) an inbound SMS.
func parseTwilio(env Envelope) (twilioCallback, error) {
	var f map[string]string
	if err := json.Unmarshal(env.Body, &f); err != nil {
		return twilioCallback{}, invalid(env, err)
	}
	c := twilioCallback{SID: f["MessageSid"], Phone: f["To"], Status: f["MessageStatus"], Body: f["Body"], ErrorCode: f["ErrorCode"]}
	if c.SID == "" {
		c.SID = f["SmsSid"]
	}
	inbound := env.Topic == "twilio/inbound"
	if inbound {
		c.Phone = f["From"]
	}
	if c.Phone == "" || c.SID == "" {
		return twilioCallback{}, invalid(env, fmt.Errorf("twilio callback without MessageSid or phone"))
	}
	if !inbound && c.Status == "" {
		return twilioCallback{}, invalid(env, fmt.Errorf("twilio status callback without MessageStatus"))
	}
	return c, nil
}

func (p *Processor) twilio(ctx context.Context, env Envelope) error {
	f, err := parseTwilio(env)
	if err != nil {
		return err
	}
	r, err := p.profiles.Resolve(ctx, env.Tenant, profile.Identity{Phone: f.Phone})
	if err != nil {
		return err
	}
	at := env.TriggeredAt
	sid := f.SID
	if env.Topic == "twilio/inbound" {
		if _, err := p.profiles.RecordEvent(ctx, env.Tenant, r.CustomerID, profile.Event{EventID: sid, Type: "sms.inbound", Channel: "sms", Source: env.Source,
			Properties: map[string]any{"keyword": strings.ToUpper(strings.TrimSpace(f.Body))}}, at); err != nil {
			return err
		}
		if state := Keyword(f.Body); state != "" {
			return p.consent(ctx, env, r.CustomerID, "sms", state, strings.ToUpper(strings.TrimSpace(f.Body)), at)
		}
		return nil
	}
	status := f.Status
	fresh, err := p.profiles.RecordEvent(ctx, env.Tenant, r.CustomerID, profile.Event{EventID: sid + "-" + status, Type: "sms." + status, Channel: "sms", Source: env.Source,
		Properties: map[string]any{"providerMessageId": sid, "errorCode": f.ErrorCode}}, at)
	if err != nil || !fresh {
		return err
	}
	return p.delivery(ctx, env, r.CustomerID, "sms", "twilio", sid, status, at)
}

// delivery publishes delivery and engagement for the send/analytics side,
// which finds the message by provider message id.
func (p *Processor) delivery(ctx context.Context, env Envelope, cid, channel, provider, msgID, status string, at time.Time) error {
	dt := ""
	switch status {
	case "delivered", "read", "failed", "undelivered", "bounce", "dropped", "sent":
		dt = catalog.EventMessageDelivered
	case "open", "click":
		dt = catalog.EventMessageEngaged
	default:
		return nil
	}
	return p.publish(ctx, env.Tenant, dt, provider+"#"+msgID+"#"+status, map[string]any{
		"customerId": cid, "channel": channel, "provider": provider, "providerMessageId": msgID, "status": status, "at": at.UTC().Format(time.RFC3339Nano)})
}

type sendgridEvent struct {
	Email     string `json:"email"`
	Event     string `json:"event"`
	EventID   string `json:"sg_event_id"`
	MessageID string `json:"sg_message_id"`
	Timestamp int64  `json:"timestamp"`
	URL       string `json:"url"`
	Reason    string `json:"reason"`
	GroupID   int64  `json:"asm_group_id"`

	// Set by parseSendGrid.
	ID    string    `json:"-"` // sg_event_id, or one made of message, event and time
	MsgID string    `json:"-"` // sg_message_id up to its first dot (the id the send API returned)
	At    time.Time `json:"-"`
}

// parseSendGrid reads an Event Webhook batch, dropping events without an
// email or event name (nothing to attribute them to).
func parseSendGrid(env Envelope) ([]sendgridEvent, error) {
	var evs []sendgridEvent
	if err := json.Unmarshal(env.Body, &evs); err != nil {
		return nil, invalid(env, err)
	}
	out := evs[:0]
	for _, e := range evs {
		if e.Email == "" || e.Event == "" {
			continue
		}
		e.At = time.Unix(e.Timestamp, 0).UTC()
		if e.Timestamp <= 0 {
			e.At = env.TriggeredAt
		}
		e.ID = e.EventID
		if e.ID == "" {
			e.ID = e.MessageID + "-" + e.Event + "-" + strconv.FormatInt(e.Timestamp, 10)
		}
		e.MsgID, _, _ = strings.Cut(e.MessageID, ".")
		out = append(out, e)
	}
	return out, nil
}

func (p *Processor) sendgrid(ctx context.Context, env Envelope) error {
	evs, err := parseSendGrid(env)
	if err != nil {
		return err
	}
	for _, e := range evs {
		r, err := p.profiles.Resolve(ctx, env.Tenant, profile.Identity{Email: e.Email})
		if err != nil {
			return err
		}
		at, msgID := e.At, e.MsgID
		fresh, err := p.profiles.RecordEvent(ctx, env.Tenant, r.CustomerID, profile.Event{EventID: e.ID, Type: "email." + e.Event, Channel: "email", Source: env.Source,
			Properties: map[string]any{"providerMessageId": msgID, "url": e.URL, "reason": e.Reason}}, at)
		if err != nil {
			return err
		}
		if !fresh {
			continue // this sg_event_id was handled before (SendGrid retried it in another batch)
		}
		switch e.Event {
		case "unsubscribe", "group_unsubscribe", "spamreport":
			err = p.consent(ctx, env, r.CustomerID, "email", profile.Unsubscribed, e.Event, at)
		case "group_resubscribe":
			err = p.consent(ctx, env, r.CustomerID, "email", profile.Subscribed, e.Event, at)
		default:
			err = p.delivery(ctx, env, r.CustomerID, "email", "sendgrid", msgID, e.Event, at)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// waMessage is an inbound WhatsApp message.
type waMessage struct {
	From      string `json:"from"`
	ID        string `json:"id"`
	Timestamp string `json:"timestamp"`
	Type      string `json:"type"`
	Text      struct {
		Body string `json:"body"`
	} `json:"text"`
}

// waStatus is the status of a message sent to a WhatsApp user.
type waStatus struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	Timestamp   string `json:"timestamp"`
	RecipientID string `json:"recipient_id"`
}

type waPayload struct {
	Entry []struct {
		Changes []struct {
			Value struct {
				Messages []waMessage `json:"messages"`
				Statuses []waStatus  `json:"statuses"`
			} `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

// parseWhatsApp reads a Cloud API webhook into its messages and statuses.
// One without an id, phone or status is invalid: Meta always sends them.
func parseWhatsApp(env Envelope) ([]waMessage, []waStatus, error) {
	var w waPayload
	if err := json.Unmarshal(env.Body, &w); err != nil {
		return nil, nil, invalid(env, err)
	}
	var ms []waMessage
	var ss []waStatus
	for _, e := range w.Entry {
		for _, c := range e.Changes {
			for _, m := range c.Value.Messages {
				if m.ID == "" || strings.TrimPrefix(m.From, "+") == "" {
					return nil, nil, invalid(env, fmt.Errorf("whatsapp message without id or from"))
				}
				ms = append(ms, m)
			}
			for _, s := range c.Value.Statuses {
				if s.ID == "" || s.Status == "" || strings.TrimPrefix(s.RecipientID, "+") == "" {
					return nil, nil, invalid(env, fmt.Errorf("whatsapp status without id, status or recipient_id"))
				}
				ss = append(ss, s)
			}
		}
	}
	return ms, ss, nil
}

func unixString(s string, def time.Time) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return def
	}
	return time.Unix(n, 0).UTC()
}

// whatsapp records inbound messages (they open the 24-hour customer-service
// window: lastEngagement["whatsapp"]) and message statuses.
func (p *Processor) whatsapp(ctx context.Context, env Envelope) error {
	ms, ss, err := parseWhatsApp(env)
	if err != nil {
		return err
	}
	for _, m := range ms {
		r, err := p.profiles.Resolve(ctx, env.Tenant, profile.Identity{Phone: "+" + strings.TrimPrefix(m.From, "+")})
		if err != nil {
			return err
		}
		at := unixString(m.Timestamp, env.TriggeredAt)
		if _, err := p.profiles.RecordEvent(ctx, env.Tenant, r.CustomerID, profile.Event{EventID: m.ID, Type: "whatsapp.inbound", Channel: "whatsapp", Source: env.Source,
			Properties: map[string]any{"type": m.Type}}, at); err != nil {
			return err
		}
		if st := Keyword(m.Text.Body); st != "" {
			if err := p.consent(ctx, env, r.CustomerID, "whatsapp", st, strings.ToUpper(m.Text.Body), at); err != nil {
				return err
			}
		}
	}
	for _, s := range ss {
		r, err := p.profiles.Resolve(ctx, env.Tenant, profile.Identity{Phone: "+" + strings.TrimPrefix(s.RecipientID, "+")})
		if err != nil {
			return err
		}
		at := unixString(s.Timestamp, env.TriggeredAt)
		fresh, err := p.profiles.RecordEvent(ctx, env.Tenant, r.CustomerID, profile.Event{EventID: s.ID + "-" + s.Status, Type: "whatsapp." + s.Status, Channel: "whatsapp", Source: env.Source,
			Properties: map[string]any{"providerMessageId": s.ID}}, at)
		if err != nil {
			return err
		}
		if !fresh {
			continue
		}
		if err := p.delivery(ctx, env, r.CustomerID, "whatsapp", "whatsapp", s.ID, s.Status, at); err != nil {
			return err
		}
	}
	return nil
}
