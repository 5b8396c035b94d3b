package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/coder/websocket"
)

// raiseFileLimit lifts the soft open-file limit to the hard limit: the
// broadcast benchmark holds 2,000 sockets (both ends of 1,000 connections).
func raiseFileLimit(b *testing.B, need uint64) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatalf("getrlimit: %v", err)
	}
	if lim.Cur < need {
		lim.Cur = min(lim.Max, need)
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			b.Fatalf("setrlimit to %d: %v", need, err)
		}
	}
	if lim.Cur < need {
		b.Fatalf("open-file limit %d below the %d this benchmark needs (ulimit -n)", lim.Cur, need)
	}
}

// BenchmarkBroadcast1000 holds 1,000 WebSocket connections and measures one
// PostToConnection to every one of them through the management API with the
// real SDK client (64 concurrent callers), until every client has read its
// message. Goal: ≤ 1 s per broadcast.
func BenchmarkBroadcast1000(b *testing.B) {
	const conns, callers = 1000, 64
	raiseFileLimit(b, 3*conns+256)
	g, srv := startGateway(b, newFakeInvoker(), Limits{})

	var received atomic.Int64
	arrived := make(chan struct{}, conns)
	dialCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := range conns {
		c, _, err := websocket.Dial(dialCtx, wsURL(srv.URL), nil)
		if err != nil {
			b.Fatalf("dial %d: %v", i, err)
		}
		b.Cleanup(func() { c.CloseNow() })
		go func() {
			for {
				if _, _, err := c.Read(context.Background()); err != nil {
					return
				}
				received.Add(1)
				arrived <- struct{}{}
			}
		}()
	}
	// The client's handshake can complete a moment before the server side registers the connection.
	for deadline := time.Now().Add(10 * time.Second); g.Connections() < conns && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	g.mu.Lock()
	ids := make([]string, 0, len(g.conns))
	for id := range g.conns {
		ids = append(ids, id)
	}
	g.mu.Unlock()
	if len(ids) != conns {
		b.Fatalf("gateway holds %d connections, want %d", len(ids), conns)
	}

	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns, t.MaxIdleConnsPerHost = callers, callers
	})
	api := apigatewaymanagementapi.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
		HTTPClient:  httpClient,
	}, func(o *apigatewaymanagementapi.Options) { o.BaseEndpoint = aws.String(srv.URL + "/ws") })
	data := []byte(`{"type":"dashboard.update","revenue":12345.67,"orders":321,"customers":2048,"roi":4.2}`)

	b.ResetTimer()
	for b.Loop() {
		next := make(chan string)
		var wg sync.WaitGroup
		var failed atomic.Int64
		for range callers {
			wg.Go(func() {
				for id := range next {
					_, err := api.PostToConnection(context.Background(), &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: data})
					if err != nil {
						failed.Add(1)
					}
				}
			})
		}
		for _, id := range ids {
			next <- id
		}
		close(next)
		wg.Wait()
		if n := failed.Load(); n > 0 {
			b.Fatalf("%d PostToConnection calls failed", n)
		}
		for range conns {
			select {
			case <-arrived:
			case <-time.After(10 * time.Second):
				b.Fatalf("only %d messages arrived", received.Load())
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/broadcast")
}

// BenchmarkHTTPRoundTrip100 drives a trivial route through the gateway with
// 100 concurrent clients and reports latency percentiles. Goal: p99 ≤ 20 ms.
func BenchmarkHTTPRoundTrip100(b *testing.B) {
	const clients = 100
	raiseFileLimit(b, 4*clients+256)
	inv := newFakeInvoker()
	inv.notify = make(chan call) // unbuffered and never read: recording stays cheap
	inv.handle("me", func(context.Context, []byte) ([]byte, error) {
		return []byte(`{"statusCode":200,"headers":{"content-type":"application/json"},"body":"{\"ok\":true}"}`), nil
	})
	_, srv := startGateway(b, inv, Limits{})
	closedLoop(b, clients, srv.URL+"/v1/me")
	inv.mu.Lock()
	inv.calls = nil
	inv.mu.Unlock()
}

// BenchmarkNetHTTPFloor100 is the floor under the gateway's figures: the
// same 100 clients against a bare net/http handler with a fixed answer (no
// event, no function), on the same cores.
func BenchmarkNetHTTPFloor100(b *testing.B) {
	const clients = 100
	raiseFileLimit(b, 4*clients+256)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	b.Cleanup(srv.Close)
	closedLoop(b, clients, srv.URL+"/v1/me")
}

// closedLoop has clients goroutines GET url back to back, b.N requests in
// all, and reports the p50 and p99 latency.
func closedLoop(b *testing.B, clients int, url string) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients}}
	var next atomic.Int64
	latencies := make([]time.Duration, b.N)
	var failed atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				start := time.Now()
				res, err := client.Get(url)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					failed.Add(1)
				}
				latencies[i] = time.Since(start)
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d requests failed", n)
	}
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		return float64(latencies[min(len(latencies)-1, int(p*float64(len(latencies))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50_ms")
	b.ReportMetric(pct(0.99), "p99_ms")
}
