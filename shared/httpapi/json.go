package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

// DecodeJSON decodes the request body into v strictly: unknown fields,
// wrong types, trailing data and empty bodies are apperr.Invalid naming the
// problem (and the field when there is one); a body over the size limit is
// apperr.TooLarge.
func DecodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	var extra json.RawMessage
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil && tooLarge(err):
		return jsonError(err)
	}
	return apperr.E(apperr.Invalid, "request body has data after the JSON value")
}

func tooLarge(err error) bool {
	var mb *http.MaxBytesError
	return errors.As(err, &mb)
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case tooLarge(err):
		var mb *http.MaxBytesError
		errors.As(err, &mb)
		return apperr.E(apperr.TooLarge, "request body exceeds the limit of %d bytes", mb.Limit)
	case errors.Is(err, io.EOF):
		return apperr.E(apperr.Invalid, "request body is empty; a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.E(apperr.Invalid, "request body is truncated JSON")
	case errors.As(err, &syn):
		return apperr.E(apperr.Invalid, "request body is not valid JSON (at byte %d): %s", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return apperr.E(apperr.Invalid, "request body must be a JSON %s, not %s", typ.Type.Kind(), typ.Value)
		}
		return &apperr.Error{Kind: apperr.Invalid, Field: field, Message: fmt.Sprintf("field %q must be %s, not %s", field, jsonKind(typ.Type.Kind().String()), typ.Value)}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return &apperr.Error{Kind: apperr.Invalid, Field: name, Message: fmt.Sprintf("unknown field %q", name)}
	}
	return apperr.Wrap(apperr.Invalid, err, "request body is not acceptable JSON")
}

func jsonKind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"), strings.HasPrefix(k, "float"):
		return "a number"
	case k == "string":
		return "a string"
	case k == "bool":
		return "true or false"
	case k == "slice", k == "array":
		return "an array"
	case k == "map", k == "struct":
		return "an object"
	}
	return "a " + k
}

// WriteJSON writes v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"title":"internal error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Field     string `json:"field,omitempty"`
	RequestID string `json:"requestId,omitempty"`
}

// WriteProblem renders err as application/problem+json with the status of
// its apperr kind (or status, when given). Server errors are logged here,
// once, with the request's context; their detail is never shown.
func WriteProblem(w http.ResponseWriter, r *http.Request, err error, status ...int) {
	kind := apperr.KindOf(err)
	code := apperr.HTTPStatus(kind)
	if len(status) > 0 {
		code = status[0]
	}
	if code >= 500 {
		if l, ok := r.Context().Value(loggerKey).(*slog.Logger); ok {
			l.ErrorContext(r.Context(), "request failed", "status", code, "err", err)
		}
	}
	p := Problem{
		Type:      "https://pulsehub.dev/problems/" + kind.String(),
		Title:     http.StatusText(code),
		Status:    code,
		Detail:    apperr.Message(err),
		RequestID: w.Header().Get("X-Request-Id"),
	}
	var ae *apperr.Error
	if errors.As(err, &ae) {
		p.Field = ae.Field
		if kind == apperr.RateLimited {
			w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(ae.RetryAfter)))
		}
	}
	if kind == apperr.Transient {
		w.Header().Set("Retry-After", "1")
	}
	b, _ := json.Marshal(p)
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

func retrySeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
