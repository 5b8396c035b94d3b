package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

// MetaGraph emulates the Conversions API endpoint of the Graph API,
// POST /{version}/{pixel_id}/events, with Meta's checks: an access token,
// 1 to 1,000 events, event_name, event_time no older than 7 days and not in
// the future, action_source, user_data with hashed identifiers (lower-case
// hex SHA-256) and unhashed client_ip_address/client_user_agent. It answers
// {"events_received","messages","fbtrace_id"} or Graph's error object, and
// keeps what it accepted for tests and developers (Received).
type MetaGraph struct {
	now func() time.Time

	mu       sync.Mutex
	received map[string][]json.RawMessage // pixel id → events
	requests int
}

// NewMetaGraph returns the emulator; now may be nil (wall clock).
func NewMetaGraph(now func() time.Time) *MetaGraph {
	if now == nil {
		now = time.Now
	}
	return &MetaGraph{now: now, received: map[string][]json.RawMessage{}}
}

// Name implements Provider.
func (m *MetaGraph) Name() string { return "meta" }

// Received returns the events accepted for pixelID and the number of
// accepted requests (batches) overall.
func (m *MetaGraph) Received(pixelID string) ([]json.RawMessage, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]json.RawMessage(nil), m.received[pixelID]...), m.requests
}

// Handler implements Provider.
func (m *MetaGraph) Handler(env Env) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{version}/{pixel}/events", m.events)
	return mux
}

var (
	metaHashRE    = regexp.MustCompile(`^[0-9a-f]{64}$`)
	metaVersionRE = regexp.MustCompile(`^v[0-9]+\.[0-9]+$`)
	metaHashed    = []string{"em", "ph", "fn", "ln", "ct", "st", "zp", "country", "external_id", "ge", "db"}
)

type metaEvent struct {
	EventName    string                     `json:"event_name"`
	EventTime    int64                      `json:"event_time"`
	EventID      string                     `json:"event_id"`
	ActionSource string                     `json:"action_source"`
	UserData     map[string]json.RawMessage `json:"user_data"`
}

func (m *MetaGraph) events(w http.ResponseWriter, r *http.Request) {
	trace := fmt.Sprintf("Sandbox%d", m.now().UnixNano())
	fail := func(status, code, sub int, msg string) {
		shopJSON(w, status, map[string]any{"error": map[string]any{
			"message": msg, "type": "OAuthException", "code": code, "error_subcode": sub, "is_transient": false, "fbtrace_id": trace}})
	}
	if !metaVersionRE.MatchString(r.PathValue("version")) {
		fail(http.StatusBadRequest, 2635, 0, "Unknown Graph API version "+r.PathValue("version"))
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		fail(http.StatusBadRequest, 100, 0, "Could not read the request body")
		return
	}
	var req struct {
		Data        []json.RawMessage `json:"data"`
		AccessToken string            `json:"access_token"`
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &req); err != nil {
			fail(http.StatusBadRequest, 100, 0, "Invalid parameter: the body is not valid JSON")
			return
		}
	} else {
		// Graph also takes form posts with data as a JSON string.
		r.Body = io.NopCloser(strings.NewReader(string(raw)))
		if err := r.ParseForm(); err != nil || json.Unmarshal([]byte(r.PostForm.Get("data")), &req.Data) != nil {
			fail(http.StatusBadRequest, 100, 0, "Invalid parameter: data must be a JSON array")
			return
		}
		req.AccessToken = r.PostForm.Get("access_token")
	}
	if req.AccessToken == "" {
		req.AccessToken = r.URL.Query().Get("access_token")
	}
	if req.AccessToken == "" {
		fail(http.StatusBadRequest, 190, 0, "An access token is required to request this resource.")
		return
	}
	if n := len(req.Data); n == 0 || n > 1000 {
		fail(http.StatusBadRequest, 100, 2804019, fmt.Sprintf("Invalid parameter: a request carries 1 to 1000 events, got %d", n))
		return
	}
	now := m.now()
	for i, e := range req.Data {
		var ev metaEvent
		if err := json.Unmarshal(e, &ev); err != nil {
			fail(http.StatusBadRequest, 100, 0, fmt.Sprintf("Invalid parameter: data[%d] is not an event object", i))
			return
		}
		switch {
		case ev.EventName == "":
			fail(http.StatusBadRequest, 100, 2804008, fmt.Sprintf("Invalid parameter: data[%d].event_name is required", i))
			return
		case ev.EventTime < now.Add(-7*24*time.Hour).Unix():
			fail(http.StatusBadRequest, 100, 2804003, fmt.Sprintf("Invalid parameter: data[%d].event_time is more than 7 days in the past", i))
			return
		case ev.EventTime > now.Add(time.Minute).Unix():
			fail(http.StatusBadRequest, 100, 2804004, fmt.Sprintf("Invalid parameter: data[%d].event_time is in the future", i))
			return
		case ev.ActionSource == "":
			fail(http.StatusBadRequest, 100, 2804050, fmt.Sprintf("Invalid parameter: data[%d].action_source is required", i))
			return
		case len(ev.UserData) == 0:
			fail(http.StatusBadRequest, 100, 2804015, fmt.Sprintf("Invalid parameter: data[%d].user_data is required", i))
			return
		}
		for _, k := range metaHashed {
			v, ok := ev.UserData[k]
			if !ok {
				continue
			}
			var list []string
			if json.Unmarshal(v, &list) != nil {
				var one string
				if json.Unmarshal(v, &one) != nil {
					fail(http.StatusBadRequest, 100, 0, fmt.Sprintf("Invalid parameter: data[%d].user_data.%s must be a string or a list", i, k))
					return
				}
				list = []string{one}
			}
			for _, h := range list {
				if !metaHashRE.MatchString(h) {
					fail(http.StatusBadRequest, 100, 2804002, fmt.Sprintf("Invalid parameter: data[%d].user_data.%s is not a SHA-256 hash; hash normalised values", i, k))
					return
				}
			}
		}
	}
	pixel := r.PathValue("pixel")
	m.mu.Lock()
	m.received[pixel] = append(m.received[pixel], req.Data...)
	m.requests++
	m.mu.Unlock()
	shopJSON(w, http.StatusOK, map[string]any{"events_received": len(req.Data), "messages": []string{}, "fbtrace_id": trace})
}
