package bus_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/bus"
)

// wireEntry is a PutEvents request entry as the SDK puts it on the wire.
type wireEntry struct {
	EventBusName string
	Source       string
	DetailType   string
	Detail       string
	Time         *float64
}

// fakeBus speaks the EventBridge JSON 1.1 PutEvents protocol. answer
// decides each entry's fate: "" for success, else an error code.
type fakeBus struct {
	t        *testing.T
	mu       sync.Mutex
	requests [][]wireEntry
	answer   func(e wireEntry, attempt int) string
	attempts map[string]int // by detail
	status   int            // non-zero: answer every request with this HTTP status
}

func (f *fakeBus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if got := r.Header.Get("X-Amz-Target"); got != "AWSEvents.PutEvents" {
		f.t.Errorf("X-Amz-Target %q", got)
	}
	if got := r.Header.Get("Content-Type"); got != "application/x-amz-json-1.1" {
		f.t.Errorf("Content-Type %q", got)
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		f.t.Errorf("request not signed: %q", r.Header.Get("Authorization"))
	}
	if f.status != 0 {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(f.status)
		io.WriteString(w, `{"__type":"InternalException","message":"boom"}`)
		return
	}
	var in struct{ Entries []wireEntry }
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &in); err != nil {
		f.t.Errorf("decode request %s: %v", body, err)
		http.Error(w, "bad", 400)
		return
	}
	f.requests = append(f.requests, in.Entries)
	type result struct {
		EventId      string `json:",omitempty"`
		ErrorCode    string `json:",omitempty"`
		ErrorMessage string `json:",omitempty"`
	}
	out := struct {
		FailedEntryCount int
		Entries          []result
	}{}
	for i, e := range in.Entries {
		f.attempts[e.Detail]++
		code := ""
		if f.answer != nil {
			code = f.answer(e, f.attempts[e.Detail])
		}
		if code != "" {
			out.FailedEntryCount++
			out.Entries = append(out.Entries, result{ErrorCode: code, ErrorMessage: "fake " + code})
		} else {
			out.Entries = append(out.Entries, result{EventId: fmt.Sprintf("evt-%d-%d", len(f.requests), i)})
		}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}

func setup(t *testing.T) (*fakeBus, *bus.Publisher) {
	f := &fakeBus{t: t, attempts: map[string]int{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	client := eventbridge.New(eventbridge.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("local", "local", ""),
		RetryMaxAttempts: 1,
	})
	return f, bus.New(client, "pulsehub", "pulsehub")
}

type scheduled struct {
	CampaignID string    `json:"campaignId"`
	At         time.Time `json:"at"`
}

func TestPublishChunksAndEnvelope(t *testing.T) {
	f, p := setup(t)
	at := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	var evs []bus.Event
	for i := range 23 {
		evs = append(evs, bus.Event{Tenant: "t1", DetailType: "campaign.scheduled", ID: fmt.Sprintf("camp-%d", i),
			Detail: scheduled{CampaignID: fmt.Sprintf("camp-%d", i), At: at}, Time: at})
	}
	evs = append(evs, bus.Event{Tenant: "t2", DetailType: "customer.merged", ID: "m1"}) // no detail
	if err := p.Publish(context.Background(), evs...); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if len(f.requests) != 3 || len(f.requests[0]) != 10 || len(f.requests[1]) != 10 || len(f.requests[2]) != 4 {
		t.Fatalf("request sizes: %d requests", len(f.requests))
	}
	e := f.requests[0][3]
	if e.EventBusName != "pulsehub" || e.Source != "pulsehub" || e.DetailType != "campaign.scheduled" {
		t.Fatalf("entry %+v", e)
	}
	if e.Time == nil || int64(*e.Time) != at.Unix() {
		t.Fatalf("time %v, want %d", e.Time, at.Unix())
	}
	if want := `{"at":"2025-03-01T09:00:00Z","campaignId":"camp-3","id":"camp-3","tenant":"t1"}`; e.Detail != want {
		t.Fatalf("detail %s\nwant   %s", e.Detail, want)
	}
	var d struct {
		bus.Detail
		scheduled
	}
	if err := json.Unmarshal([]byte(e.Detail), &d); err != nil || d.Tenant != "t1" || d.ID != "camp-3" || d.CampaignID != "camp-3" {
		t.Fatalf("consumer decode: %+v %v", d, err)
	}
	last := f.requests[2][3]
	if last.Detail != `{"id":"m1","tenant":"t2"}` || last.Time != nil {
		t.Fatalf("event without detail or time: %+v", last)
	}
}

func TestPublishPartialFailure(t *testing.T) {
	f, p := setup(t)
	f.answer = func(e wireEntry, attempt int) string {
		switch {
		case strings.Contains(e.Detail, `"id":"flaky"`) && attempt == 1:
			return "InternalFailure" // succeeds when retried
		case strings.Contains(e.Detail, `"id":"down"`):
			return "ThrottlingException" // never succeeds
		case strings.Contains(e.Detail, `"id":"bad"`):
			return "MalformedDetail"
		}
		return ""
	}
	evs := []bus.Event{
		{Tenant: "t1", DetailType: "order.created", ID: "ok"},
		{Tenant: "t1", DetailType: "order.created", ID: "flaky"},
		{Tenant: "t1", DetailType: "order.created", ID: "down"},
		{Tenant: "t1", DetailType: "order.created", ID: "bad"},
	}
	err := p.Publish(context.Background(), evs...)
	if err == nil {
		t.Fatal("Publish reported success")
	}
	msg := err.Error()
	for _, want := range []string{"2 of 4 events not published", "event 2 (order.created id=down): ThrottlingException", "event 3 (order.created id=bad): MalformedDetail"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Index(msg, "id=down") > strings.Index(msg, "id=bad") {
		t.Errorf("error %q does not list failures in event order", msg)
	}
	if strings.Contains(msg, "id=flaky") || strings.Contains(msg, "id=ok") {
		t.Errorf("error %q names events that were published", msg)
	}
	if k := apperr.KindOf(err); k != apperr.Transient {
		t.Errorf("kind %s, want transient (the first failure is retryable)", k)
	}
	if f.attempts[`{"id":"ok","tenant":"t1"}`] != 1 || f.attempts[`{"id":"flaky","tenant":"t1"}`] != 2 || f.attempts[`{"id":"down","tenant":"t1"}`] != 3 || f.attempts[`{"id":"bad","tenant":"t1"}`] != 1 {
		t.Errorf("attempts %v: only retryable failures are retried, up to 3 times", f.attempts)
	}
}

func TestPublishRefusesBadEvents(t *testing.T) {
	f, p := setup(t)
	good := bus.Event{Tenant: "t1", DetailType: "x", ID: "1"}
	for name, tc := range map[string]struct {
		ev   bus.Event
		kind apperr.Kind
	}{
		"no tenant":      {bus.Event{DetailType: "x", ID: "1"}, apperr.Invalid},
		"no type":        {bus.Event{Tenant: "t1", ID: "1"}, apperr.Invalid},
		"no id":          {bus.Event{Tenant: "t1", DetailType: "x"}, apperr.Invalid},
		"detail not obj": {bus.Event{Tenant: "t1", DetailType: "x", ID: "1", Detail: []int{1}}, apperr.Invalid},
		"other tenant":   {bus.Event{Tenant: "t1", DetailType: "x", ID: "1", Detail: map[string]string{"tenant": "t2"}}, apperr.Invalid},
		"unencodable":    {bus.Event{Tenant: "t1", DetailType: "x", ID: "1", Detail: map[string]any{"f": func() {}}}, apperr.Invalid},
		"too large":      {bus.Event{Tenant: "t1", DetailType: "x", ID: "1", Detail: map[string]string{"blob": strings.Repeat("a", bus.MaxEntryBytes)}}, apperr.TooLarge},
	} {
		t.Run(name, func(t *testing.T) {
			err := p.Publish(context.Background(), good, tc.ev)
			if apperr.KindOf(err) != tc.kind || !strings.Contains(err.Error(), "event 1") {
				t.Fatalf("got %v, want %s naming event 1", err, tc.kind)
			}
		})
	}
	if len(f.requests) != 0 {
		t.Fatalf("%d requests sent for invalid batches", len(f.requests))
	}
	// The same tenant and id repeated in the detail are fine.
	if err := p.Publish(context.Background(), bus.Event{Tenant: "t1", DetailType: "x", ID: "1", Detail: map[string]string{"tenant": "t1", "id": "1"}}); err != nil {
		t.Fatalf("matching envelope fields: %v", err)
	}
}

func TestPublishSplitsBySize(t *testing.T) {
	f, p := setup(t)
	var evs []bus.Event
	for i := range 5 {
		evs = append(evs, bus.Event{Tenant: "t1", DetailType: "big", ID: fmt.Sprint(i), Detail: map[string]string{"blob": strings.Repeat("b", 100<<10)}})
	}
	if err := p.Publish(context.Background(), evs...); err != nil {
		t.Fatal(err)
	}
	if len(f.requests) != 3 {
		t.Fatalf("%d requests, want 3 (two 100 KB events per 256 KB request)", len(f.requests))
	}
}

func TestPublishServerError(t *testing.T) {
	f, p := setup(t)
	f.status = 500
	err := p.Publish(context.Background(), bus.Event{Tenant: "t1", DetailType: "x", ID: "1"})
	if apperr.KindOf(err) != apperr.Transient || !strings.Contains(err.Error(), "event 0 (x id=1)") {
		t.Fatalf("got %v", err)
	}
}
