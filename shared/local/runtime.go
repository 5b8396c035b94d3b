package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/config"
	"github.com/pulsehub/pulsehub/shared/lambdafn"
	"github.com/pulsehub/pulsehub/shared/local/eventbus"
	"github.com/pulsehub/pulsehub/shared/local/gateway"
	"github.com/pulsehub/pulsehub/shared/local/sandbox"
	"github.com/pulsehub/pulsehub/shared/metrics"
	"github.com/pulsehub/pulsehub/shared/store"
)

// Options configure a Runtime. Zero values take the defaults in SetDefaults.
type Options struct {
	Addr     string // listen address; PULSEHUB_ADDR or 127.0.0.1:8080
	StateDir string // .local/dev
	RepoDir  string // where localstack/stack.sh lives; "."
	Prefix   string // physical resource prefix: "pulsehub" → table pulsehub-main
	Catalog  catalog.Catalog
	// Functions maps catalog names to constructors; Functions() by default.
	Functions map[string]lambdafn.Constructor
	// Seed runs after provisioning, before /healthz turns 200 (the demo workspace).
	Seed func(ctx context.Context, rt *Runtime) error
	// ReuseEndpoints uses AWS_ENDPOINT_URL_DYNAMODB/SQS from the environment
	// when set instead of starting the emulators.
	ReuseEndpoints bool
	// Providers are sandbox emulators besides the messaging ones (SendGrid,
	// Twilio, FCM, WhatsApp), which every runtime has.
	Providers []sandbox.Provider
	// Messaging is the messaging sandbox's engagement model and faults;
	// nil: sandbox.DefaultConfig().
	Messaging    *sandbox.Config
	Console      fs.FS // the web console's files (web.Files()); nil serves a small page
	Logger       *slog.Logger
	FunctionLogs io.Writer // where handlers log; os.Stderr
	Gateway      gateway.Limits
	// NoSchedules keeps the EventBridge schedules off (tests).
	NoSchedules bool
	// EventTap sees every domain event put on PulseHub's bus (eventbus.Options.Tap).
	EventTap func(events.CloudWatchEvent)
}

// SetDefaults fills the zero fields.
func (o *Options) SetDefaults() {
	if o.Addr == "" {
		o.Addr = cmpOr(os.Getenv("PULSEHUB_ADDR"), "127.0.0.1:8080")
	}
	if o.RepoDir == "" {
		o.RepoDir = "."
	}
	if o.StateDir == "" {
		o.StateDir = filepath.Join(o.RepoDir, ".local", "dev")
	}
	if o.Prefix == "" {
		o.Prefix = "pulsehub"
	}
	if len(o.Catalog.Functions) == 0 {
		o.Catalog = catalog.System()
	}
	if o.Functions == nil {
		o.Functions = Functions()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if o.FunctionLogs == nil {
		o.FunctionLogs = os.Stderr
	}
}

// Runtime is the whole platform in one process. Run starts it; Close stops
// everything it started.
type Runtime struct {
	opts    Options
	log     *slog.Logger
	metrics *Metrics
	inv     *Invoker
	ln      net.Listener
	srv     *http.Server
	baseURL string
	ready   atomic.Bool
	gw      atomic.Pointer[gateway.Gateway]

	stack    *Stack
	aws      aws.Config
	res      Resources
	bus      *eventbus.Bus
	awsEnv   map[string]string // endpoints, region and credentials of every AWS client here
	sandbox  *sandbox.Sandbox
	messages *sandbox.Messaging
	mappings []*Mapping
	stopBg   context.CancelFunc
	bg       sync.WaitGroup
	closed   sync.Once
	closeErr error
}

// New returns a Runtime; nothing starts until Run.
func New(opts Options) *Runtime {
	opts.SetDefaults()
	m := newMetrics()
	return &Runtime{opts: opts, log: opts.Logger, metrics: m, inv: newInvoker("us-east-1", "000000000000", opts.Logger, m)}
}

// Run listens, serves /healthz (503 until ready) and starts everything:
// emulators, provisioning, migrations, functions, triggers, the seed. It
// returns once the runtime is ready, or with the first error (call Close
// either way).
func (r *Runtime) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", r.opts.Addr)
	if err != nil {
		return fmt.Errorf("local: listen on %s (set PULSEHUB_ADDR to use another address): %w", r.opts.Addr, err)
	}
	if ip, ok := ln.Addr().(*net.TCPAddr); !ok || !ip.IP.IsLoopback() {
		ln.Close()
		return fmt.Errorf("local: %s is not a loopback address: the local runtime serves routes without authentication "+
			"(/dev/outbox, /ws/@connections, /_aws/events, /metrics; docs/local-runtime.md), so it listens on 127.0.0.1 or ::1 only "+
			"(PULSEHUB_ADDR=127.0.0.1:PORT)", r.opts.Addr)
	}
	r.ln = ln
	r.baseURL = "http://" + ln.Addr().String()
	sb, err := sandbox.New(sandbox.Options{BaseURL: r.baseURL, Logger: r.log, OutboxPath: filepath.Join(r.opts.StateDir, "outbox.jsonl")})
	if err != nil {
		return err
	}
	r.sandbox = sb
	r.messages, err = sandbox.NewMessaging(sandbox.MessagingOptions{Logger: r.log, Config: r.opts.Messaging,
		AccountsPath: filepath.Join(r.opts.StateDir, "sandbox-accounts.json")})
	if err != nil {
		return err
	}
	for _, p := range append(r.messages.Providers(), r.opts.Providers...) {
		if err := sb.Register(p); err != nil {
			return err
		}
	}
	// The model sandbox is always there: the copilot's model path works
	// with OPENAI_API_KEY set to anything and no real model.
	if !slices.Contains(sb.Names(), "openai") {
		if err := sb.Register(sandbox.NewOpenAI(nil)); err != nil {
			return err
		}
	}
	r.bus = eventbus.New(eventbus.Options{Catalog: r.opts.Catalog, Functions: r.opts.Catalog.Deployable(), Invoker: queued{r.inv}, Logger: r.log, Tap: r.opts.EventTap})
	r.srv = &http.Server{Handler: r.routes(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := r.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.log.Error("http server", "err", err)
		}
	}()
	r.log.Info("listening (starting)", "url", r.baseURL)
	if err := r.start(ctx); err != nil {
		return err
	}
	r.ready.Store(true)
	return nil
}

func (r *Runtime) start(ctx context.Context) error {
	// Fail before starting anything when a function cannot run.
	var missing []string
	for _, fn := range r.opts.Catalog.Deployable() {
		if r.opts.Functions[fn.Name] == nil {
			missing = append(missing, fn.Name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("local: no constructor for %s in shared/local/functions.go", strings.Join(missing, ", "))
	}
	if err := os.MkdirAll(filepath.Join(r.opts.StateDir, "keys"), 0o700); err != nil {
		return fmt.Errorf("local: state dir: %w", err)
	}
	stack, err := StartStack(ctx, r.opts.RepoDir, r.opts.ReuseEndpoints, r.log)
	if err != nil {
		return err
	}
	r.stack = stack
	// The functions' and the runtime's AWS clients point at the emulators
	// and the bus through their environment (lambdafn.AWSConfig).
	r.awsEnv = stack.Endpoints.AWSEnv(r.baseURL+eventsPath, os.LookupEnv)
	r.aws, err = lambdafn.AWSConfig(ctx, Lookup(r.awsEnv))
	if err != nil {
		return fmt.Errorf("local: %w", err)
	}
	db, q := dynamodb.NewFromConfig(r.aws, ForEmulator), sqs.NewFromConfig(r.aws)
	if r.res, err = Provision(ctx, db, q, r.opts.Catalog, r.opts.Prefix); err != nil {
		return err
	}
	secret, err := r.cursorSecret()
	if err != nil {
		return err
	}
	applied, err := store.Migrate(ctx, store.New(db, r.res.TableName, secret), store.Migrations(), r.log)
	if err != nil {
		return fmt.Errorf("local: migrations: %w", err)
	}
	if len(applied) > 0 {
		r.log.Info("migrations applied", "ids", applied)
	}
	if err := r.buildFunctions(ctx, secret); err != nil {
		return err
	}
	r.gw.Store(gateway.New(r.opts.Catalog, r.inv, gateway.Options{Logger: r.log, Stage: "local", Limits: r.opts.Gateway}))
	r.metrics.gauge("pulsehub_websocket_connections", "Open WebSocket connections.", func() float64 {
		if g := r.gw.Load(); g != nil {
			return float64(g.Connections())
		}
		return 0
	})

	bgCtx, cancel := context.WithCancel(context.Background())
	r.stopBg = cancel
	for _, fn := range r.opts.Catalog.Deployable() {
		if fn.Queue == nil {
			continue
		}
		m := &Mapping{
			Function: fn.Name, QueueURL: r.res.QueueURLs[fn.Queue.Queue], QueueARN: r.res.QueueARNs[fn.Queue.Queue],
			Region: r.aws.Region, BatchSize: fn.Queue.BatchSize, BatchWindow: fn.Queue.BatchWindow,
			Pollers: cmpInt(fn.Queue.MaxConcurrency, 2), SQS: q, Invoker: queued{r.inv}, Logger: r.log,
		}
		m.Start()
		r.mappings = append(r.mappings, m)
	}
	if !r.opts.NoSchedules {
		if err := r.bus.StartSchedules(bgCtx); err != nil {
			return err
		}
	}
	r.bg.Add(1)
	go func() { defer r.bg.Done(); r.sampleQueues(bgCtx, q) }()

	if r.opts.Seed != nil {
		if err := r.opts.Seed(ctx, r); err != nil {
			return fmt.Errorf("local: seed: %w", err)
		}
	}
	return nil
}

func cmpInt(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

func (r *Runtime) cursorSecret() ([]byte, error) { return CursorSecret(r.opts.StateDir) }

// CursorSecret returns the local deployment's cursor secret, created once
// under stateDir so pagination cursors survive restarts.
func CursorSecret(stateDir string) ([]byte, error) {
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("local: state dir: %w", err)
	}
	path := filepath.Join(stateDir, "cursor-secret")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return []byte(strings.TrimSpace(string(b))), nil
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	s := hex.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("local: write %s: %w", path, err)
	}
	return []byte(s), nil
}

// FunctionEnv is the environment a function sees locally: what the CDK
// stack sets in AWS, pointed at the local resources.
func (r *Runtime) FunctionEnv(secret []byte) map[string]string {
	return FunctionEnv(r.res, r.opts.Catalog, r.baseURL, r.opts.StateDir, secret, r.awsEnv)
}

// FunctionEnv builds the environment for every function from the resources,
// with awsEnv (Endpoints.AWSEnv: endpoints, region, credentials) added.
func FunctionEnv(res Resources, cat catalog.Catalog, baseURL, stateDir string, secret []byte, awsEnv map[string]string) map[string]string {
	keys := "file:" + filepath.Join(stateDir, "keys")
	env := map[string]string{
		catalog.EnvTable:       res.TableName,
		catalog.EnvBus:         cat.Bus.Name,
		catalog.EnvWSEndpoint:  baseURL + "/ws",
		catalog.EnvKMSKey:      keys,
		catalog.EnvJWTSecret:   keys,
		catalog.EnvSecrets:     "file:" + filepath.Join(stateDir, "secrets"),
		catalog.EnvPublicURL:   baseURL,
		catalog.EnvOpenAIBase:  baseURL + "/sandbox/openai/v1",
		config.EnvLogFormat:    "text",
		config.EnvCursorSecret: string(secret),
	}
	for _, q := range cat.Queues {
		env[q.EnvKey()] = res.QueueURLs[q.Name]
		env[q.DLQEnvKey()] = res.QueueURLs[q.DLQName()]
	}
	for _, p := range []string{"shopify", "meta", "gtm", "sendgrid", "twilio", "fcm", "whatsapp", "openai"} {
		env["PROVIDER_URL_"+strings.ToUpper(p)] = baseURL + "/sandbox/" + p
	}
	// A developer's own OpenAI-compatible server (Ollama, vLLM, OpenAI
	// itself) replaces the model sandbox.
	if u, ok := os.LookupEnv(catalog.EnvOpenAIBase); ok && u != "" {
		env[catalog.EnvOpenAIBase] = u
		delete(env, "PROVIDER_URL_OPENAI")
	}
	maps.Copy(env, awsEnv)
	return env
}

// Lookup returns an environment lookup: env first, then the process
// environment (so LOG_LEVEL and the like can be overridden).
func Lookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		if v, ok := env[k]; ok {
			return v, true
		}
		return os.LookupEnv(k)
	}
}

// buildFunctions runs each deployable function's constructor once, like a
// warm Lambda execution environment.
func (r *Runtime) buildFunctions(ctx context.Context, secret []byte) error {
	env := Lookup(r.FunctionEnv(secret))
	for _, fn := range r.opts.Catalog.Deployable() {
		b, err := BuildFunction(ctx, fn, r.opts.Functions[fn.Name], env, r.opts.FunctionLogs, r.metrics.sink(fn.Name))
		if err != nil {
			return err
		}
		r.inv.add(fn, b)
	}
	return nil
}

// Built is a constructed function: its handler and what NewHandler needs
// to run it.
type Built struct {
	Handler any
	Metrics *metrics.Recorder
	Logger  *slog.Logger
}

// BuildFunction runs one constructor with the dependencies lambdafn.Run
// would give it, plus the DynamoDB client option the emulator needs. With a
// sink, business metrics are mirrored there instead of written as EMF lines
// to logs.
func BuildFunction(ctx context.Context, fn catalog.Function, build lambdafn.Constructor, lookup func(string) (string, bool), logs io.Writer, sink metrics.Sink) (Built, error) {
	d, err := lambdafn.NewDeps(ctx, fn.Name, lookup, logs)
	if err != nil {
		return Built{}, err
	}
	d.DynamoDBOptions = append(d.DynamoDBOptions, ForEmulator)
	if sink != nil {
		d.Metrics = metrics.New(io.Discard, catalog.MetricsNamespace, fn.Name, metrics.WithSink(sink))
	}
	h, err := build(ctx, d)
	if err != nil {
		return Built{}, fmt.Errorf("local: %s: init failed: %w", fn.Name, err)
	}
	return Built{Handler: h, Metrics: d.Metrics, Logger: d.Logger}, nil
}

// sampleQueues refreshes the queue-depth gauges.
func (r *Runtime) sampleQueues(ctx context.Context, q *sqs.Client) {
	for {
		for name, url := range r.res.QueueURLs {
			out, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{
				sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			}})
			if err != nil {
				continue
			}
			var vis, inflight float64
			fmt.Sscan(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)], &vis)
			fmt.Sscan(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible)], &inflight)
			r.metrics.setQueueDepth(name, vis, inflight)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Second):
		}
	}
}

// URL is the runtime's base URL, e.g. http://127.0.0.1:8080.
func (r *Runtime) URL() string { return r.baseURL }

// Ready reports whether /healthz answers 200.
func (r *Runtime) Ready() bool { return r.ready.Load() }

// AWS is the SDK configuration pointing at the emulators (valid after start).
func (r *Runtime) AWS() aws.Config { return r.aws }

// Resources are the provisioned table and queues.
func (r *Runtime) Resources() Resources { return r.res }

// Invoker runs the built functions.
func (r *Runtime) Invoker() *Invoker { return r.inv }

// Bus is the EventBridge emulator.
func (r *Runtime) Bus() *eventbus.Bus { return r.bus }

// Sandbox is the provider sandbox (outbox, providers, callbacks).
func (r *Runtime) Sandbox() *sandbox.Sandbox { return r.sandbox }

// Messaging is the messaging providers' sandbox (accounts, engagement, faults).
func (r *Runtime) Messaging() *sandbox.Messaging { return r.messages }

// Close shuts down gracefully: stop pollers and schedules, drain in-flight
// invocations, close WebSockets and the server, stop the emulators it started.
func (r *Runtime) Close() error {
	r.closed.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var errs []error
		r.ready.Store(false)
		if r.stopBg != nil {
			r.stopBg()
		}
		for _, m := range r.mappings {
			errs = append(errs, m.Stop(ctx))
		}
		if r.bus != nil {
			errs = append(errs, r.bus.Close(ctx))
		}
		if g := r.gw.Load(); g != nil {
			errs = append(errs, g.Close(ctx))
		}
		if r.srv != nil {
			errs = append(errs, r.srv.Shutdown(ctx))
		}
		errs = append(errs, r.inv.close(ctx))
		if r.sandbox != nil {
			r.sandbox.Callbacks.Wait()
		}
		r.bg.Wait()
		errs = append(errs, r.stack.Close(ctx))
		r.closeErr = errors.Join(errs...)
	})
	return r.closeErr
}

// ForEmulator adapts a DynamoDB client to DynamoDB Local, which sends no
// X-Amz-Crc32 header on some responses (errors such as every expected
// ConditionalCheckFailedException): with response checksum validation on,
// the SDK logs "failed to close HTTP response body … did not match expected
// checksum" for each — about 1,500 lines during a `pulsehub dev` seed.
// See https://github.com/aws/aws-sdk-go-v2/issues/3545.
func ForEmulator(o *dynamodb.Options) { o.DisableValidateResponseChecksum = true }
