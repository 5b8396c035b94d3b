package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/pulsehub/pulsehub/shared/local"
	"github.com/pulsehub/pulsehub/web"
)

// devCommand runs the local runtime in the foreground. seed (may be nil)
// fills the demo workspace before /healthz turns 200.
func devCommand(seed func(context.Context, *local.Runtime) error) command {
	return command{
		summary: "run the whole platform locally (Ctrl-C stops it)",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			fs := newFlags("dev", "dev [--addr HOST:PORT] [--state DIR] [--reuse-endpoints]", stderr)
			addr := fs.String("addr", "", "listen address (default $PULSEHUB_ADDR or 127.0.0.1:8080)")
			state := fs.String("state", ".local/dev", "state directory (keys, outbox, cursor secret)")
			reuse := fs.Bool("reuse-endpoints", true, "use AWS_ENDPOINT_URL_DYNAMODB/SQS when set instead of starting the emulators")
			verbose := fs.Bool("v", false, "debug logging")
			if err := parse(fs, args); err != nil {
				return err
			}
			level := slog.LevelInfo
			if *verbose {
				level = slog.LevelDebug
			}
			log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
			start := time.Now()
			rt := local.New(local.Options{
				Addr: *addr, StateDir: *state, Seed: seed, ReuseEndpoints: *reuse,
				Console: web.Files(), Logger: log, FunctionLogs: stderr,
			})
			runErr := rt.Run(ctx)
			if runErr == nil {
				fmt.Fprintf(stdout, "\nPulseHub is ready at %s (started in %.1fs)\n", rt.URL(), time.Since(start).Seconds())
				if seed != nil {
					fmt.Fprintln(stdout, "  demo workspace: demo   owner: owner@demo.test   password: demo-password-1")
				} else {
					fmt.Fprintln(stdout, "  (no demo seeder registered: sign up at /v1/auth/signup)")
				}
				fmt.Fprintf(stdout, "  WebSocket %s/ws   outbox %s/dev/outbox   metrics %s/metrics\n  Ctrl-C stops everything.\n",
					"ws"+rt.URL()[len("http"):], rt.URL(), rt.URL())
				<-ctx.Done()
				fmt.Fprintln(stderr, "shutting down…")
			}
			closeErr := rt.Close()
			if errors.Is(runErr, local.ErrMissingTools) {
				// stack.sh's one line already says what to install.
				return errors.Unwrap(runErr)
			}
			return errors.Join(runErr, closeErr)
		},
	}
}
