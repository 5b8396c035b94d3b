package coldstart

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/catalog"
)

// repoRoot is the root module, where functions/ live.
const repoRoot = "../.."

// helloSource is the baseline: the smallest aws-lambda-go function.
const helloSource = `package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ctx context.Context, in map[string]any) (map[string]any, error) {
		return map[string]any{"hello": "world"}, nil
	})
}
`

// helloSDKSource is hello world plus what every PulseHub function pays for
// before its own code: the AWS SDK's default config and a DynamoDB client.
// It tells the SDK's share of init apart from PulseHub's.
const helloSDKSource = `package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

func main() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		panic(err)
	}
	db := dynamodb.NewFromConfig(cfg)
	lambda.Start(func(ctx context.Context, in map[string]any) (map[string]any, error) {
		_ = db
		return map[string]any{"hello": "world"}, nil
	})
}
`

// sampleEvent is the events/ file each function gets as its first invocation.
var sampleEvent = map[string]string{
	"api":           "http-get-me.json",
	"webhooks":      "http-webhook-shopify-orders-create.json",
	"ingest":        "sqs-ingest.json",
	"ws-connect":    "ws-connect.json",
	"ws-disconnect": "ws-disconnect.json",
	"ws-message":    "ws-message-ping.json",
	"chat":          "sqs-chat.json",
	"sync":          "eventbridge-scheduled.json",
	"segment":       "eventbridge-scheduled.json",
	"scheduler":     "eventbridge-scheduled.json",
	"analytics":     "eventbridge-order-created.json",
}

// build compiles pkg (relative to the repo root) the way `make build` does,
// for goarch, into dir/bootstrap.
func build(pkg, goarch, dir string) (string, error) {
	out := filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-tags", "lambda.norpc", "-o", out, pkg)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+goarch, "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s (%s): %v: %s", pkg, goarch, err, lastLine(string(msg)))
	}
	return out, nil
}

// zipSize is the size of the deployment zip holding bootstrap.
func zipSize(b *testing.B, bootstrap string) int {
	b.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "bootstrap", Method: zip.Deflate})
	if err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(bootstrap)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(w, f); err != nil {
		b.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Len()
}

func fileSize(b *testing.B, path string) int {
	b.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return int(fi.Size())
}

// env is the environment of a cold start: every catalog key the function
// needs, with AWS endpoints pointing at a closed port (or the emulators
// when the caller set AWS_ENDPOINT_URL_*), and no retries so an unreachable
// service fails fast instead of timing the SDK's backoff.
func env(f catalog.Function, tmp string) []string {
	out := []string{
		"AWS_LAMBDA_FUNCTION_NAME=pulsehub-bench-" + f.Name,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		fmt.Sprintf("AWS_LAMBDA_FUNCTION_MEMORY_SIZE=%d", max(f.MemoryMB, 128)),
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=bench", "AWS_SECRET_ACCESS_KEY=bench",
		"AWS_MAX_ATTEMPTS=1", "AWS_EC2_METADATA_DISABLED=true",
		"HOME=" + tmp, "PATH=" + os.Getenv("PATH"),
	}
	endpoint := "http://127.0.0.1:9"
	for _, k := range []string{"AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS"} {
		if v := os.Getenv(k); v != "" {
			out = append(out, k+"="+v)
		}
	}
	out = append(out, "AWS_ENDPOINT_URL="+endpoint)
	values := map[string]string{
		catalog.EnvTable:      "pulsehub-bench",
		catalog.EnvLogLevel:   "error",
		catalog.EnvBus:        "pulsehub-bench",
		catalog.EnvWSEndpoint: endpoint,
		catalog.EnvKMSKey:     "file:" + filepath.Join(tmp, "keys"),
		catalog.EnvJWTSecret:  "file:" + filepath.Join(tmp, "keys"),
		catalog.EnvSecrets:    "pulsehub/bench/providers/",
		catalog.EnvOpenAIBase: endpoint,
		catalog.EnvPublicURL:  "https://bench.example",
	}
	for _, k := range f.Env {
		v, ok := values[k]
		if !ok { // queue URLs
			v = endpoint + "/000000000000/" + strings.ToLower(k)
		}
		out = append(out, k+"="+v)
	}
	return out
}

// result of one cold start.
type result struct {
	init   time.Duration // process start → first /invocation/next
	invoke time.Duration // first /invocation/next answered → response or error posted
	status string        // "response", "error: …" or "init error: …"
}

// coldStart runs the binary once under a fresh runtime API server and
// serves it one event.
func coldStart(b *testing.B, bin string, environ []string, event []byte) result {
	b.Helper()
	srv := newRuntimeAPI(event)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(environ, "AWS_LAMBDA_RUNTIME_API="+strings.TrimPrefix(srv.URL, "http://"))
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var r result
	select {
	case d := <-srv.done:
		r = result{init: d.next.Sub(start), invoke: d.end.Sub(d.next), status: d.status}
	case err := <-exited:
		return result{status: fmt.Sprintf("exited before answering: %v: %s", err, lastLine(stderr.String()))}
	case <-ctx.Done():
		r.status = "timeout"
	}
	cmd.Process.Kill()
	<-exited
	return r
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

type measured struct {
	next, end time.Time
	status    string
}

type runtimeAPI struct {
	*httptest.Server
	done chan measured
}

// newRuntimeAPI serves the Lambda Runtime API endpoints the Go runtime
// client uses: one event on the first /invocation/next, then it holds
// further polls until the server closes.
func newRuntimeAPI(event []byte) *runtimeAPI {
	api := &runtimeAPI{done: make(chan measured, 1)}
	var mu sync.Mutex
	var m measured
	served := false
	finish := func(status string) {
		mu.Lock()
		defer mu.Unlock()
		m.end, m.status = time.Now(), status
		select {
		case api.done <- m:
		default:
		}
	}
	mux := http.NewServeMux()
	const base = "/2018-06-01/runtime"
	mux.HandleFunc("GET "+base+"/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		first := !served
		served = true
		if first {
			m.next = time.Now()
		}
		mu.Unlock()
		if !first {
			<-r.Context().Done()
			return
		}
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", "bench-request-1")
		h.Set("Lambda-Runtime-Deadline-Ms", fmt.Sprint(time.Now().Add(time.Minute).UnixMilli()))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:bench")
		h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
		h.Set("Content-Type", "application/json")
		w.Write(event)
	})
	mux.HandleFunc("POST "+base+"/invocation/{id}/response", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
		finish("response")
	})
	mux.HandleFunc("POST "+base+"/invocation/{id}/error", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 300))
		w.WriteHeader(http.StatusAccepted)
		finish("error: " + string(body))
	})
	mux.HandleFunc("POST "+base+"/init/error", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 300))
		w.WriteHeader(http.StatusAccepted)
		mu.Lock()
		m.next = time.Now()
		mu.Unlock()
		finish("init error: " + string(body))
	})
	api.Server = httptest.NewServer(mux)
	return api
}

type subject struct {
	name     string
	pkg      string
	fn       catalog.Function
	event    []byte
	bin      string // linux/GOARCH of this machine, to run
	armSize  int    // linux/arm64 binary, as deployed
	armZip   int
	buildErr error // the function does not build: its benchmark fails
}

var (
	setupOnce sync.Once
	subjects  []*subject
	baseline  time.Duration
	workDir   string
)

// setup builds hello world and every deployable function with code, for
// this machine and for arm64, and measures the hello-world baseline.
func setup(b *testing.B) {
	setupOnce.Do(func() {
		if runtime.GOOS != "linux" {
			b.Fatalf("the cold-start benchmark runs Linux binaries; this is %s", runtime.GOOS)
		}
		var err error
		workDir, err = os.MkdirTemp("", "pulsehub-coldstart-")
		if err != nil {
			b.Fatal(err)
		}
		// The hello-world source lives under build/ (ignored by git) so it
		// builds with the root module's aws-lambda-go version.
		for dir, src := range map[string]string{"coldstart-hello": helloSource, "coldstart-hello-sdk": helloSDKSource} {
			dir = filepath.Join(repoRoot, "build", dir)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		all := []*subject{
			{name: "hello", pkg: "./build/coldstart-hello", event: []byte(`{}`), fn: catalog.Function{Name: "hello", MemoryMB: 128}},
			{name: "hello-sdk", pkg: "./build/coldstart-hello-sdk", event: []byte(`{}`), fn: catalog.Function{Name: "hello-sdk", MemoryMB: 128}},
		}
		for _, f := range catalog.System().Deployable() {
			if _, err := os.Stat(filepath.Join(repoRoot, f.Dir(), "main.go")); err != nil {
				continue // listed but its code has not landed in this tree yet
			}
			ev, err := os.ReadFile(filepath.Join(repoRoot, "events", sampleEvent[f.Name]))
			if err != nil || sampleEvent[f.Name] == "" {
				ev = []byte(`{}`)
			}
			all = append(all, &subject{name: f.Name, pkg: "./" + f.Dir(), fn: f, event: ev})
		}
		for _, s := range all {
			dir := filepath.Join(workDir, s.name)
			var arm string
			s.bin, err = build(s.pkg, runtime.GOARCH, filepath.Join(dir, "native"))
			if err == nil {
				arm, err = build(s.pkg, "arm64", filepath.Join(dir, "arm64"))
			}
			if err != nil {
				// Reported as that function's failure; the others are
				// still measured.
				s.buildErr = err
				continue
			}
			s.armSize, s.armZip = fileSize(b, arm), zipSize(b, arm)
		}
		if all[0].buildErr != nil {
			b.Fatalf("hello world: %v", all[0].buildErr)
		}
		subjects = all
		var inits []time.Duration
		for range 7 {
			r := coldStart(b, all[0].bin, env(all[0].fn, workDir), all[0].event)
			if r.status != "response" {
				b.Fatalf("hello world: %s", r.status)
			}
			inits = append(inits, r.init)
		}
		slices.Sort(inits)
		baseline = inits[len(inits)/2]
	})
}

// BenchmarkColdStart starts each function's bootstrap under a local Runtime
// API and reports, per function: init (process start → first
// /invocation/next), the first invocation, init as a multiple of hello
// world's (goal ≤ 1.5), and the arm64 binary and zip sizes.
//
//	(cd infra && go test -run '^$' -bench ColdStart -benchtime 10x ./coldstart/)
func BenchmarkColdStart(b *testing.B) {
	setup(b)
	for _, s := range subjects {
		b.Run(s.name, func(b *testing.B) {
			if s.buildErr != nil {
				b.Fatalf("%s does not build: %v", s.name, s.buildErr)
			}
			tmp := b.TempDir()
			environ := env(s.fn, tmp)
			var initSum, invokeSum time.Duration
			status := ""
			for b.Loop() {
				r := coldStart(b, s.bin, environ, s.event)
				if r.init == 0 {
					b.Fatalf("%s did not reach /invocation/next: %s", s.name, r.status)
				}
				initSum += r.init
				invokeSum += r.invoke
				status = r.status
			}
			n := float64(b.N)
			initMs := float64(initSum.Microseconds()) / 1000 / n
			b.ReportMetric(initMs, "init-ms")
			b.ReportMetric(float64(invokeSum.Microseconds())/1000/n, "invoke1-ms")
			b.ReportMetric(initMs/(float64(baseline.Microseconds())/1000), "x-hello")
			b.ReportMetric(float64(s.armSize)/1e6, "bin-MB")
			b.ReportMetric(float64(s.armZip)/1e6, "zip-MB")
			b.Logf("%s: first invocation ended with %s", s.name, truncate(status, 160))
		})
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func TestMain(m *testing.M) {
	code := m.Run()
	if workDir != "" {
		os.RemoveAll(workDir)
		// The baseline sources must not linger in the root module's tree.
		os.RemoveAll(filepath.Join(repoRoot, "build", "coldstart-hello"))
		os.RemoveAll(filepath.Join(repoRoot, "build", "coldstart-hello-sdk"))
	}
	os.Exit(code)
}
