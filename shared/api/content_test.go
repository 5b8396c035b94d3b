package api

import (
	"strings"
	"testing"
)

func TestContentSuggest(t *testing.T) {
	h := newHarness(t, Options{})
	owner := h.signup("content", "owner@content.test").str("accessToken")
	r := h.must(200, "POST", "/v1/content/suggest", owner, `{"channel":"sms","brief":"20% off winter boots this weekend, code WARM20","tone":"urgent","variants":2}`)
	items, _ := r.Body["items"].([]any)
	if r.str("engine") != "offline" || len(items) != 2 || !strings.Contains(r.str("notice"), "No AI model is configured") {
		t.Fatalf("%s", r.Raw)
	}
	first := items[0].(map[string]any)
	checks := first["checks"].(map[string]any)
	if !strings.Contains(first["body"].(string), "20% off winter boots this weekend") || first["subject"] != nil || checks["ok"] != true ||
		!strings.Contains(r.Raw, `"variables":["shop.name","shop.url"]`) {
		t.Fatalf("%s", r.Raw)
	}
	for body, field := range map[string]string{
		`{"channel":"fax","brief":"x"}`:                   "channel",
		`{"channel":"email"}`:                             "brief",
		`{"channel":"email","brief":"x","variants":9}`:    "variants",
		`{"channel":"email","brief":"x","colour":"blue"}`: "colour",
	} {
		r := h.must(400, "POST", "/v1/content/suggest", owner, body)
		if r.str("field") != field || r.str("detail") == "" {
			t.Errorf("%s: %s", body, r.Raw)
		}
	}
}
