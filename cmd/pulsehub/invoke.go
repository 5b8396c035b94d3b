package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/lambdafn"
	"github.com/pulsehub/pulsehub/shared/local"
	"github.com/pulsehub/pulsehub/shared/store"
)

func invokeCommand() command {
	return command{
		summary: "run one function on one event file and print its response",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			fs := newFlags("invoke", "invoke FUNCTION --event FILE", stderr)
			eventFile := fs.String("event", "", "the event JSON (see events/)")
			state := fs.String("state", ".local/dev", "state directory shared with `pulsehub dev`")
			url := fs.String("url", "", "base URL of a running `pulsehub dev` (default http://$PULSEHUB_ADDR or http://127.0.0.1:8080)")
			// Accept FUNCTION before or after the flags.
			var name string
			if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
				name, args = args[0], args[1:]
			}
			if err := parse(fs, args); err != nil {
				return err
			}
			if name == "" && fs.NArg() > 0 {
				name = fs.Arg(0)
			}
			if name == "" || *eventFile == "" {
				fs.Usage()
				return errUsage
			}
			cat := catalog.System()
			fn, ok := cat.Function(name)
			if !ok || fn.Planned {
				var names []string
				for _, f := range cat.Deployable() {
					names = append(names, f.Name)
				}
				return fmt.Errorf("unknown function %q (have: %s)", name, strings.Join(names, ", "))
			}
			data, err := os.ReadFile(*eventFile)
			if err != nil {
				return err
			}
			if _, err := local.DecodeEvent(fn, data); err != nil {
				return fmt.Errorf("%s: %w", *eventFile, err)
			}
			build := local.Functions()[name]
			if build == nil {
				return fmt.Errorf("function %q has no constructor in shared/local/functions.go", name)
			}
			log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
			base := *url
			if base == "" {
				base = "http://" + addrOr(os.Getenv("PULSEHUB_ADDR"), "127.0.0.1:8080")
			}
			secret, res, awsEnv, err := prepare(ctx, cat, *state, base+"/_aws/events", log)
			if err != nil {
				return err
			}
			env := local.FunctionEnv(res, cat, base, *state, secret, awsEnv)
			b, err := local.BuildFunction(ctx, fn, build, local.Lookup(env), stderr, nil)
			if err != nil {
				return err
			}
			out, err := local.InvokeOnce(ctx, fn, b, data)
			if err != nil {
				return err
			}
			var pretty bytes.Buffer
			if json.Indent(&pretty, out, "", "  ") != nil {
				pretty.Write(out)
			}
			fmt.Fprintln(stdout, pretty.String())
			return nil
		},
	}
}

func addrOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// prepare finds the emulators (AWS_ENDPOINT_URL_* or a running dev stack,
// starting it if needed), provisions the resources and runs migrations. It
// returns the AWS environment the function is to see (local.Endpoints.AWSEnv).
func prepare(ctx context.Context, cat catalog.Catalog, state, eventsURL string, log *slog.Logger) ([]byte, local.Resources, map[string]string, error) {
	e, ok := local.EnvEndpoints(os.LookupEnv)
	if !ok {
		if dev, ok := local.DevEnvFile("."); ok && reachable(ctx, dev) {
			e = dev
		} else {
			st, err := local.StartStack(ctx, ".", false, log)
			if err != nil {
				return nil, local.Resources{}, nil, err
			}
			// Left running for the next invoke or `pulsehub dev`; `make localstack-down` stops it.
			e = st.Endpoints
		}
	}
	awsEnv := e.AWSEnv(eventsURL, os.LookupEnv)
	cfg, err := lambdafn.AWSConfig(ctx, local.Lookup(awsEnv))
	if err != nil {
		return nil, local.Resources{}, nil, err
	}
	if err := os.MkdirAll(filepath.Join(state, "keys"), 0o700); err != nil {
		return nil, local.Resources{}, nil, err
	}
	secret, err := local.CursorSecret(state)
	if err != nil {
		return nil, local.Resources{}, nil, err
	}
	db := dynamodb.NewFromConfig(cfg, local.ForEmulator)
	res, err := local.Provision(ctx, db, sqs.NewFromConfig(cfg), cat, "pulsehub")
	if err != nil {
		return nil, local.Resources{}, nil, err
	}
	if _, err := store.Migrate(ctx, store.New(db, res.TableName, secret), store.Migrations(), log); err != nil {
		return nil, local.Resources{}, nil, fmt.Errorf("migrations: %w", err)
	}
	return secret, res, awsEnv, nil
}

// reachable checks that the dev stack named in its env file still answers.
func reachable(ctx context.Context, e local.Endpoints) bool {
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion("us-east-1"))
	if err != nil {
		return false
	}
	_, err = dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(e.DynamoDB) }).
		ListTables(ctx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)})
	return err == nil
}
