package ingest

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

// Version is the envelope format written today.
const Version = 1

// Sources of an envelope.
const (
	SourceShopify  = "shopify"
	SourceMeta     = "meta"
	SourceTwilio   = "twilio"
	SourceSendGrid = "sendgrid"
	SourceWhatsApp = "whatsapp"
	SourceCollect  = "collect"
	// SourceUnsubscribe is an opt-out through a message's signed
	// unsubscribe link (the webhooks function verified it).
	SourceUnsubscribe = "unsubscribe"
	SourceSync        = "sync"   // Shopify data read by the sync function (REST webhook shapes)
	SourceImport      = "import" // history brought by `pulsehub import` (REST webhook shapes)
)

// Envelope is one provider event on the ingest queue. Producers: the webhooks
// function, the sync function and the importer. Shopify-shaped data from sync
// and import uses Shopify's REST webhook payloads and topics, so one
// normaliser per topic serves all three.
type Envelope struct {
	V           int               `json:"v"`           // Version
	Source      string            `json:"source"`      // one of the Source constants
	Tenant      string            `json:"tenant"`      // resolved and verified by the producer, never from the body
	Topic       string            `json:"topic"`       // e.g. "orders/create", "customers/update", "collect", "twilio/status", "sendgrid/events"
	ID          string            `json:"id"`          // provider event id, used for dedupe
	TriggeredAt time.Time         `json:"triggeredAt"` // provider time; an older payload never overwrites newer state
	ReceivedAt  time.Time         `json:"receivedAt"`
	Headers     map[string]string `json:"headers,omitempty"`
	Body        json.RawMessage   `json:"body"` // the provider's raw JSON (Twilio form fields as a JSON object)
}

// Validate checks the envelope's own fields (not the body, which the
// normaliser of its topic parses). A failure is apperr.Invalid: poison.
func (e Envelope) Validate() error {
	switch {
	case e.V != Version:
		return apperr.E(apperr.Invalid, "envelope version %d, want %d", e.V, Version)
	case e.Source == "":
		return apperr.E(apperr.Invalid, "envelope has no source")
	case e.Tenant == "":
		return apperr.E(apperr.Invalid, "envelope has no tenant")
	case e.Topic == "":
		return apperr.E(apperr.Invalid, "envelope has no topic")
	case e.ID == "":
		return apperr.E(apperr.Invalid, "envelope has no id")
	case len(e.Body) == 0:
		return apperr.E(apperr.Invalid, "envelope has no body")
	}
	return nil
}

// Decode parses one queue message into an envelope. A malformed message is
// apperr.Invalid (it goes to the DLQ with the reason).
func Decode(b []byte) (Envelope, error) {
	var e Envelope
	if err := json.Unmarshal(b, &e); err != nil {
		return Envelope{}, apperr.Wrap(apperr.Invalid, err, "envelope is not valid JSON")
	}
	if err := e.Validate(); err != nil {
		return Envelope{}, err
	}
	return e, nil
}

// Encode marshals e for the queue.
func Encode(e Envelope) ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("ingest.Encode %s/%s: %w", e.Source, e.ID, err)
	}
	return b, nil
}
