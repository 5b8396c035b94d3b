package catalog

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Catalog describes the whole system.
type Catalog struct {
	Table     Table
	Queues    []Queue
	Bus       Bus
	Functions []Function
}

// Table is the single DynamoDB table (see docs/data-model.md).
type Table struct {
	Name         string // logical name; the physical name comes from EnvTable
	PartitionKey string
	SortKey      string
	GSIs         []GSI
	TTLAttribute string
}

// GSI is a global secondary index projecting all attributes.
type GSI struct {
	Name         string
	PartitionKey string
	SortKey      string
}

// Queue is an SQS standard queue with its dead-letter queue.
type Queue struct {
	Name              string // logical name, e.g. "ingest"
	VisibilityTimeout time.Duration
	Retention         time.Duration
	MaxReceiveCount   int // receives before a message moves to the DLQ
}

// DLQName is the logical name of the queue's dead-letter queue.
func (q Queue) DLQName() string { return q.Name + "-dlq" }

// EnvKey is the environment variable holding the queue URL.
func (q Queue) EnvKey() string {
	return "QUEUE_URL_" + strings.ToUpper(strings.ReplaceAll(q.Name, "-", "_"))
}

// DLQEnvKey is the environment variable holding the dead-letter queue URL;
// consumers send poison messages there themselves, with a reason.
func (q Queue) DLQEnvKey() string { return q.EnvKey() + "_DLQ" }

// Bus is the EventBridge bus carrying PulseHub's domain events.
type Bus struct {
	Name   string
	Source string // the source of every event PulseHub publishes
}

// MetricsNamespace is the CloudWatch namespace of PulseHub's business metrics.
const MetricsNamespace = "PulseHub"

// Environment keys shared by several functions. Function-specific keys are
// listed in Function.Env.
const (
	EnvTable       = "TABLE_NAME"
	EnvBus         = "EVENT_BUS_NAME"
	EnvWSEndpoint  = "WS_ENDPOINT" // API Gateway management endpoint for PostToConnection
	EnvKMSKey      = "PII_KMS_KEY_ID"
	EnvJWTSecret   = "JWT_SIGNING_SECRET_ID"
	EnvSecrets     = "PROVIDER_SECRETS_PREFIX"
	EnvLogLevel    = "LOG_LEVEL"
	EnvOpenAIBase  = "OPENAI_BASE_URL" // OpenAI-compatible endpoint of the copilot's model
	EnvOpenAIModel = "OPENAI_MODEL"    // the model the copilot asks
	EnvPublicURL   = "PUBLIC_BASE_URL" // external URL of the HTTP API, for signed webhook URLs
	// EnvCursorSecret signs pagination cursors. Every function gets it: any
	// function may open the store, and a guessable value would let a caller
	// forge cursors, so it comes from a generated secret, never a default.
	EnvCursorSecret = "CURSOR_SECRET"
)

// DefaultOpenAIModel is the copilot's model when OPENAI_MODEL is unset, and
// the deployments' default.
const DefaultOpenAIModel = "gpt-4o-mini"

// Access says what a function may do with a resource.
type Access string

const (
	Read      Access = "read"
	ReadWrite Access = "readwrite"
	Send      Access = "send"    // sqs:SendMessage
	Consume   Access = "consume" // sqs:ReceiveMessage/DeleteMessage (event source)
	Publish   Access = "publish" // events:PutEvents
	Manage    Access = "manage"  // execute-api:ManageConnections
	Decrypt   Access = "decrypt" // kms:Decrypt (+GenerateDataKey for encrypt)
	Encrypt   Access = "encrypt" // kms:GenerateDataKey + Decrypt
)

// ResourceKind names the kinds of resources a grant can target.
type ResourceKind string

const (
	KindTable     ResourceKind = "table"
	KindQueue     ResourceKind = "queue"
	KindBus       ResourceKind = "bus"
	KindWebSocket ResourceKind = "websocket"
	KindKMS       ResourceKind = "kms"
	KindSecret    ResourceKind = "secret"
)

// Grant is one least-privilege permission.
type Grant struct {
	Kind   ResourceKind
	Name   string // queue name or secret name; empty for the single table/bus/key/API
	Access Access
}

// Route is an HTTP API route, e.g. {"POST", "/webhooks/shopify"}. Method "ANY"
// and a greedy "{proxy+}" segment follow API Gateway's syntax.
type Route struct {
	Method string
	Path   string
}

func (r Route) String() string { return r.Method + " " + r.Path }

// QueueTrigger is an SQS event-source mapping.
type QueueTrigger struct {
	Queue          string
	BatchSize      int
	BatchWindow    time.Duration
	MaxConcurrency int // maximum concurrent invocations from this queue (>= 2 in AWS)
	// ReportBatchItemFailures is always on: every consumer reports partial failures.
}

// Schedule is an EventBridge schedule: "rate(5 minutes)" or "cron(0 3 * * ? *)".
type Schedule struct {
	Name       string
	Expression string
}

// EventRule matches domain events on the bus by detail-type.
type EventRule struct {
	Name        string
	DetailTypes []string
}

// Function is one Lambda function.
type Function struct {
	Name        string // also the directory under functions/
	Description string
	MemoryMB    int
	Timeout     time.Duration
	// ReservedConcurrency caps concurrent executions; 0 leaves it unreserved.
	ReservedConcurrency int
	Env                 []string // configuration keys the function reads
	HTTP                []Route
	WebSocket           []string // route keys: $connect, $disconnect, $default or an action
	Queue               *QueueTrigger
	Schedules           []Schedule
	Events              []EventRule
	Grants              []Grant
	// Planned marks a function listed for the architecture whose code arrives
	// with a later issue; it has no functions/<name>/main.go yet and is not
	// deployed or run locally.
	Planned bool
}

// Dir is the function's source directory relative to the repository root.
func (f Function) Dir() string { return "functions/" + f.Name }

// Function returns the function with the given name.
func (c Catalog) Function(name string) (Function, bool) {
	i := slices.IndexFunc(c.Functions, func(f Function) bool { return f.Name == name })
	if i < 0 {
		return Function{}, false
	}
	return c.Functions[i], true
}

// Queue returns the queue with the given logical name.
func (c Catalog) Queue(name string) (Queue, bool) {
	i := slices.IndexFunc(c.Queues, func(q Queue) bool { return q.Name == name })
	if i < 0 {
		return Queue{}, false
	}
	return c.Queues[i], true
}

// Deployable returns the functions that have code (not Planned).
func (c Catalog) Deployable() []Function {
	var out []Function
	for _, f := range c.Functions {
		if !f.Planned {
			out = append(out, f)
		}
	}
	return out
}

// Validate checks the catalog's internal consistency: unique names, triggers
// that point at declared queues, AWS limits on batch sizes and timeouts.
func (c Catalog) Validate() error {
	var errs []string
	fail := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	seen := map[string]bool{}
	routes := map[string]string{}
	wsRoutes := map[string]string{}
	for _, f := range c.Functions {
		if seen[f.Name] {
			fail("function %q declared twice", f.Name)
		}
		seen[f.Name] = true
		if f.MemoryMB < 128 || f.MemoryMB > 10240 {
			fail("function %q: memory %d MB outside 128..10240", f.Name, f.MemoryMB)
		}
		if f.Timeout <= 0 || f.Timeout > 15*time.Minute {
			fail("function %q: timeout %s outside (0, 15m]", f.Name, f.Timeout)
		}
		if len(f.HTTP) > 0 && f.Timeout > 29*time.Second {
			fail("function %q: HTTP integrations time out at 29s, timeout is %s", f.Name, f.Timeout)
		}
		for _, r := range f.HTTP {
			if other, ok := routes[r.String()]; ok {
				fail("route %s served by %q and %q", r, other, f.Name)
			}
			routes[r.String()] = f.Name
		}
		for _, r := range f.WebSocket {
			if other, ok := wsRoutes[r]; ok {
				fail("websocket route %s served by %q and %q", r, other, f.Name)
			}
			wsRoutes[r] = f.Name
		}
		if t := f.Queue; t != nil {
			q, ok := c.Queue(t.Queue)
			switch {
			case !ok:
				fail("function %q: trigger queue %q not declared", f.Name, t.Queue)
			case q.VisibilityTimeout < f.Timeout:
				// AWS rejects the mapping otherwise; 6x the timeout is the recommendation.
				fail("queue %q: visibility timeout %s below consumer %q timeout %s", q.Name, q.VisibilityTimeout, f.Name, f.Timeout)
			}
			if t.BatchSize < 1 || t.BatchSize > 10000 || (t.BatchWindow == 0 && t.BatchSize > 10) {
				fail("function %q: batch size %d invalid (1..10, or up to 10000 with a batch window)", f.Name, t.BatchSize)
			}
			if t.BatchWindow > 5*time.Minute {
				fail("function %q: batch window %s above 5m", f.Name, t.BatchWindow)
			}
			if t.MaxConcurrency != 0 && t.MaxConcurrency < 2 {
				fail("function %q: SQS maximum concurrency must be >= 2", f.Name)
			}
		}
		for _, g := range f.Grants {
			if g.Kind == KindQueue {
				if _, ok := c.Queue(g.Name); !ok {
					fail("function %q: grant on undeclared queue %q", f.Name, g.Name)
				}
			}
		}
		for _, s := range f.Schedules {
			if !strings.HasPrefix(s.Expression, "rate(") && !strings.HasPrefix(s.Expression, "cron(") {
				fail("function %q: schedule %q is neither rate() nor cron()", f.Name, s.Expression)
			}
		}
	}
	for _, q := range c.Queues {
		if q.MaxReceiveCount < 1 {
			fail("queue %q: maxReceiveCount must be >= 1", q.Name)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("catalog: %s", strings.Join(errs, "; "))
	}
	return nil
}
