// Package apperr classifies errors once, at the place that knows what went
// wrong, so the edges (HTTP handlers, SQS batch reports, the CLI) can map a
// kind to a status code or a retry decision from one table.
package apperr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Kind is the small set of error classes the whole system uses.
type Kind int

const (
	Internal Kind = iota // unexpected: a bug or an unclassified failure
	Invalid              // the caller sent something wrong; retrying will not help
	Unauthorized
	Forbidden
	NotFound
	Conflict
	TooLarge
	RateLimited
	Transient // a dependency hiccup; retrying later should succeed
)

var kindNames = [...]string{"internal", "invalid", "unauthorized", "forbidden", "not_found", "conflict", "too_large", "rate_limited", "transient"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error carries a kind and a message that is safe to show to the caller.
type Error struct {
	Kind       Kind
	Message    string        // shown to the caller (problem+json detail)
	Field      string        // optional: the input field at fault
	RetryAfter time.Duration // for RateLimited
	Err        error         // the cause, for logs only
}

func (e *Error) Error() string {
	switch {
	case e.Err != nil && e.Message != "":
		return e.Message + ": " + e.Err.Error()
	case e.Err != nil:
		return e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// E builds a classified error with a caller-safe message.
func E(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Wrap classifies err, keeping it as the cause.
func Wrap(kind Kind, err error, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...), Err: err}
}

// KindOf returns the kind of the first classified error in err's chain.
// A context deadline is transient; anything unclassified is internal.
func KindOf(err error) Kind {
	if err == nil {
		return Internal
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Transient
	}
	return Internal
}

// Message returns the caller-safe message of err: its classified message, or
// a generic text for internal errors so no detail leaks.
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Kind != Internal && e.Message != "" {
		return e.Message
	}
	return "internal error"
}

// KindOfAll is the kind of a partial failure made of errs: the first
// retryable kind if any part is retryable (so a queue consumer retries the
// whole and dedupes what did succeed), else the first part's kind.
func KindOfAll(errs []error) Kind {
	for _, err := range errs {
		if k := KindOf(err); Retryable(k) {
			return k
		}
	}
	if len(errs) == 0 {
		return Internal
	}
	return KindOf(errs[0])
}

// HTTPStatus maps a kind to its HTTP status. This is the only such table.
func HTTPStatus(k Kind) int {
	switch k {
	case Invalid:
		return http.StatusBadRequest
	case Unauthorized:
		return http.StatusUnauthorized
	case Forbidden:
		return http.StatusForbidden
	case NotFound:
		return http.StatusNotFound
	case Conflict:
		return http.StatusConflict
	case TooLarge:
		return http.StatusRequestEntityTooLarge
	case RateLimited:
		return http.StatusTooManyRequests
	case Transient:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// Retryable says whether a queue consumer should let the message be
// redelivered (true) or treat it as poison and dead-letter it (false).
// This is the only such table.
func Retryable(k Kind) bool {
	switch k {
	case Transient, RateLimited, Internal, Conflict:
		return true
	}
	return false
}
