package eventbus

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pulsehub/pulsehub/shared/catalog"
)

// Invoker runs a function with a payload, waiting for a free execution slot.
type Invoker interface {
	Invoke(ctx context.Context, function string, payload []byte) ([]byte, error)
}

// Options configure a Bus.
type Options struct {
	Catalog   catalog.Catalog
	Functions []catalog.Function // the functions that run (catalog.Deployable())
	Invoker   Invoker
	Logger    *slog.Logger
	Region    string // default us-east-1
	Account   string // default 000000000000
	// Retries after a failed asynchronous invocation; Lambda makes 2.
	Retries int
	// RetryDelay is the wait before retry n (1-based). Lambda waits about a
	// minute, then two; the default here is n seconds so a developer sees
	// the outcome while looking.
	RetryDelay func(n int) time.Duration
	Now        func() time.Time
	// Tap, when set, sees every event accepted on PulseHub's bus as it is
	// routed (synchronously: keep it quick). Tests and benchmarks watch
	// domain events with it instead of polling the table.
	Tap func(events.CloudWatchEvent)
}

// Bus is the local EventBridge: an http.Handler for PutEvents plus the
// schedules. Deliveries are asynchronous; Close waits for them.
type Bus struct {
	opts     Options
	log      *slog.Logger
	inflight sync.WaitGroup
	ctx      context.Context // deliveries run under it; Close cancels retries' waits
	cancel   context.CancelFunc
}

// New returns a Bus. Call Close to stop schedules and wait for deliveries.
func New(opts Options) *Bus {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.Account == "" {
		opts.Account = "000000000000"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.RetryDelay == nil {
		opts.RetryDelay = func(n int) time.Duration { return time.Duration(n) * time.Second }
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Retries < 0 {
		opts.Retries = 0
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Bus{opts: opts, log: opts.Logger.With("component", "eventbridge"), ctx: ctx, cancel: cancel}
}

// putEventsEntry is one PutEventsRequestEntry on the wire.
type putEventsEntry struct {
	Source       string
	DetailType   string
	Detail       string
	EventBusName string
	Resources    []string
	Time         *float64 // epoch seconds, as the SDK's JSON protocol sends timestamps
	TraceHeader  string
}

type resultEntry struct {
	EventId      string `json:",omitempty"`
	ErrorCode    string `json:",omitempty"`
	ErrorMessage string `json:",omitempty"`
}

// ServeHTTP speaks the AWS JSON 1.1 protocol for AWSEvents.PutEvents.
func (b *Bus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	if r.Method != http.MethodPost {
		awsError(w, http.StatusMethodNotAllowed, "UnsupportedOperation", "use POST")
		return
	}
	if target != "AWSEvents.PutEvents" {
		awsError(w, http.StatusBadRequest, "UnknownOperationException", fmt.Sprintf("operation %q is not emulated locally; only AWSEvents.PutEvents is", target))
		return
	}
	var req struct {
		Entries []putEventsEntry
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	if err := dec.Decode(&req); err != nil {
		awsError(w, http.StatusBadRequest, "SerializationException", "request body: "+err.Error())
		return
	}
	if len(req.Entries) < 1 || len(req.Entries) > 10 {
		awsError(w, http.StatusBadRequest, "ValidationException", fmt.Sprintf("Entries must hold 1 to 10 entries, got %d", len(req.Entries)))
		return
	}
	resp := struct {
		Entries          []resultEntry
		FailedEntryCount int
	}{}
	for _, e := range req.Entries {
		res := b.put(e)
		if res.ErrorCode != "" {
			resp.FailedEntryCount++
			b.log.Warn("PutEvents entry rejected", "code", res.ErrorCode, "detail", res.ErrorMessage)
		}
		resp.Entries = append(resp.Entries, res)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(resp)
}

func awsError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Errortype", code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

// put validates one entry and schedules its deliveries.
func (b *Bus) put(e putEventsEntry) resultEntry {
	busName := e.EventBusName
	if i := strings.LastIndex(busName, "/"); strings.HasPrefix(busName, "arn:") && i >= 0 {
		busName = busName[i+1:]
	}
	switch {
	case e.Source == "":
		return resultEntry{ErrorCode: "InvalidArgument", ErrorMessage: "Parameter Source is not valid. Reason: Source is a required argument."}
	case e.DetailType == "":
		return resultEntry{ErrorCode: "InvalidArgument", ErrorMessage: "Parameter DetailType is not valid. Reason: DetailType is a required argument."}
	case e.Detail == "":
		return resultEntry{ErrorCode: "InvalidArgument", ErrorMessage: "Parameter Detail is not valid. Reason: Detail is a required argument."}
	case !json.Valid([]byte(e.Detail)) || !strings.HasPrefix(strings.TrimSpace(e.Detail), "{"):
		return resultEntry{ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed: it must be a JSON object."}
	case busName != "" && busName != "default" && busName != b.opts.Catalog.Bus.Name:
		return resultEntry{ErrorCode: "NotFoundException", ErrorMessage: fmt.Sprintf("Event bus %s does not exist.", busName)}
	}
	at := b.opts.Now().UTC()
	if e.Time != nil {
		sec := int64(*e.Time)
		at = time.Unix(sec, int64((*e.Time-float64(sec))*1e9)).UTC()
	}
	ev := events.CloudWatchEvent{
		Version:    "0",
		ID:         newID(),
		DetailType: e.DetailType,
		Source:     e.Source,
		AccountID:  b.opts.Account,
		Time:       at,
		Region:     b.opts.Region,
		Resources:  append([]string{}, e.Resources...),
		Detail:     json.RawMessage(e.Detail),
	}
	if ev.Resources == nil {
		ev.Resources = []string{}
	}
	// Only PulseHub's bus has rules; events on "default" are accepted and dropped.
	if busName == b.opts.Catalog.Bus.Name && e.Source == b.opts.Catalog.Bus.Source {
		if b.opts.Tap != nil {
			b.opts.Tap(ev)
		}
		for _, fn := range b.opts.Functions {
			for _, rule := range fn.Events {
				if slices.Contains(rule.DetailTypes, e.DetailType) {
					b.deliver(fn.Name, rule.Name, ev)
				}
			}
		}
	}
	return resultEntry{EventId: ev.ID}
}

// Publish routes an event as if it had been put on the bus; for the CLI and tests.
func (b *Bus) Publish(source, detailType string, detail json.RawMessage) (string, error) {
	res := b.put(putEventsEntry{Source: source, DetailType: detailType, Detail: string(detail), EventBusName: b.opts.Catalog.Bus.Name})
	if res.ErrorCode != "" {
		return "", fmt.Errorf("eventbus: %s: %s", res.ErrorCode, res.ErrorMessage)
	}
	return res.EventId, nil
}

// deliver invokes fn asynchronously with Lambda's retry policy.
func (b *Bus) deliver(fn, rule string, ev events.CloudWatchEvent) {
	payload, err := json.Marshal(ev)
	if err != nil {
		b.log.Error("encode event", "function", fn, "err", err)
		return
	}
	b.inflight.Add(1)
	go func() {
		defer b.inflight.Done()
		for attempt := 0; attempt <= b.opts.Retries; attempt++ {
			if attempt > 0 {
				select {
				case <-time.After(b.opts.RetryDelay(attempt)):
				case <-b.ctx.Done():
					b.log.Warn("event delivery abandoned at shutdown", "function", fn, "rule", rule, "eventId", ev.ID, "detailType", ev.DetailType)
					return
				}
			}
			_, err := b.opts.Invoker.Invoke(context.WithoutCancel(b.ctx), fn, payload)
			if err == nil {
				return
			}
			b.log.Error("async invocation failed", "function", fn, "rule", rule, "eventId", ev.ID,
				"detailType", ev.DetailType, "attempt", attempt+1, "of", b.opts.Retries+1, "err", err)
		}
		b.log.Error("event dropped after retries (Lambda would send it to an on-failure destination)", "function", fn, "eventId", ev.ID)
	}()
}

// RuleARN is the ARN of a schedule or event rule.
func (b *Bus) RuleARN(function, rule string) string {
	return fmt.Sprintf("arn:aws:events:%s:%s:rule/%s-%s", b.opts.Region, b.opts.Account, function, rule)
}

// StartSchedules runs every schedule of the functions until ctx ends or
// Close is called. A bad expression is an error before anything starts.
func (b *Bus) StartSchedules(ctx context.Context) error {
	type job struct {
		fn, rule string
		s        Schedule
	}
	var jobs []job
	now := b.opts.Now()
	for _, fn := range b.opts.Functions {
		for _, sc := range fn.Schedules {
			s, err := ParseSchedule(sc.Expression)
			if err != nil {
				return fmt.Errorf("eventbus: function %s schedule %s: %w", fn.Name, sc.Name, err)
			}
			if r, ok := s.(Rate); ok {
				r.Anchor = now
				s = r
			}
			jobs = append(jobs, job{fn.Name, sc.Name, s})
		}
	}
	for _, j := range jobs {
		b.inflight.Add(1)
		go func() {
			defer b.inflight.Done()
			b.runSchedule(ctx, j.fn, j.rule, j.s)
		}()
	}
	return nil
}

func (b *Bus) runSchedule(ctx context.Context, fn, rule string, s Schedule) {
	next := s.Next(b.opts.Now())
	for !next.IsZero() {
		timer := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-b.ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		b.deliver(fn, rule, events.CloudWatchEvent{
			Version: "0", ID: newID(), DetailType: "Scheduled Event", Source: "aws.events",
			AccountID: b.opts.Account, Time: next.UTC().Truncate(time.Second), Region: b.opts.Region,
			Resources: []string{b.RuleARN(fn, rule)}, Detail: json.RawMessage("{}"),
		})
		next = s.Next(next)
	}
	b.log.Info("schedule never fires again", "function", fn, "rule", rule)
}

// Close stops the schedules and pending retries and waits for running deliveries.
func (b *Bus) Close(ctx context.Context) error {
	b.cancel()
	done := make(chan struct{})
	go func() { b.inflight.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("eventbus: close: %w", ctx.Err())
	}
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
