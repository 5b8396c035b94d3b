package config

import (
	"strings"
	"testing"

	"github.com/pulsehub/pulsehub/shared/catalog"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestLoad(t *testing.T) {
	fn, _ := catalog.System().Function("webhooks")
	tests := []struct {
		name    string
		env     map[string]string
		wantErr []string
	}{
		{"complete", map[string]string{
			"TABLE_NAME": "t", "QUEUE_URL_INGEST": "http://q", "PII_KMS_KEY_ID": "file:/k", "PUBLIC_BASE_URL": "https://x",
			"CURSOR_SECRET": "c",
		}, nil},
		{"missing keys are all named", map[string]string{"TABLE_NAME": "t"},
			[]string{"QUEUE_URL_INGEST is required", "PII_KMS_KEY_ID is required", "PUBLIC_BASE_URL is required", "CURSOR_SECRET is required"}},
		// No fallback: a secret derived from the table name would be guessable.
		{"cursor secret has no default", map[string]string{
			"TABLE_NAME": "t", "QUEUE_URL_INGEST": "http://q", "PII_KMS_KEY_ID": "file:/k", "PUBLIC_BASE_URL": "https://x",
			"CURSOR_SECRET": "  ",
		}, []string{"CURSOR_SECRET is required by webhooks"}},
		{"bad level and format", map[string]string{
			"TABLE_NAME": "t", "QUEUE_URL_INGEST": "http://q", "PII_KMS_KEY_ID": "k", "PUBLIC_BASE_URL": "https://x",
			"LOG_LEVEL": "loud", "LOG_FORMAT": "xml",
		}, []string{"LOG_LEVEL=\"loud\"", "LOG_FORMAT=\"xml\""}},
		{"bad url", map[string]string{
			"TABLE_NAME": "t", "QUEUE_URL_INGEST": "http://q", "PII_KMS_KEY_ID": "k", "PUBLIC_BASE_URL": "ftp://x",
		}, []string{"want an http(s) URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadFrom(env(tt.env), fn)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if c.QueueURL(catalog.QueueIngest) != "http://q" || c.LogFormat != "json" || string(c.CursorSecret) != "c" {
					t.Errorf("unexpected config %+v", c)
				}
				return
			}
			if err == nil {
				t.Fatal("want error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestProviderURLs(t *testing.T) {
	fn, _ := catalog.System().Function("ws-disconnect")
	c, err := LoadFrom(env(map[string]string{"TABLE_NAME": "t", "CURSOR_SECRET": "c", "PROVIDER_URL_SENDGRID": "http://127.0.0.1:9/"}), fn)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.ProviderURLs["sendgrid"]; got != "http://127.0.0.1:9" {
		t.Errorf("sendgrid url = %q", got)
	}
}
