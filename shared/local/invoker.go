package local

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"runtime/debug"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/lambdafn"
)

// DefaultConcurrency caps concurrent executions of a function without
// ReservedConcurrency. AWS lets such functions use the account's pool
// (1,000); locally a small cap keeps a laptop responsive.
const DefaultConcurrency = 10

// ErrThrottled is returned by a synchronous invocation of a function whose
// reserved concurrency is in use, like Lambda's TooManyRequestsException.
var ErrThrottled = apperr.E(apperr.RateLimited, "Rate Exceeded: the function's reserved concurrency is in use")

// FunctionError is an error the handler returned (or a panic it raised),
// as Lambda reports it: errorType and errorMessage.
type FunctionError struct {
	Function string
	Type     string
	Message  string
	Stack    string // for panics
}

func (e *FunctionError) Error() string {
	return fmt.Sprintf("%s: %s: %s", e.Function, e.Type, e.Message)
}

// function is one built ("warm") function.
type function struct {
	def catalog.Function
	// slots holds the idle execution environments, one per unit of
	// concurrency.
	slots        chan *environment
	throttleSync bool // reserved concurrency: synchronous callers are throttled, not queued
}

// Invoker runs built functions. It implements gateway.Invoker and eventbus.Invoker.
type Invoker struct {
	fns      map[string]*function
	region   string
	account  string
	log      *slog.Logger
	metrics  *Metrics
	inflight sync.WaitGroup
	mu       sync.Mutex
	closed   bool
}

func newInvoker(region, account string, log *slog.Logger, m *Metrics) *Invoker {
	return &Invoker{fns: map[string]*function{}, region: region, account: account, log: log, metrics: m}
}

// add registers a built function, with one handler per environment.
func (inv *Invoker) add(def catalog.Function, b Built) {
	limit := def.ReservedConcurrency
	if limit <= 0 {
		limit = DefaultConcurrency
	}
	fn := &function{def: def, slots: make(chan *environment, limit), throttleSync: def.ReservedConcurrency > 0}
	for range limit {
		fn.slots <- newEnvironment(def, lambdafn.NewHandler(b.Handler, b.Metrics, b.Logger), fn.slots)
	}
	inv.fns[def.Name] = fn
}

// ARN is the function's ARN as Lambda puts it in the context.
func (inv *Invoker) ARN(name string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:pulsehub-%s", inv.region, inv.account, name)
}

// Invoke is a synchronous invocation (API Gateway, the CLI): a function at
// its reserved concurrency is throttled with ErrThrottled; an unreserved
// function at DefaultConcurrency waits for a slot.
func (inv *Invoker) Invoke(ctx context.Context, name string, payload []byte) ([]byte, error) {
	return inv.invoke(ctx, name, payload, false)
}

// InvokeQueued waits for a free slot whatever the limit: how event-source
// mappings and asynchronous invocations behave (they back off and retry).
func (inv *Invoker) InvokeQueued(ctx context.Context, name string, payload []byte) ([]byte, error) {
	return inv.invoke(ctx, name, payload, true)
}

// queued adapts InvokeQueued to the one-method Invoker interfaces.
type queued struct{ inv *Invoker }

func (q queued) Invoke(ctx context.Context, name string, payload []byte) ([]byte, error) {
	return q.inv.InvokeQueued(ctx, name, payload)
}

func (inv *Invoker) invoke(ctx context.Context, name string, payload []byte, wait bool) ([]byte, error) {
	fn := inv.fns[name]
	if fn == nil {
		return nil, fmt.Errorf("invoke %s: function is not running locally (not deployable, or no constructor)", name)
	}
	inv.mu.Lock()
	if inv.closed {
		inv.mu.Unlock()
		return nil, fmt.Errorf("invoke %s: %w", name, errShuttingDown)
	}
	inv.inflight.Add(1)
	inv.mu.Unlock()
	defer inv.inflight.Done()

	var env *environment
	if wait || !fn.throttleSync {
		select {
		case env = <-fn.slots:
		case <-ctx.Done():
			return nil, fmt.Errorf("invoke %s: waiting for a concurrency slot: %w", name, ctx.Err())
		}
	} else {
		select {
		case env = <-fn.slots:
		default:
			inv.metrics.throttled(name)
			return nil, fmt.Errorf("invoke %s: %w", name, ErrThrottled)
		}
	}

	reqID := newRequestID()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fn.def.Timeout)
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: reqID, InvokedFunctionArn: inv.ARN(name)})
	start := time.Now()
	out, err := env.call(ctx, payload)
	inv.metrics.observe(name, time.Since(start), err)
	if err != nil {
		inv.log.Error("invocation failed", "function", name, "requestId", reqID, "duration", time.Since(start).Round(time.Millisecond), "err", err)
		return nil, err
	}
	return out, nil
}

var errShuttingDown = errors.New("the local runtime is shutting down")

// environment is one warm execution environment: its own lambda.Handler
// and one long-lived goroutine that runs its invocations one at a time, as
// a Lambda sandbox does. A goroutine per environment, not per invocation,
// keeps its grown stack across invocations.
//
// Each environment needs its own handler because aws-lambda-go's Invoke
// returns a slice of a pooled buffer that the handler's next Invoke may
// reuse (aws/aws-lambda-go#639); the output is cloned before the
// environment is released.
type environment struct {
	def     catalog.Function
	handler lambda.Handler
	jobs    chan job
	release chan<- *environment
}

type job struct {
	ctx     context.Context
	payload []byte
	done    chan<- result
}

type result struct {
	out []byte
	err error
}

func newEnvironment(def catalog.Function, h lambda.Handler, release chan<- *environment) *environment {
	e := &environment{def: def, handler: h, jobs: make(chan job), release: release}
	go e.run()
	return e
}

// run serves invocations until the process ends. The environment returns
// to the idle slots only once its handler has returned, so a timed-out
// invocation keeps its environment busy until it finishes, as in Lambda.
func (e *environment) run() {
	for j := range e.jobs {
		j.done <- e.invoke(j.ctx, j.payload)
		e.release <- e
	}
}

// invoke runs the production decode path and turns a panic into a function
// error, as the Lambda runtime reports it, instead of a crash.
func (e *environment) invoke(ctx context.Context, payload []byte) (r result) {
	defer func() {
		if p := recover(); p != nil {
			r = result{nil, &FunctionError{Function: e.def.Name, Type: "Runtime.Panic", Message: fmt.Sprint(p), Stack: string(debug.Stack())}}
		}
	}()
	out, err := e.handler.Invoke(ctx, payload)
	return result{bytes.Clone(out), err}
}

// call hands the invocation to the environment and waits for it, or for the
// timeout: Lambda stops waiting even if the handler ignores its context.
func (e *environment) call(ctx context.Context, payload []byte) ([]byte, error) {
	done := make(chan result, 1)
	e.jobs <- job{ctx: ctx, payload: payload, done: done}
	select {
	case r := <-done:
		if r.err != nil {
			var fe *FunctionError
			if errors.As(r.err, &fe) {
				return nil, r.err
			}
			return nil, &FunctionError{Function: e.def.Name, Type: errorType(r.err), Message: r.err.Error()}
		}
		return r.out, nil
	case <-ctx.Done():
		return nil, &FunctionError{Function: e.def.Name, Type: "Sandbox.Timedout", Message: fmt.Sprintf("Task timed out after %.2f seconds", e.def.Timeout.Seconds())}
	}
}

// errorType names the error like Lambda's errorType: the error's type name.
func errorType(err error) string {
	var e *apperr.Error
	if errors.As(err, &e) {
		return "apperr." + e.Kind.String()
	}
	t := reflect.TypeOf(err)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

// close stops accepting invocations and waits for the running ones.
func (inv *Invoker) close(ctx context.Context) error {
	inv.mu.Lock()
	inv.closed = true
	inv.mu.Unlock()
	done := make(chan struct{})
	go func() { inv.inflight.Wait(); close(done) }()
	select {
	case <-done:
		// End the idle environments' goroutines; one still running a
		// timed-out handler is left to finish on its own.
		for _, fn := range inv.fns {
			for range cap(fn.slots) {
				select {
				case e := <-fn.slots:
					close(e.jobs)
				default:
				}
			}
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("local: in-flight invocations still running: %w", ctx.Err())
	}
}

func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// InvokeOnce runs built function b once on payload through the same path as
// the runtime (lambdafn.NewHandler, lambdacontext, timeout, panic recovery);
// for `pulsehub invoke`.
func InvokeOnce(ctx context.Context, fn catalog.Function, b Built, payload []byte) ([]byte, error) {
	inv := newInvoker("us-east-1", "000000000000", slog.New(slog.DiscardHandler), newMetrics())
	inv.add(fn, b)
	return inv.Invoke(ctx, fn.Name, payload)
}
