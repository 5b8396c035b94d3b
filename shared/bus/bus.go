package bus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/pulsehub/pulsehub/shared/retry"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

// Client is the subset of the EventBridge client the publisher uses.
type Client interface {
	PutEvents(context.Context, *eventbridge.PutEventsInput, ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// EventBridge limits.
const (
	MaxEntryBytes = 256 << 10 // one entry, as EventBridge counts it; also a whole request
	MaxBatch      = 10        // entries per PutEvents
)

// putAttempts bounds the retries of entries EventBridge failed on its side.
const putAttempts = 3

// Event is one domain event.
type Event struct {
	Tenant     string
	DetailType string    // e.g. "campaign.scheduled"; rules match on it
	ID         string    // business id, for consumers' dedupe
	Detail     any       // a JSON object (struct or map); nil for none
	Time       time.Time // zero: EventBridge stamps the time of receipt
}

// Publisher publishes events to one bus under one source.
type Publisher struct {
	c      Client
	bus    string
	source string
}

// New returns a Publisher for busName with source (catalog.Bus).
func New(client Client, busName, source string) *Publisher {
	return &Publisher{c: client, bus: busName, source: source}
}

// Detail is the envelope fields Publish adds to every event's detail.
// Consumers decode the detail into a struct embedding it.
type Detail struct {
	Tenant string `json:"tenant"`
	ID     string `json:"id"`
}

type entry struct {
	ev    Event
	input types.PutEventsRequestEntry
	size  int
}

// Publish sends events in requests of up to 10 entries and 256 KB. Each
// detail is the event's Detail object with "tenant" and "id" added. An
// invalid event (no tenant, type or id, a detail that is not an object or
// names another tenant) is apperr.Invalid and an entry over 256 KB is
// apperr.TooLarge; in both cases nothing is sent. Entries EventBridge fails
// are retried; those that still fail are reported, by index, type and id, in
// an apperr.Transient error (apperr.Invalid for failures retrying cannot fix).
func (p *Publisher) Publish(ctx context.Context, events ...Event) error {
	entries := make([]entry, len(events))
	var errs []error
	for i, ev := range events {
		e, err := p.entry(ev)
		if err != nil {
			errs = append(errs, fmt.Errorf("event %d (%s id=%s): %w", i, ev.DetailType, ev.ID, err))
		}
		entries[i] = e
	}
	if len(errs) > 0 {
		return fmt.Errorf("bus.Publish: %w", errors.Join(errs...))
	}
	var chunk []int
	size := 0
	flush := func() {
		if len(chunk) > 0 {
			errs = append(errs, p.put(ctx, entries, chunk)...)
			chunk, size = nil, 0
		}
	}
	for i, e := range entries {
		if len(chunk) == MaxBatch || size+e.size > MaxEntryBytes {
			flush()
		}
		chunk = append(chunk, i)
		size += e.size
	}
	flush()
	if len(errs) > 0 {
		return apperr.Wrap(apperr.KindOfAll(errs), errors.Join(errs...), "bus.Publish to %s: %d of %d events not published", p.bus, len(errs), len(events))
	}
	return nil
}

func (p *Publisher) entry(ev Event) (entry, error) {
	switch {
	case ev.Tenant == "":
		return entry{}, apperr.E(apperr.Invalid, "event has no tenant")
	case ev.DetailType == "":
		return entry{}, apperr.E(apperr.Invalid, "event has no detail type")
	case ev.ID == "":
		return entry{}, apperr.E(apperr.Invalid, "event has no id")
	}
	detail, err := detailJSON(ev)
	if err != nil {
		return entry{}, err
	}
	in := types.PutEventsRequestEntry{
		EventBusName: aws.String(p.bus),
		Source:       aws.String(p.source),
		DetailType:   aws.String(ev.DetailType),
		Detail:       aws.String(string(detail)),
	}
	// EventBridge's entry size: time (14 bytes when set), source, detail type, detail.
	size := len(p.source) + len(ev.DetailType) + len(detail)
	if !ev.Time.IsZero() {
		in.Time = aws.Time(ev.Time)
		size += 14
	}
	if size > MaxEntryBytes {
		return entry{}, apperr.E(apperr.TooLarge, "event of %d bytes exceeds EventBridge's %d-byte limit", size, MaxEntryBytes)
	}
	return entry{ev: ev, input: in, size: size}, nil
}

// detailJSON is ev.Detail's JSON object with tenant and id set.
func detailJSON(ev Event) ([]byte, error) {
	fields := map[string]json.RawMessage{}
	if ev.Detail != nil {
		raw, err := json.Marshal(ev.Detail)
		if err != nil {
			return nil, apperr.Wrap(apperr.Invalid, err, "detail does not encode as JSON")
		}
		if !bytes.Equal(raw, []byte("null")) {
			if err := json.Unmarshal(raw, &fields); err != nil {
				return nil, apperr.E(apperr.Invalid, "detail must be a JSON object, got %.40s", raw)
			}
		}
	}
	for k, v := range map[string]string{"tenant": ev.Tenant, "id": ev.ID} {
		want, _ := json.Marshal(v)
		if have, ok := fields[k]; ok {
			var s string
			if json.Unmarshal(have, &s) != nil || s != v {
				return nil, apperr.E(apperr.Invalid, "detail field %q is %s, but the event's is %q", k, have, v)
			}
		}
		fields[k] = want
	}
	return json.Marshal(fields) // keys sorted: stable output
}

// put sends entries[idx...] and retries what EventBridge failed on its side.
func (p *Publisher) put(ctx context.Context, entries []entry, idx []int) []error {
	pending := idx
	failed := map[int]error{}
	for attempt := 0; len(pending) > 0; attempt++ {
		in := &eventbridge.PutEventsInput{Entries: make([]types.PutEventsRequestEntry, len(pending))}
		for j, i := range pending {
			in.Entries[j] = entries[i].input
		}
		out, err := p.c.PutEvents(ctx, in)
		if err != nil {
			err = classify(err)
			for _, i := range pending {
				failed[i] = fmt.Errorf("%s: %w", name(i, entries[i].ev), err)
			}
			break
		}
		if out.FailedEntryCount == 0 {
			break
		}
		if len(out.Entries) != len(pending) {
			for _, i := range pending {
				failed[i] = apperr.E(apperr.Transient, "%s: EventBridge answered %d entries for %d", name(i, entries[i].ev), len(out.Entries), len(pending))
			}
			break
		}
		var again []int
		for j, res := range out.Entries {
			code := aws.ToString(res.ErrorCode)
			if code == "" {
				continue
			}
			i := pending[j]
			if retryable(code) && attempt+1 < putAttempts {
				again = append(again, i)
				continue
			}
			kind := apperr.Transient
			if !retryable(code) {
				kind = apperr.Invalid
			}
			failed[i] = apperr.E(kind, "%s: %s: %s", name(i, entries[i].ev), code, aws.ToString(res.ErrorMessage))
		}
		pending = again
		if len(pending) > 0 {
			if err := retry.Sleep(ctx, time.Duration(100<<attempt)*time.Millisecond); err != nil {
				for _, i := range pending {
					failed[i] = apperr.Wrap(apperr.Transient, err, "%s: retry interrupted", name(i, entries[i].ev))
				}
				break
			}
		}
	}
	// Report in event order, not in the order the failures became final.
	var errs []error
	for _, i := range slices.Sorted(maps.Keys(failed)) {
		errs = append(errs, failed[i])
	}
	return errs
}

func name(i int, ev Event) string { return fmt.Sprintf("event %d (%s id=%s)", i, ev.DetailType, ev.ID) }

// retryable says whether a failed entry's error code may succeed later.
func retryable(code string) bool {
	switch code {
	case "InternalFailure", "InternalException", "ThrottlingException", "ServiceUnavailable":
		return true
	}
	return false
}

func classify(err error) error {
	var apiErr smithy.APIError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return apperr.Wrap(apperr.Transient, err, "put events")
	case errors.As(err, &apiErr) && apiErr.ErrorFault() == smithy.FaultServer:
		return apperr.Wrap(apperr.Transient, err, "put events")
	case errors.As(err, &apiErr) && apiErr.ErrorCode() == "ThrottlingException":
		return apperr.Wrap(apperr.RateLimited, err, "put events: throttled")
	}
	return fmt.Errorf("put events: %w", err)
}
