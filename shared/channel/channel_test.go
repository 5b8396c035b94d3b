package channel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/integration"
)

func TestErrorClassification(t *testing.T) {
	tests := []struct {
		err     *Error
		kind    apperr.Kind
		retry   bool
		outcome Outcome
	}{
		{&Error{Outcome: Retry, Status: 429, RetryAfter: 2 * time.Second}, apperr.RateLimited, true, Retry},
		{&Error{Outcome: Retry, Status: 503}, apperr.Transient, true, Retry},
		{&Error{Outcome: Failed, Status: 400}, apperr.Invalid, false, Failed},
		{&Error{Outcome: OptedOut, Code: "21610"}, apperr.Invalid, false, OptedOut},
		{&Error{Outcome: InvalidRecipient, Code: "UNREGISTERED"}, apperr.Invalid, false, InvalidRecipient},
	}
	for _, tt := range tests {
		wrapped := fmt.Errorf("send: %w", tt.err)
		if k := apperr.KindOf(wrapped); k != tt.kind || apperr.Retryable(k) != tt.retry {
			t.Errorf("%v: kind %v", tt.err, k)
		}
		if OutcomeOf(wrapped) != tt.outcome {
			t.Errorf("%v: outcome %v", tt.err, OutcomeOf(wrapped))
		}
	}
	if RetryAfter(fmt.Errorf("x: %w", tests[0].err)) != 2*time.Second || RetryAfter(errors.New("x")) != 0 {
		t.Error("RetryAfter")
	}
	if OutcomeOf(errors.New("unclassified")) != Retry {
		t.Error("an unclassified error is worth another try")
	}
	cause := errors.New("boom")
	if !errors.Is(&Error{Outcome: Retry, Err: cause}, cause) {
		t.Error("the cause is lost")
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tt := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"7", 7 * time.Second}, {"-1", 0}, {"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	} {
		if got := ParseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestTransportError(t *testing.T) {
	refused := &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}
	if e := TransportError("x", refused); e.MaybeSent || e.Outcome != Retry {
		t.Errorf("refused connection: %+v", e)
	}
	if e := TransportError("x", context.DeadlineExceeded); !e.MaybeSent || e.Outcome != Retry {
		t.Errorf("timeout: %+v", e)
	}
	if e := TransportError("x", &net.DNSError{Err: "no such host"}); e.MaybeSent {
		t.Errorf("dns: %+v", e)
	}
}

type countingSource struct {
	calls int
	err   error
}

func (c *countingSource) Get(_ context.Context, tenant, name string) (integration.Settings, error) {
	c.calls++
	if c.err != nil {
		return integration.Settings{}, c.err
	}
	if tenant == "none" {
		return integration.Settings{}, apperr.E(apperr.NotFound, "no")
	}
	return integration.Settings{Name: name, Config: map[string]string{"k": tenant}}, nil
}

func TestSettingsCache(t *testing.T) {
	now := time.Unix(0, 0)
	src := &countingSource{}
	s := NewSettings(src, time.Minute, func() time.Time { return now })
	ctx := context.Background()
	for range 3 {
		if st, err := s.Get(ctx, "t1", "twilio"); err != nil || st.Config["k"] != "t1" {
			t.Fatal(st, err)
		}
	}
	if src.calls != 1 {
		t.Fatalf("%d reads for three gets", src.calls)
	}
	now = now.Add(2 * time.Minute)
	_, _ = s.Get(ctx, "t1", "twilio")
	if src.calls != 2 {
		t.Fatal("an expired entry was not read again")
	}
	_, err := s.Get(ctx, "none", "fcm")
	var ce *Error
	if !errors.As(err, &ce) || ce.Outcome != Failed || ce.Code != "not_configured" {
		t.Fatalf("unconfigured: %v", err)
	}
	src.err = errors.New("dynamodb down")
	_, err = s.Get(ctx, "t2", "fcm")
	if OutcomeOf(err) != Retry {
		t.Fatalf("read failure: %v", err)
	}
	_, _ = s.Get(ctx, "t2", "fcm")
	if src.calls != 5 {
		t.Fatalf("a failed read was cached (%d calls)", src.calls)
	}
}

func TestKey(t *testing.T) {
	if Key("c1", "A", "cust", "sms") != "c1#A#cust#sms" {
		t.Error("Key")
	}
}
