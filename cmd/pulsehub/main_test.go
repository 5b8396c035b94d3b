package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// noEnv is an empty environment, so the process's cannot change a test.
func noEnv(string) (string, bool) { return "", false }

func TestCLI(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"Records":[{"messageId":"m","body":7}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args       []string
		code       int
		wantStderr string
	}{
		{nil, 2, "usage: pulsehub COMMAND"},
		{[]string{"--help"}, 0, "invoke"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"dev", "--help"}, 0, "-addr"},
		{[]string{"invoke", "--help"}, 0, "invoke FUNCTION --event FILE"},
		{[]string{"migrate", "--help"}, 0, "-table"},
		{[]string{"invoke", "ingest"}, 2, "usage: pulsehub invoke"},
		{[]string{"invoke", "nope", "--event", bad}, 1, `unknown function "nope"`},
		{[]string{"invoke", "send", "--event", bad}, 1, `unknown function "send"`}, // planned, not deployable
		{[]string{"invoke", "ingest", "--event", bad}, 1, bad + ": Records[0].body: want a string, got a number"},
		{[]string{"invoke", "ingest", "--event", "missing.json"}, 1, "missing.json"},
		{[]string{"dev", "--bogus"}, 2, "flag provided but not defined"},
	}
	for _, tc := range tests {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tc.args, &stdout, &stderr, noEnv)
		if code != tc.code || !strings.Contains(stderr.String(), tc.wantStderr) {
			t.Errorf("pulsehub %v: exit %d, stderr %q; want exit %d and %q", tc.args, code, stderr.String(), tc.code, tc.wantStderr)
		}
	}
}
