package apperr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
)

func TestKindOf(t *testing.T) {
	tests := []struct {
		err  error
		want Kind
	}{
		{E(NotFound, "customer %s", "c1"), NotFound},
		{fmt.Errorf("store.Get: %w", E(Conflict, "exists")), Conflict},
		{fmt.Errorf("wrap: %w", context.DeadlineExceeded), Transient},
		{errors.New("boom"), Internal},
		{nil, Internal},
	}
	for _, tt := range tests {
		if got := KindOf(tt.err); got != tt.want {
			t.Errorf("KindOf(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestMessageHidesInternalDetail(t *testing.T) {
	if got := Message(errors.New("dynamodb: secret table name")); got != "internal error" {
		t.Errorf("Message leaked %q", got)
	}
	if got := Message(Wrap(Invalid, errors.New("x"), "field %q is required", "email")); got != `field "email" is required` {
		t.Errorf("Message = %q", got)
	}
}

func TestTables(t *testing.T) {
	tests := []struct {
		kind   Kind
		status int
		retry  bool
	}{
		{Invalid, http.StatusBadRequest, false},
		{Unauthorized, 401, false},
		{Forbidden, 403, false},
		{NotFound, 404, false},
		{Conflict, 409, true},
		{TooLarge, 413, false},
		{RateLimited, 429, true},
		{Transient, 503, true},
		{Internal, 500, true},
	}
	for _, tt := range tests {
		if got := HTTPStatus(tt.kind); got != tt.status {
			t.Errorf("HTTPStatus(%v) = %d, want %d", tt.kind, got, tt.status)
		}
		if got := Retryable(tt.kind); got != tt.retry {
			t.Errorf("Retryable(%v) = %v, want %v", tt.kind, got, tt.retry)
		}
	}
}
