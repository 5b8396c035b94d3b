package local_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/local"
	"github.com/pulsehub/pulsehub/shared/local/sandbox"
)

// modelPlatform boots the runtime with the copilot's model path on: a key
// in the environment and the OpenAI sandbox running script.
func modelPlatform(b *testing.B, script sandbox.OpenAIScript) *platform {
	b.Helper()
	b.Setenv("OPENAI_API_KEY", "sk-bench")
	b.Setenv("OPENAI_BASE_URL", "")
	model := sandbox.NewOpenAI(nil)
	model.SetScript(script)
	p := bootPlatformWith(b, func(o *local.Options) { o.Providers = append(o.Providers, model) })
	p.signup("bench-copilot", "bench-copilot.myshopify.com", "bench-copilot-secret")
	return p
}

// BenchmarkCopilotFirstDelta measures chat.send → first chat.delta through
// the local runtime (ws-message, the chat queue, the chat function, the
// management API) with an instant model: one that answers the moment the
// request arrives. after-model is the part of it after the model's first
// token left the (instant) model: issue 12's goal is ≤ 50 ms.
func BenchmarkCopilotFirstDelta(b *testing.B) {
	var mu sync.Mutex
	var asked time.Time
	p := modelPlatform(b, func(sandbox.OpenAIRequest) sandbox.OpenAIReply {
		mu.Lock()
		asked = time.Now()
		mu.Unlock()
		return sandbox.OpenAIReply{Content: []string{"Hello", " there."}}
	})
	ws := p.dial(p.token)
	var total, after []time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		ws.send(`{"action":"chat.send","text":"hello"}`)
		first := ws.read(30 * time.Second)
		got := time.Now()
		if first["type"] != "chat.delta" || first["seq"] != float64(1) {
			b.Fatalf("first frame %v", first)
		}
		mu.Lock()
		total, after = append(total, got.Sub(start)), append(after, got.Sub(asked))
		mu.Unlock()
		for f := first; f["type"] != "chat.done"; f = ws.read(30 * time.Second) {
			if f["type"] == "chat.error" {
				b.Fatalf("%v", f)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(ms(median(total)), "ms-first-delta-p50")
	b.ReportMetric(ms(median(after)), "ms-after-model-p50")
	b.ReportMetric(ms(pct(after, 0.95)), "ms-after-model-p95")
}

// BenchmarkCopilotConcurrentChats connects 1,000 clients and has 100 of
// them ask at once, each answer 40 deltas long from the sandbox model:
// every turn must complete, every client must receive exactly its own
// deltas, numbered in order, adding up to chat.done's text, and the idle
// clients nothing. One op is one round of 100 chats.
func BenchmarkCopilotConcurrentChats(b *testing.B) {
	const clients, chatting, pieces = 1000, 100, 40
	p := modelPlatform(b, func(req sandbox.OpenAIRequest) sandbox.OpenAIReply {
		q := req.Messages[len(req.Messages)-1].Content
		out := make([]string, pieces)
		for i := range out {
			out[i] = fmt.Sprintf("[%s:%02d]", q, i) // 10+ bytes: several coalesce into a delta
		}
		return sandbox.OpenAIReply{Content: out, Gap: time.Millisecond}
	})
	conns := make([]*wsClient, clients)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 50)
	for i := range conns {
		sem <- struct{}{}
		wg.Go(func() { defer func() { <-sem }(); conns[i] = p.dial(p.token) })
	}
	wg.Wait()
	var rounds []time.Duration
	b.ResetTimer()
	for n := range b.N {
		start := time.Now()
		errs := make(chan error, chatting)
		for c := range chatting {
			ws := conns[c*(clients/chatting)] // spread over the connections
			wg.Go(func() {
				q := fmt.Sprintf("r%dc%d", n, c)
				ws.send(`{"action":"chat.send","text":"` + q + `"}`)
				var text strings.Builder
				for seq := 1; ; seq++ {
					f := ws.read(2 * time.Minute)
					if f["seq"] != float64(seq) {
						errs <- fmt.Errorf("%s: frame %v, want seq %d", q, f, seq)
						return
					}
					switch f["type"] {
					case "chat.delta":
						text.WriteString(f["delta"].(string))
						continue
					case "chat.done":
					default:
						errs <- fmt.Errorf("%s: %v", q, f)
						return
					}
					var want strings.Builder
					for i := range pieces {
						fmt.Fprintf(&want, "[%s:%02d]", q, i)
					}
					if f["text"] != text.String() || text.String() != want.String() {
						errs <- fmt.Errorf("%s: deltas %q, done %q, want %q", q, text.String(), f["text"], want.String())
					}
					return
				}
			})
		}
		wg.Wait()
		rounds = append(rounds, time.Since(start))
		close(errs)
		for err := range errs {
			b.Error(err)
		}
	}
	b.StopTimer()
	// The idle clients received nothing.
	idle := 0
	for i, ws := range conns {
		if i%(clients/chatting) == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		if _, _, err := ws.conn.Read(ctx); err == nil {
			b.Errorf("idle client %d received a frame", i)
		}
		cancel()
		idle++
		if idle == 50 { // a sample: reading all 900 idle sockets takes as long as the round
			break
		}
	}
	b.ReportMetric(ms(median(rounds)), "ms-per-100-chats")
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func median(ds []time.Duration) time.Duration { return pct(ds, 0.5) }

func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(float64(len(s))*p))]
}
