// Package lambdafn is the one way a PulseHub function starts: load its
// configuration for its catalog entry, build the logger and the AWS config,
// construct the handler from those dependencies, and hand it to the Lambda
// runtime. Every functions/<name>/main.go is a single call to Run, and the
// local runtime builds handlers with the same Constructor values, so the code
// that runs in AWS is the code that runs locally.
package lambdafn

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/config"
	"github.com/pulsehub/pulsehub/shared/logging"
	"github.com/pulsehub/pulsehub/shared/metrics"
	"github.com/pulsehub/pulsehub/shared/store"
)

// Deps is what every constructor receives. AWS endpoints come from the SDK's
// standard AWS_ENDPOINT_URL_<SERVICE> variables, so the same constructor
// works against AWS, LocalStack or the local emulators.
type Deps struct {
	Config config.Config
	AWS    aws.Config
	Logger *slog.Logger
	// DynamoDBOptions adjust the DynamoDB client built from AWS (applied by
	// Table). Empty in Lambda; the local runtime sets what its
	// emulator needs, so function code never asks where it runs.
	DynamoDBOptions []func(*dynamodb.Options)
	// Metrics records business metrics in CloudWatch Embedded Metric
	// Format; NewHandler flushes them after every invocation.
	Metrics *metrics.Recorder
}

// Table opens the function's table (TABLE_NAME, CURSOR_SECRET) with its
// DynamoDB options. Every function opens its table this way.
func (d Deps) Table() *store.Table {
	return store.Open(d.AWS, d.Config.TableName, d.Config.CursorSecret, d.DynamoDBOptions...)
}

// Constructor builds a function's handler: any value lambda.NewHandler accepts.
type Constructor func(ctx context.Context, d Deps) (any, error)

// NewDeps loads configuration for the named catalog function and builds
// the logger and AWS config. lookup reads the environment.
func NewDeps(ctx context.Context, name string, lookup func(string) (string, bool), logOut io.Writer) (Deps, error) {
	fn, ok := catalog.System().Function(name)
	if !ok {
		return Deps{}, fmt.Errorf("function %q is not in the catalog", name)
	}
	cfg, err := config.LoadFrom(lookup, fn)
	if err != nil {
		return Deps{}, fmt.Errorf("%s: bad configuration: %w", name, err)
	}
	awsCfg, err := AWSConfig(ctx, lookup)
	if err != nil {
		return Deps{}, fmt.Errorf("%s: %w", name, err)
	}
	return Deps{
		Config: cfg, AWS: awsCfg,
		Logger:  logging.New(logOut, cfg.LogFormat, cfg.LogLevel, name),
		Metrics: metrics.New(logOut, catalog.MetricsNamespace, name),
	}, nil
}

// NewHandler turns a constructor's handler into the lambda.Handler that
// runs it: the production decode path of lambda.NewHandler, then a flush
// of the invocation's metrics (one EMF line per dimension set on the log
// stream, where CloudWatch extracts them).
func NewHandler(h any, m *metrics.Recorder, log *slog.Logger) lambda.Handler {
	return flushing{lambda.NewHandler(h), m, log}
}

type flushing struct {
	lambda.Handler
	m   *metrics.Recorder
	log *slog.Logger
}

func (f flushing) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	out, err := f.Handler.Invoke(ctx, payload)
	if f.m != nil {
		if ferr := f.m.Flush(); ferr != nil {
			f.log.ErrorContext(ctx, "metrics flush failed", "err", ferr)
		}
	}
	return out, err
}

// AWSConfig loads the SDK's default configuration with lookup's region,
// static credentials and AWS_ENDPOINT_URL_<SERVICE> endpoints taking
// precedence over the process environment. In Lambda lookup is
// os.LookupEnv, which changes nothing; the local runtime and the CLI pass
// each function's own environment instead of changing the process's.
func AWSConfig(ctx context.Context, lookup func(string) (string, bool)) (aws.Config, error) {
	get := func(k string) string { v, _ := lookup(k); return v }
	var opts []func(*awsconfig.LoadOptions) error
	if r := get("AWS_REGION"); r != "" {
		opts = append(opts, awsconfig.WithRegion(r))
	}
	if id, secret := get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(id, secret, get("AWS_SESSION_TOKEN"))))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("aws config: %w", err)
	}
	// Service clients ask each config source in turn for their endpoint
	// (AWS_IGNORE_CONFIGURED_ENDPOINT_URLS still turns all of them off).
	cfg.ConfigSources = append([]any{endpointSource(get)}, cfg.ConfigSources...)
	return cfg, nil
}

// endpointSource answers the SDK's per-service endpoint question from an
// environment lookup, with the SDK's naming: AWS_ENDPOINT_URL_ + the
// service id upper-cased, spaces as underscores.
type endpointSource func(string) string

func (e endpointSource) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	v := e("AWS_ENDPOINT_URL_" + strings.ReplaceAll(strings.ToUpper(sdkID), " ", "_"))
	return v, v != "", nil
}

// Run starts the named function in the Lambda runtime. A bad configuration
// or a failing constructor ends the process with one clear line, before the
// runtime accepts any invocation.
func Run(name string, build Constructor) {
	ctx := context.Background()
	d, err := NewDeps(ctx, name, os.LookupEnv, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	h, err := build(ctx, d)
	if err != nil {
		d.Logger.Error("init failed", "err", err)
		os.Exit(1)
	}
	lambda.Start(NewHandler(h, d.Metrics, d.Logger))
}
