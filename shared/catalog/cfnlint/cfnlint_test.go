package cfnlint

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestRun lints a clean and a broken template in one run (cfn-lint takes
// seconds to start): only the broken one has findings, and they are errors.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	clean := write("clean.yaml", "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n")
	bad := write("bad.yaml", "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties:\n      Colour: red\n")
	fs, err := Run(nil, clean, bad)
	if err != nil || len(fs) == 0 {
		t.Fatalf("Run = %v, %v", fs, err)
	}
	for _, f := range fs {
		if f.Filename != bad || f.Level != "Error" {
			t.Errorf("finding %s, want only errors in %s", f, bad)
		}
	}
}

// TestRunRefusesWhatIsNotALint: a stand-in cfn-lint on PATH answers as a
// crash would; none of these may pass as "warnings only".
func TestRunRefusesWhatIsNotALint(t *testing.T) {
	const warning = `[{"Level":"Warning","Message":"w","Filename":"t.yaml","Rule":{"Id":"W1"},"Location":{"Start":{"LineNumber":1}}}]`
	const failure = `[{"Level":"Error","Message":"e","Filename":"t.yaml","Rule":{"Id":"E1"},"Location":{"Start":{"LineNumber":1}}}]`
	for _, tt := range []struct {
		name   string
		stdout string
		exit   int
		ok     bool
	}{
		{"crash before any output", "", 1, false},
		{"crash after the report", "[]", 1, false},
		{"not a report", "Traceback (most recent call last):", 0, false},
		{"fatal status bit", "[]", 32, false},
		{"errors hidden by the status", failure, 0, false},
		{"errors", failure, 2, true}, // a report; Check fails on its errors
		{"warnings only", warning, 4, true},
		{"clean", "[]", 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			script := "#!/bin/sh\ncat <<'EOF'\n" + tt.stdout + "\nEOF\necho 'stand-in cfn-lint' >&2\nexit " + strconv.Itoa(tt.exit) + "\n"
			if err := os.WriteFile(filepath.Join(dir, "cfn-lint"), []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
			_, err := Run(nil, "t.yaml")
			if (err == nil) != tt.ok {
				t.Fatalf("Run: %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
