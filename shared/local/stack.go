package local

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Endpoints are the AWS endpoints the functions and the runtime use.
type Endpoints struct {
	DynamoDB string
	SQS      string
}

// AWSEnv is the AWS part of a local function's environment: the emulators'
// and the local EventBridge's endpoints, plus a region and placeholder
// credentials where the process has none (the emulators accept any). It is
// passed to the functions and the runtime's own clients
// (lambdafn.AWSConfig) rather than set in the process environment.
func (e Endpoints) AWSEnv(eventsURL string, lookup func(string) (string, bool)) map[string]string {
	env := map[string]string{
		"AWS_ENDPOINT_URL_DYNAMODB":    e.DynamoDB,
		"AWS_ENDPOINT_URL_SQS":         e.SQS,
		"AWS_ENDPOINT_URL_EVENTBRIDGE": eventsURL,
	}
	for k, v := range map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"} {
		if cur, _ := lookup(k); cur == "" {
			env[k] = v
		}
	}
	return env
}

// Stack is the pair of emulators (DynamoDB Local and fauxqs) the runtime
// uses: reused from the environment, or started with localstack/stack.sh.
type Stack struct {
	Endpoints Endpoints
	repo      string
	started   bool // we started it, so Close stops it
	log       *slog.Logger
}

// ErrMissingTools is wrapped by the error StartStack returns when stack.sh
// reports missing java/node; its message is stack.sh's one line.
var ErrMissingTools = errors.New("missing tools for the local emulators")

// EnvEndpoints returns the endpoints set in the environment
// (AWS_ENDPOINT_URL_DYNAMODB/SQS, or AWS_ENDPOINT_URL for both).
func EnvEndpoints(lookup func(string) (string, bool)) (Endpoints, bool) {
	get := func(k string) string { v, _ := lookup(k); return strings.TrimSpace(v) }
	e := Endpoints{DynamoDB: get("AWS_ENDPOINT_URL_DYNAMODB"), SQS: get("AWS_ENDPOINT_URL_SQS")}
	if all := get("AWS_ENDPOINT_URL"); all != "" {
		e.DynamoDB = cmpOr(e.DynamoDB, all)
		e.SQS = cmpOr(e.SQS, all)
	}
	return e, e.DynamoDB != "" && e.SQS != ""
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// StartStack reuses the emulators named in the environment when reuse is
// true and they are set; otherwise it runs `localstack/stack.sh start dev`
// from repo (which itself reuses a running dev stack) and reads the env file
// it writes. Close stops the stack only if this call started it.
func StartStack(ctx context.Context, repo string, reuse bool, log *slog.Logger) (*Stack, error) {
	if e, ok := EnvEndpoints(os.LookupEnv); reuse && ok {
		log.Info("reusing AWS endpoints from the environment", "dynamodb", e.DynamoDB, "sqs", e.SQS)
		return &Stack{Endpoints: e, repo: repo, log: log}, nil
	}
	script := filepath.Join(repo, "localstack", "stack.sh")
	if _, err := os.Stat(script); err != nil {
		return nil, fmt.Errorf("local: %s not found: run from the repository root, or set AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_SQS", script)
	}
	// A dev stack someone else started (make localstack-up) is left running.
	alreadyUp := exec.CommandContext(ctx, "bash", script, "status", "dev").Run() == nil
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", script, "start", "dev")
	cmd.Dir = repo
	cmd.Stdout = &stderr
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		out := strings.TrimSpace(stderr.String())
		last := out
		if i := strings.LastIndex(out, "\n"); i >= 0 {
			last = out[i+1:]
		}
		if strings.Contains(last, "missing ") {
			return nil, fmt.Errorf("%w: %s", ErrMissingTools, last)
		}
		return nil, fmt.Errorf("local: localstack/stack.sh start dev failed: %s", out)
	}
	e, err := readEnvFile(filepath.Join(repo, ".local", "dev", "env"))
	if err != nil {
		return nil, err
	}
	log.Info("emulators ready", "dynamodb", e["AWS_ENDPOINT_URL_DYNAMODB"], "sqs", e["AWS_ENDPOINT_URL_SQS"], "reused", alreadyUp)
	return &Stack{
		Endpoints: Endpoints{DynamoDB: e["AWS_ENDPOINT_URL_DYNAMODB"], SQS: e["AWS_ENDPOINT_URL_SQS"]},
		repo:      repo, started: !alreadyUp, log: log,
	}, nil
}

// readEnvFile parses the `export K=V` lines stack.sh writes.
func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("local: read emulator env: %w", err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimPrefix(strings.TrimSpace(sc.Text()), "export ")
		if k, v, ok := strings.Cut(line, "="); ok {
			out[k] = strings.Trim(v, `"'`)
		}
	}
	if out["AWS_ENDPOINT_URL_DYNAMODB"] == "" || out["AWS_ENDPOINT_URL_SQS"] == "" {
		return nil, fmt.Errorf("local: %s lacks AWS_ENDPOINT_URL_DYNAMODB/SQS", path)
	}
	return out, sc.Err()
}

// DevEnvFile returns the endpoints of a running dev stack, if its env file exists.
func DevEnvFile(repo string) (Endpoints, bool) {
	e, err := readEnvFile(filepath.Join(repo, ".local", "dev", "env"))
	if err != nil {
		return Endpoints{}, false
	}
	return Endpoints{DynamoDB: e["AWS_ENDPOINT_URL_DYNAMODB"], SQS: e["AWS_ENDPOINT_URL_SQS"]}, true
}

// Close stops the emulators if StartStack started them.
func (s *Stack) Close(ctx context.Context) error {
	if s == nil || !s.started {
		return nil
	}
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(s.repo, "localstack", "stack.sh"), "stop", "dev")
	cmd.Dir = s.repo
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("local: stop emulators: %v: %s", err, bytes.TrimSpace(out))
	}
	s.log.Info("emulators stopped")
	return nil
}
