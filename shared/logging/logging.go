// Package logging builds the slog logger every function uses: JSON in Lambda
// (CloudWatch parses it), readable text in a local terminal. Request id,
// function and tenant travel in the context and are added to every record,
// so call sites only log what is specific to them.
package logging

import (
	"context"
	"io"
	"log/slog"
)

// New returns a logger writing to w in format "json" or "text".
func New(w io.Writer, format string, level slog.Leveler, function string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	if format == "text" {
		h = slog.NewTextHandler(w, opts)
	} else {
		h = slog.NewJSONHandler(w, opts)
	}
	l := slog.New(contextHandler{h})
	if function != "" {
		l = l.With("function", function)
	}
	return l
}

type ctxKey struct{}

// With returns a context whose log records carry attrs (request id, tenant…).
func With(ctx context.Context, attrs ...slog.Attr) context.Context {
	prev, _ := ctx.Value(ctxKey{}).([]slog.Attr)
	merged := make([]slog.Attr, 0, len(prev)+len(attrs))
	merged = append(merged, prev...)
	merged = append(merged, attrs...)
	return context.WithValue(ctx, ctxKey{}, merged)
}

// Attrs returns the attributes stored in ctx by With.
func Attrs(ctx context.Context) []slog.Attr {
	a, _ := ctx.Value(ctxKey{}).([]slog.Attr)
	return a
}

// Standard attribute keys.
const (
	KeyRequestID = "requestId"
	KeyTenant    = "tenant"
	KeyUser      = "user"
)

// RequestID and Tenant are shorthands for the common attributes.
func RequestID(id string) slog.Attr { return slog.String(KeyRequestID, id) }
func Tenant(id string) slog.Attr    { return slog.String(KeyTenant, id) }

type contextHandler struct{ slog.Handler }

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if attrs := Attrs(ctx); len(attrs) > 0 {
		r = r.Clone()
		r.AddAttrs(attrs...)
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(attrs)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}
