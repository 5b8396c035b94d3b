package catalog

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSystemIsValid(t *testing.T) {
	if err := System().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestSystemListsTheArchitecture(t *testing.T) {
	want := []string{"api", "webhooks", "ingest", "ws-connect", "ws-disconnect", "ws-message",
		"chat", "sync", "segment", "scheduler", "send", "analytics"}
	c := System()
	for _, name := range want {
		if _, ok := c.Function(name); !ok {
			t.Errorf("function %q missing from the catalog", name)
		}
	}
	if len(c.Functions) != len(want) {
		t.Errorf("catalog has %d functions, architecture names %d", len(c.Functions), len(want))
	}
}

// Every function may open the store, whose cursors need the secret; a
// function without it would fail at start in AWS.
func TestEveryFunctionGetsTheCursorSecret(t *testing.T) {
	for _, f := range System().Functions {
		if !slices.Contains(f.Env, EnvCursorSecret) {
			t.Errorf("function %q does not list %s", f.Name, EnvCursorSecret)
		}
	}
}

// Planned functions have no code yet; deployable ones must have a thin main.go.
func TestFunctionDirectoriesMatchCatalog(t *testing.T) {
	root := filepath.Join("..", "..")
	for _, f := range System().Functions {
		_, err := os.Stat(filepath.Join(root, f.Dir(), "main.go"))
		switch {
		case f.Planned && err == nil:
			t.Errorf("%s has main.go but is marked Planned", f.Name)
		case !f.Planned && err != nil:
			t.Errorf("%s is deployable but %s/main.go is missing", f.Name, f.Dir())
		}
	}
	entries, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, ok := System().Function(e.Name()); !ok {
			t.Errorf("functions/%s is not in the catalog", e.Name())
		}
	}
}

func TestValidateRejects(t *testing.T) {
	base := func() Catalog { return System() }
	tests := []struct {
		name   string
		mutate func(*Catalog)
		want   string
	}{
		{"duplicate function", func(c *Catalog) { c.Functions = append(c.Functions, c.Functions[0]) }, "declared twice"},
		{"unknown trigger queue", func(c *Catalog) {
			c.Functions[2].Queue = &QueueTrigger{Queue: "nope", BatchSize: 1}
		}, `trigger queue "nope"`},
		{"visibility below timeout", func(c *Catalog) { c.Queues[0].VisibilityTimeout = time.Second }, "visibility timeout"},
		{"batch too big without window", func(c *Catalog) {
			c.Functions[2].Queue = &QueueTrigger{Queue: QueueIngest, BatchSize: 11}
		}, "batch size"},
		{"http timeout", func(c *Catalog) { c.Functions[0].Timeout = time.Minute }, "29s"},
		{"bad schedule", func(c *Catalog) {
			c.Functions[7].Schedules = []Schedule{{Name: "x", Expression: "every minute"}}
		}, "neither rate() nor cron()"},
		{"no dlq", func(c *Catalog) { c.Queues[1].MaxReceiveCount = 0 }, "maxReceiveCount"},
		{"route twice", func(c *Catalog) { c.Functions[1].HTTP = append(c.Functions[1].HTTP, c.Functions[0].HTTP[0]) }, "served by"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			tt.mutate(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want error containing %q", err, tt.want)
			}
		})
	}
}
