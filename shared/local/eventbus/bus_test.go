package eventbus

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/pulsehub/pulsehub/shared/catalog"
)

// recorder is an Invoker that records calls and fails the first failN of each function.
type recorder struct {
	mu    sync.Mutex
	calls map[string][]events.CloudWatchEvent
	failN int
	got   chan string
}

func (r *recorder) Invoke(_ context.Context, fn string, payload []byte) ([]byte, error) {
	var ev events.CloudWatchEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.calls[fn] = append(r.calls[fn], ev)
	n := len(r.calls[fn])
	r.mu.Unlock()
	r.got <- fn
	if n <= r.failN {
		return nil, errors.New("boom")
	}
	return []byte("null"), nil
}

func testCatalog() (catalog.Catalog, []catalog.Function) {
	c := catalog.Catalog{Bus: catalog.Bus{Name: "pulsehub", Source: "pulsehub"}}
	fns := []catalog.Function{
		{Name: "analytics", Events: []catalog.EventRule{{Name: "on-activity", DetailTypes: []string{"order.created", "message.delivered"}}}},
		{Name: "segment", Events: []catalog.EventRule{{Name: "on-request", DetailTypes: []string{"segment.refresh.requested"}}}},
	}
	return c, fns
}

func TestPutEventsWithSDK(t *testing.T) {
	c, fns := testCatalog()
	rec := &recorder{calls: map[string][]events.CloudWatchEvent{}, failN: 2, got: make(chan string, 10)}
	bus := New(Options{Catalog: c, Functions: fns, Invoker: rec, Retries: 2, RetryDelay: func(int) time.Duration { return time.Millisecond }})
	defer bus.Close(context.Background())
	mux := http.NewServeMux()
	mux.Handle("/_aws/events/", http.StripPrefix("/_aws/events", bus))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	client := eventbridge.New(eventbridge.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL + "/_aws/events/"),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
	at := time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)
	out, err := client.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{
		{Source: aws.String("pulsehub"), DetailType: aws.String("order.created"), Detail: aws.String(`{"tenantId":"t1","orderId":"o1"}`), EventBusName: aws.String("pulsehub"), Time: &at, Resources: []string{"r1"}},
		{Source: aws.String("pulsehub"), DetailType: aws.String("nobody.listens"), Detail: aws.String(`{}`), EventBusName: aws.String("pulsehub")},
		{Source: aws.String("pulsehub"), DetailType: aws.String("order.created"), Detail: aws.String(`not json`), EventBusName: aws.String("pulsehub")},
		{Source: aws.String("pulsehub"), DetailType: aws.String("order.created"), Detail: aws.String(`{}`), EventBusName: aws.String("other")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if out.FailedEntryCount != 2 || len(out.Entries) != 4 {
		t.Fatalf("FailedEntryCount %d, entries %d", out.FailedEntryCount, len(out.Entries))
	}
	if aws.ToString(out.Entries[0].EventId) == "" || aws.ToString(out.Entries[1].EventId) == "" {
		t.Fatalf("accepted entries lack an EventId: %+v", out.Entries)
	}
	if aws.ToString(out.Entries[2].ErrorCode) != "MalformedDetail" || aws.ToString(out.Entries[3].ErrorCode) != "NotFoundException" {
		t.Fatalf("error codes: %q %q", aws.ToString(out.Entries[2].ErrorCode), aws.ToString(out.Entries[3].ErrorCode))
	}
	// Two failures, then success on the second retry: three invocations in all.
	for i := 0; i < 3; i++ {
		select {
		case fn := <-rec.got:
			if fn != "analytics" {
				t.Fatalf("invoked %s", fn)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("only %d invocations", i)
		}
	}
	if err := bus.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.calls) != 1 || len(rec.calls["analytics"]) != 3 {
		t.Fatalf("calls: %v", rec.calls)
	}
	ev := rec.calls["analytics"][0]
	if ev.DetailType != "order.created" || ev.Source != "pulsehub" || !ev.Time.Equal(at) || ev.ID != aws.ToString(out.Entries[0].EventId) ||
		ev.Region != "us-east-1" || ev.AccountID != "000000000000" || len(ev.Resources) != 1 || string(ev.Detail) != `{"tenantId":"t1","orderId":"o1"}` {
		t.Fatalf("event: %+v detail %s", ev, ev.Detail)
	}
	for _, again := range rec.calls["analytics"][1:] {
		if again.ID != ev.ID {
			t.Fatalf("a retry carries another id: %s vs %s", again.ID, ev.ID)
		}
	}
}

func TestPutEventsRejectsOtherOperations(t *testing.T) {
	c, fns := testCatalog()
	bus := New(Options{Catalog: c, Functions: fns, Invoker: &recorder{}})
	defer bus.Close(context.Background())
	srv := httptest.NewServer(bus)
	defer srv.Close()
	client := eventbridge.New(eventbridge.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	_, err := client.ListRules(context.Background(), &eventbridge.ListRulesInput{})
	if err == nil {
		t.Fatal("ListRules succeeded")
	}
	_, err = client.PutEvents(context.Background(), &eventbridge.PutEventsInput{})
	if err == nil {
		t.Fatal("empty PutEvents succeeded")
	}
}

func TestScheduledEvent(t *testing.T) {
	c := catalog.Catalog{Bus: catalog.Bus{Name: "pulsehub", Source: "pulsehub"}}
	fns := []catalog.Function{{Name: "scheduler", Schedules: []catalog.Schedule{{Name: "tick", Expression: "rate(1 minute)"}}}}
	rec := &recorder{calls: map[string][]events.CloudWatchEvent{}, got: make(chan string, 10)}
	// A clock 59.9 s behind the wall clock makes the first minute pass at once.
	offset := -time.Minute + 100*time.Millisecond
	bus := New(Options{Catalog: c, Functions: fns, Invoker: rec, Now: func() time.Time { return time.Now().Add(offset) }})
	if err := bus.StartSchedules(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-rec.got:
	case <-time.After(5 * time.Second):
		t.Fatal("schedule did not fire")
	}
	if err := bus.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	ev := rec.calls["scheduler"][0]
	if ev.DetailType != "Scheduled Event" || ev.Source != "aws.events" || len(ev.Resources) != 1 ||
		ev.Resources[0] != "arn:aws:events:us-east-1:000000000000:rule/scheduler-tick" || string(ev.Detail) != "{}" {
		t.Fatalf("scheduled event: %+v", ev)
	}

	bad := New(Options{Catalog: c, Functions: []catalog.Function{{Name: "x", Schedules: []catalog.Schedule{{Name: "s", Expression: "cron(0 3 * * * *)"}}}}, Invoker: rec})
	if err := bad.StartSchedules(context.Background()); err == nil {
		t.Fatal("bad schedule accepted")
	}
}
