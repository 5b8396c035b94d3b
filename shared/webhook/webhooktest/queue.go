// Package webhooktest has the fakes that tests of the webhooks function and
// of its clients (the CLI's replay) share.
package webhooktest

import (
	"context"
	"sync"
	"testing"

	"github.com/pulsehub/pulsehub/shared/ingest"
)

// Queue records what the webhooks function enqueues (webhook.Queue).
type Queue struct {
	mu   sync.Mutex
	msgs [][]byte
	err  error
}

// Send records bodies, or fails with the error given to Fail.
func (q *Queue) Send(_ context.Context, bodies [][]byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return q.err
	}
	q.msgs = append(q.msgs, bodies...)
	return nil
}

// Fail makes every later Send return err (nil: succeed again).
func (q *Queue) Fail(err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.err = err
}

// Len is the number of messages recorded.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.msgs)
}

// Reset forgets the recorded messages.
func (q *Queue) Reset() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.msgs = q.msgs[:0]
}

// Envelopes decodes every recorded message; one that is not an envelope
// fails the test.
func (q *Queue) Envelopes(t testing.TB) []ingest.Envelope {
	t.Helper()
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]ingest.Envelope, 0, len(q.msgs))
	for _, m := range q.msgs {
		e, err := ingest.Decode(m)
		if err != nil {
			t.Fatalf("queued message does not decode: %v", err)
		}
		out = append(out, e)
	}
	return out
}

// Take is Envelopes, then Reset.
func (q *Queue) Take(t testing.TB) []ingest.Envelope {
	t.Helper()
	out := q.Envelopes(t)
	q.Reset()
	return out
}
