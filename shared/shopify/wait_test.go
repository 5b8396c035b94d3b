package shopify

import (
	"testing"
	"time"
)

// TestWaitFor: the wait for the cost bucket follows its restore rate and
// stays within maxThrottleWait (an hour) even for a rate that would overflow.
func TestWaitFor(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name   string
		bucket ThrottleStatus
		cost   float64
		want   time.Duration
	}{
		{"enough available", ThrottleStatus{MaximumAvailable: 1000, CurrentlyAvailable: 500, RestoreRate: 50}, 100, 0},
		{"refills at the restore rate", ThrottleStatus{MaximumAvailable: 1000, CurrentlyAvailable: 0, RestoreRate: 50}, 100, 2 * time.Second},
		{"no restore rate reported", ThrottleStatus{MaximumAvailable: 1000}, 100, 0},
		{"tiny restore rate", ThrottleStatus{MaximumAvailable: 1000, RestoreRate: 1e-300}, 100, maxThrottleWait},
		{"slow restore rate", ThrottleStatus{MaximumAvailable: 1000, RestoreRate: 0.001}, 100, maxThrottleWait},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := &Client{Now: func() time.Time { return now }, bucket: tt.bucket, seenAt: now}
			if got := c.waitFor(tt.cost); got != tt.want {
				t.Fatalf("waitFor(%v) = %v, want %v", tt.cost, got, tt.want)
			}
		})
	}
}
