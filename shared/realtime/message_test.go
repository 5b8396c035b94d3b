package realtime

import (
	"testing"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{`{"action":"ping","requestId":"r"}`, `{"action":1}`, `{`, ` {"action":null}`, `[]`, ``} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, body string, b64 bool) {
		req, err := parseRequest(body, b64)
		if err != nil {
			if apperr.KindOf(err) != apperr.Invalid || apperr.Message(err) == "internal error" {
				t.Fatalf("%q: unclassified error %v", body, err)
			}
			return
		}
		if req.Action == "" {
			t.Fatalf("%q: accepted without an action", body)
		}
	})
}
