package sandbox

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Message is one message a provider emulator received, as the provider saw it.
type Message struct {
	Channel           string    `json:"channel"` // email | sms | push | whatsapp
	To                string    `json:"to"`
	Subject           string    `json:"subject,omitempty"`
	Body              string    `json:"body"`
	CampaignID        string    `json:"campaignId,omitempty"`
	Variant           string    `json:"variant,omitempty"`
	ProviderMessageID string    `json:"providerMessageId"`
	At                time.Time `json:"at"`
}

// Outbox keeps the most recent messages, optionally persisted as JSON lines
// so a restart of `pulsehub dev` keeps what a developer was looking at.
type Outbox struct {
	mu    sync.Mutex
	items []Message
	limit int
	path  string // "" = memory only
	lines int    // lines in the file, to know when to compact it
}

// DefaultOutboxLimit bounds the outbox; the oldest messages go first.
const DefaultOutboxLimit = 10000

// NewOutbox returns an outbox holding at most limit messages (default
// DefaultOutboxLimit). With a non-empty path it loads and appends to that file.
func NewOutbox(limit int, path string) (*Outbox, error) {
	if limit <= 0 {
		limit = DefaultOutboxLimit
	}
	o := &Outbox{limit: limit, path: path}
	if path == "" {
		return o, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return o, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sandbox: open outbox: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var m Message
		o.lines++
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			o.items = append(o.items, m)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("sandbox: read outbox %s: %w", path, err)
	}
	if len(o.items) > limit {
		o.items = append([]Message(nil), o.items[len(o.items)-limit:]...)
	}
	return o, nil
}

// Add records a message. A zero At is set to now.
func (o *Outbox) Add(m Message) error {
	if m.At.IsZero() {
		m.At = time.Now().UTC()
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.items = append(o.items, m)
	if len(o.items) > o.limit {
		o.items = append([]Message(nil), o.items[len(o.items)-o.limit:]...)
	}
	if o.path == "" {
		return nil
	}
	if o.lines >= 2*o.limit {
		return o.rewriteLocked()
	}
	line, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("sandbox: encode outbox message: %w", err)
	}
	f, err := os.OpenFile(o.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("sandbox: append outbox: %w", err)
	}
	defer f.Close()
	if _, err := f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("sandbox: append outbox: %w", err)
	}
	o.lines++
	return nil
}

// rewriteLocked replaces the file with the current items.
func (o *Outbox) rewriteLocked() error {
	if err := os.MkdirAll(filepath.Dir(o.path), 0o700); err != nil {
		return fmt.Errorf("sandbox: outbox dir: %w", err)
	}
	tmp := o.path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("sandbox: rewrite outbox: %w", err)
	}
	enc := json.NewEncoder(f)
	for _, m := range o.items {
		if err := enc.Encode(m); err != nil {
			f.Close()
			return fmt.Errorf("sandbox: rewrite outbox: %w", err)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("sandbox: rewrite outbox: %w", err)
	}
	o.lines = len(o.items)
	return os.Rename(tmp, o.path)
}

// Filter selects messages; empty fields match anything.
type Filter struct {
	Channel    string
	CampaignID string
}

// List returns the matching messages, oldest first.
func (o *Outbox) List(f Filter) []Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := []Message{}
	for _, m := range o.items {
		if (f.Channel == "" || m.Channel == f.Channel) && (f.CampaignID == "" || m.CampaignID == f.CampaignID) {
			out = append(out, m)
		}
	}
	return out
}

// Clear empties the outbox (and its file).
func (o *Outbox) Clear() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.items = nil
	if o.path == "" {
		return nil
	}
	return o.rewriteLocked()
}

var channels = map[string]bool{"email": true, "sms": true, "push": true, "whatsapp": true}

// ServeHTTP serves GET /dev/outbox?channel=&campaignId= and DELETE /dev/outbox.
func (o *Outbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		q := r.URL.Query()
		f := Filter{Channel: q.Get("channel"), CampaignID: q.Get("campaignId")}
		if f.Channel != "" && !channels[f.Channel] {
			Problem(w, http.StatusBadRequest, fmt.Sprintf("channel %q: want email, sms, push or whatsapp", f.Channel))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string][]Message{"items": o.List(f)})
	case http.MethodDelete:
		if err := o.Clear(); err != nil {
			Problem(w, http.StatusInternalServerError, err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, HEAD, DELETE")
		Problem(w, http.StatusMethodNotAllowed, r.Method+" is not allowed on /dev/outbox; use GET or DELETE")
	}
}

// Problem writes an application/problem+json error.
func Problem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type": "about:blank", "title": http.StatusText(status), "status": status, "detail": detail,
	})
}
