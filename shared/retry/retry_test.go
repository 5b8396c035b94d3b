package retry

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Base: 50 * time.Millisecond, Max: 2 * time.Second}
	tests := []struct {
		attempt int
		want    time.Duration
	}{
		{-1, 50 * time.Millisecond},
		{0, 50 * time.Millisecond},
		{1, 100 * time.Millisecond},
		{5, 1600 * time.Millisecond},
		{6, 2 * time.Second},
		{1000, 2 * time.Second},
	}
	for _, tt := range tests {
		if got := b.Delay(tt.attempt); got != tt.want {
			t.Errorf("Delay(%d) = %s, want %s", tt.attempt, got, tt.want)
		}
	}
}

func TestSleepEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep on a cancelled context = %v", err)
	}
	if err := Sleep(context.Background(), 0); err != nil {
		t.Fatalf("Sleep(0) = %v", err)
	}
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatalf("Sleep(1ms) = %v", err)
	}
}

// TestHTTP: 429 and 5xx are sent again until a final answer or the last
// attempt; a 4xx is final at once; every attempt gets a fresh request.
func TestHTTP(t *testing.T) {
	for _, tt := range []struct {
		name       string
		answers    []int
		attempts   int
		wantStatus int
		wantCalls  int
	}{
		{"ok at once", []int{200}, 5, 200, 1},
		{"retried until ok", []int{503, 429, 200}, 5, 200, 3},
		{"client error is final", []int{401, 200}, 5, 401, 1},
		{"attempts run out", []int{500, 500, 500, 500}, 3, 500, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1)) - 1
				if b, _ := io.ReadAll(r.Body); string(b) != "payload" {
					t.Errorf("attempt %d sent body %q", n, b)
				}
				w.WriteHeader(tt.answers[n])
				io.WriteString(w, http.StatusText(tt.answers[n]))
			}))
			defer srv.Close()
			status, body, err := HTTP(context.Background(), srv.Client(), tt.attempts, Backoff{Base: time.Millisecond, Max: time.Millisecond},
				func(ctx context.Context) (*http.Request, error) {
					return http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader("payload"))
				})
			if err != nil || status != tt.wantStatus || string(body) != http.StatusText(tt.wantStatus) || int(calls.Load()) != tt.wantCalls {
				t.Fatalf("status %d body %q err %v after %d calls; want %d after %d", status, body, err, calls.Load(), tt.wantStatus, tt.wantCalls)
			}
		})
	}
	// No answer at all: the transport error comes back after the attempts.
	status, _, err := HTTP(context.Background(), &http.Client{}, 2, Backoff{Base: time.Millisecond, Max: time.Millisecond},
		func(ctx context.Context) (*http.Request, error) {
			return http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:1/", nil)
		})
	if err == nil || status != 0 {
		t.Fatalf("unreachable server: status %d err %v", status, err)
	}
}
