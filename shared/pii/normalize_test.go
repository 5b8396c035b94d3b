package pii

import (
	"strings"
	"testing"
)

func TestNormalizePhone(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"+1 (555) 123-4567", "+15551234567"},
		{"0044 20 7946 0958", "+442079460958"},
		{" +49.151.12345678 ", "+4915112345678"},
		{"5551234567", ""},
		{"+1 555 CALL NOW", ""},
		{"+123", ""},
		{"+0123456789", ""},
		{"+1234567890123456", ""},
	} {
		got, err := NormalizePhone(tc.in)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	if got := NormalizeEmail("  Ann.Lee@Example.COM\t"); got != "ann.lee@example.com" {
		t.Fatal(got)
	}
}

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"+1 (555) 123-4567", "0044 20", "", "+", "++1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := NormalizePhone(s)
		if err != nil {
			return
		}
		if !strings.HasPrefix(out, "+") || len(out) < 9 || len(out) > 16 || strings.Trim(out[1:], "0123456789") != "" {
			t.Fatalf("NormalizePhone(%q) = %q", s, out)
		}
		if again, err := NormalizePhone(out); err != nil || again != out {
			t.Fatalf("not idempotent: %q → %q, %v", out, again, err)
		}
	})
}

func FuzzParseSealed(f *testing.F) {
	for _, s := range []string{"pii1.0001.AAAA", "pii1..", "pii1.0001.", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, _, err := parseSealed(s)
		if err == nil && (id == "" || strings.Contains(id, ".")) {
			t.Fatalf("parseSealed(%q) id %q", s, id)
		}
	})
}
