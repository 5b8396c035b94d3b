package channeltest

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/channel"
	"github.com/pulsehub/pulsehub/shared/local/sandbox"
)

// Sender is what every channel sender has.
type Sender interface {
	Send(ctx context.Context, m channel.Message) (channel.Result, error)
}

// BenchmarkSend sends b.N messages through s from 32 goroutines and
// reports messages per second. next makes the i-th message.
func BenchmarkSend(b *testing.B, s Sender, next func(i int) channel.Message) {
	b.Helper()
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(16) // × GOMAXPROCS senders in flight, as a send function's batch would have
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Send(context.Background(), next(int(n.Add(1)))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// Quiet is a sandbox config with every provider's callbacks off except
// the ones a delivered message always gets, so a benchmark measures the
// send round trip.
func Quiet() *sandbox.Config {
	c := sandbox.DefaultConfig()
	for ch := range c.Engagement {
		c.Engagement[ch] = sandbox.Model{Delivered: 1}
	}
	return &c
}
