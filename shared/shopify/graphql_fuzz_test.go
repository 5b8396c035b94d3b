package shopify

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/testenv"
)

// FuzzDoResponse drives Client.Do with any Admin API answer: it never
// panics, and a response carrying GraphQL errors, or an HTTP failure, is
// never a success.
func FuzzDoResponse(f *testing.F) {
	f.Add(uint16(200), []byte(`{"data":{"shop":{"name":"Shop"}},"extensions":{"cost":{"requestedQueryCost":1,"actualQueryCost":1,`+
		`"throttleStatus":{"maximumAvailable":2000.0,"currentlyAvailable":1999,"restoreRate":100.0}}}}`))
	f.Add(uint16(200), []byte(`{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED","documentation":"https://shopify.dev/api/usage/rate-limits"}}],`+
		`"extensions":{"cost":{"requestedQueryCost":752,"actualQueryCost":null,"throttleStatus":{"maximumAvailable":1000.0,"currentlyAvailable":0,"restoreRate":50.0}}}}`))
	f.Add(uint16(200), []byte(`{"errors":[{"message":"Field 'x' doesn't exist on type 'QueryRoot'","locations":[{"line":1,"column":3}],"path":["query","x"],`+
		`"extensions":{"code":"undefinedField","typeName":"QueryRoot","fieldName":"x"}}]}`))
	f.Add(uint16(200), []byte(`{"data":null,"errors":[null]}`))
	f.Add(uint16(429), []byte(`{"errors":"Throttled"}`))
	f.Add(uint16(401), []byte(`{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}`))
	f.Add(uint16(503), []byte(`<html>down</html>`))
	f.Add(uint16(200), []byte(`{"data":{},"extensions":{"cost":{"throttleStatus":{"maximumAvailable":-1,"currentlyAvailable":1e308,"restoreRate":1e-300}}}}`))
	f.Fuzz(func(t *testing.T, status uint16, body []byte) {
		if status < 100 || status > 599 {
			return
		}
		c := NewClient(&http.Client{Transport: testenv.Respond{Status: int(status), Body: body}}, "https://shop.example/admin/api/2025-01/graphql.json", "tok")
		c.Sleep = func(context.Context, time.Duration) error { return nil }
		var out any
		err := c.Do(context.Background(), "{ shop { name } }", nil, &out)
		var probe struct {
			Errors json.RawMessage `json:"errors"`
		}
		hasErrors := json.Unmarshal(body, &probe) == nil && len(probe.Errors) > 0 && !bytes.Equal(probe.Errors, []byte("null")) && !bytes.Equal(probe.Errors, []byte("[]"))
		if err == nil && (hasErrors || status == http.StatusTooManyRequests || status == http.StatusUnauthorized || status == http.StatusForbidden ||
			status == http.StatusNotFound || status >= 500) {
			t.Fatalf("status %d body %q was a success", status, body)
		}
		if err != nil && apperr.KindOf(err) == apperr.Unauthorized && status != http.StatusUnauthorized && status != http.StatusForbidden {
			t.Fatalf("status %d called the token rejected: %v", status, err)
		}
	})
}
