package main

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/pulsehub/pulsehub/shared/demo"
	"github.com/pulsehub/pulsehub/shared/local"
)

// seedDemo is the dev runtime's Seed hook: it registers the Shopify, Meta
// and Tag Manager emulators the demo needs and seeds the demo workspace.
func seedDemo(ctx context.Context, rt *local.Runtime) error {
	s := &demo.Seeder{Log: slog.Default().With("component", "seed")}
	have := map[string]bool{}
	for _, n := range rt.Sandbox().Names() {
		have[n] = true
	}
	for _, p := range s.Providers() {
		if !have[p.Name()] {
			if err := rt.Sandbox().Register(p); err != nil {
				return err
			}
		}
	}
	return s.RuntimeSeed(ctx, rt)
}

// seedCommand seeds the demo workspace of a PulseHub already running.
func seedCommand() command {
	return command{
		summary: "seed the demo workspace of a running PulseHub (pulsehub dev seeds on start)",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			fs := newFlags("seed", "seed [--url http://127.0.0.1:8080] [--concurrency 16] [--timeout 15m]", stderr)
			url := fs.String("url", "http://127.0.0.1:8080", "base URL of the running PulseHub")
			conc := fs.Int("concurrency", 16, "parallel webhook posts")
			timeout := fs.Duration("timeout", 15*time.Minute, "give up after this long")
			if err := parse(fs, args); err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(ctx, *timeout)
			defer cancel()
			s := &demo.Seeder{BaseURL: *url, Concurrency: *conc, Log: slog.New(slog.NewTextHandler(stderr, nil))}
			return s.Seed(ctx)
		},
	}
}
