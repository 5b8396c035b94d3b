package meta

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/testenv"
)

// FuzzSendResponse drives Client.Send with any Conversions API answer: it
// never panics, a Graph API error object or an HTTP failure is never a
// success, and a success counts what Meta said it received.
func FuzzSendResponse(f *testing.F) {
	f.Add(uint16(200), []byte(`{"events_received":1,"messages":[],"fbtrace_id":"ABCdef123"}`))
	f.Add(uint16(400), []byte(`{"error":{"message":"Invalid parameter","type":"OAuthException","code":100,"error_subcode":2804003,`+
		`"is_transient":false,"error_user_title":"Event Timestamp Too Old","fbtrace_id":"AbC"}}`))
	f.Add(uint16(400), []byte(`{"error":{"message":"Error validating access token","type":"OAuthException","code":190,"fbtrace_id":"x"}}`))
	f.Add(uint16(200), []byte(`{"error":{"message":"(#4) Application request limit reached","type":"OAuthException","code":4,"is_transient":true}}`))
	f.Add(uint16(500), []byte(`{"error":{"message":"An unknown error occurred","type":"OAuthException","code":1,"is_transient":true}}`))
	f.Add(uint16(200), []byte(`{"error":{"code":"x"},"events_received":"1"}`))
	f.Add(uint16(502), []byte(`<html>Bad Gateway</html>`))
	f.Add(uint16(200), []byte(`<html>OK</html>`))
	f.Fuzz(func(t *testing.T, status uint16, body []byte) {
		if status < 100 || status > 599 {
			return
		}
		c := NewClient(&http.Client{Transport: testenv.Respond{Status: int(status), Body: body}}, "https://graph.example", "v21.0", "px1", "tok", "secret")
		now := time.Now()
		res, err := c.Send(context.Background(), []Event{{EventName: "Purchase", EventTime: now.Unix(), EventID: "e1", ActionSource: "website"}})
		var probe struct {
			Error          map[string]any `json:"error"`
			EventsReceived int            `json:"events_received"`
		}
		decoded := json.Unmarshal(body, &probe) == nil
		if err != nil {
			return
		}
		if status/100 != 2 || !decoded || probe.Error != nil {
			t.Fatalf("status %d body %q was a success", status, body)
		}
		if res.Batches != 1 || res.Received != probe.EventsReceived {
			t.Fatalf("result %+v from %q", res, body)
		}
	})
}
