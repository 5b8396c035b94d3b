package copilot

import (
	"sync"
	"time"
)

// Breaker is a circuit breaker on the model. Closed, every answer asks the
// model; after Threshold failures in a row it opens and the model is not
// asked for Cooldown; then one answer probes it (half-open): success
// closes the breaker, failure opens it for another Cooldown. It lives as
// long as the function's execution environment: each warm Lambda instance
// learns on its own, which needs no shared state and is enough to stop a
// failing model from slowing every answer.
type Breaker struct {
	threshold int
	cooldown  time.Duration
	now       func() time.Time

	mu        sync.Mutex
	failures  int
	openUntil time.Time
	probing   bool
}

// BreakerOptions configure a Breaker; zero fields take the defaults.
type BreakerOptions struct {
	Threshold int           // failures in a row that open it; 3
	Cooldown  time.Duration // how long it stays open; 30 s
	Now       func() time.Time
}

// Breaker states, as State reports them.
const (
	BreakerClosed   = "closed"
	BreakerOpen     = "open"
	BreakerHalfOpen = "half-open"
)

// NewBreaker returns a closed breaker.
func NewBreaker(o BreakerOptions) *Breaker {
	if o.Threshold <= 0 {
		o.Threshold = 3
	}
	if o.Cooldown <= 0 {
		o.Cooldown = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Breaker{threshold: o.Threshold, cooldown: o.Cooldown, now: o.Now}
}

// Allow reports whether the model may be asked now. In the half-open state
// only one caller gets true until it reports back.
func (b *Breaker) Allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state() {
	case BreakerClosed:
		return true
	case BreakerHalfOpen:
		if b.probing {
			return false
		}
		b.probing = true
		return true
	}
	return false
}

// Success reports a model answer; it closes the breaker.
func (b *Breaker) Success() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures, b.probing, b.openUntil = 0, false, time.Time{}
}

// Failure reports a failed model answer.
func (b *Breaker) Failure() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures++
	if b.probing || b.failures >= b.threshold {
		b.openUntil = b.now().Add(b.cooldown)
	}
	b.probing = false
}

// State is closed, open or half-open.
func (b *Breaker) State() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state()
}

func (b *Breaker) state() string {
	switch {
	case b.openUntil.IsZero():
		return BreakerClosed
	case b.now().Before(b.openUntil):
		return BreakerOpen
	}
	return BreakerHalfOpen
}
