// Package cfnlint runs cfn-lint over CloudFormation templates for the tests
// of the SAM template (shared/catalog/sam) and the CDK stack (infra/stack).
// cfn-lint is a test requirement (.ci/run installs it); a run passes only
// when cfn-lint read every template to the end and found no error.
package cfnlint

import (
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// Exit status bits of cfn-lint: 2 errors, 4 warnings, 8 informational
// findings. Anything else (1 for a template it could not parse or a crash,
// 16 and up, a signal) means the lint did not happen as asked.
const (
	exitError   = 2
	exitWarning = 4
	exitInfo    = 8
)

// Finding is one cfn-lint result (its JSON output).
type Finding struct {
	Level    string
	Message  string
	Filename string
	Rule     struct {
		ID string `json:"Id"`
	}
	Location struct {
		Start struct{ LineNumber int }
	}
}

func (f Finding) String() string {
	return fmt.Sprintf("%s %s %s:%d: %s", f.Level, f.Rule.ID, f.Filename, f.Location.Start.LineNumber, f.Message)
}

// Check runs cfn-lint over paths, with the rules in ignore turned off, and
// fails t on any error finding or when cfn-lint did not complete; warnings
// and informational findings are logged.
func Check(t testing.TB, ignore []string, paths ...string) {
	t.Helper()
	if _, err := exec.LookPath("cfn-lint"); err != nil {
		t.Fatal("cfn-lint is not on PATH: `.ci/run` installs it (a venv under .local/ on systems that refuse a system pip install); see README")
	}
	findings, err := Run(ignore, paths...)
	if err != nil {
		t.Fatal(err)
	}
	var errs, other []string
	for _, f := range findings {
		if f.Level == "Error" {
			errs = append(errs, f.String())
		} else {
			other = append(other, f.String())
		}
	}
	if len(other) > 0 {
		t.Logf("cfn-lint: %d warnings and informational findings:\n%s", len(other), strings.Join(other, "\n"))
	}
	if len(errs) > 0 {
		t.Fatalf("cfn-lint: %d errors:\n%s", len(errs), strings.Join(errs, "\n"))
	}
}

// Run runs cfn-lint and returns its findings; the error says why there
// are none to trust (cfn-lint crashed, could not parse a template, or
// answered with an exit status that does not match its findings).
func Run(ignore []string, paths ...string) ([]Finding, error) {
	args := []string{"--format", "json"}
	if len(ignore) > 0 {
		args = append(args, "--ignore-checks")
		args = append(args, ignore...)
	}
	args = append(append(args, "--"), paths...)
	cmd := exec.Command("cfn-lint", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	status := 0
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitCode() > 0:
		status = exit.ExitCode()
	default:
		return nil, fmt.Errorf("cfn-lint did not run to the end: %v\n%s", err, stderr.String())
	}
	var findings []Finding
	if jerr := json.Unmarshal(out, &findings); jerr != nil {
		return nil, fmt.Errorf("cfn-lint (exit %d) gave no findings report (%v):\n%s\n%s", status, jerr, out, stderr.String())
	}
	if status&^(exitError|exitWarning|exitInfo) != 0 {
		return findings, fmt.Errorf("cfn-lint failed (exit %d): it could not lint every template:\n%s\n%s", status, list(findings), stderr.String())
	}
	hasError := false
	for _, f := range findings {
		hasError = hasError || f.Level == "Error"
	}
	if hasError != (status&exitError != 0) {
		return findings, fmt.Errorf("cfn-lint's exit status %d does not match its findings:\n%s", status, list(findings))
	}
	return findings, nil
}

func list(fs []Finding) string {
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = f.String()
	}
	return strings.Join(s, "\n")
}
