// Package retry holds the waiting every client of a remote service needs:
// capped exponential backoff and a sleep that ends with its context.
package retry

import (
	"context"
	"time"
)

// Backoff is a capped exponential delay: Base, 2×Base, 4×Base … up to Max.
type Backoff struct {
	Base, Max time.Duration
}

// Delay is the wait before retry number attempt (0 for the first retry).
func (b Backoff) Delay(attempt int) time.Duration {
	if attempt < 0 {
		attempt = 0
	}
	// Shifting by more than ~30 overflows; the cap is reached long before.
	return min(b.Base<<min(attempt, 30), b.Max)
}

// Sleep waits for d or until ctx ends, whichever comes first, and returns
// ctx.Err() in the second case. A non-positive d only checks ctx.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
