package sam

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/catalog/cfnlint"
)

const committed = "../../../template.yaml"

func TestTemplateIsUpToDate(t *testing.T) {
	want, err := Generate(catalog.System())
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(committed)
	if err != nil {
		t.Fatalf("%v: run `go generate ./shared/catalog/sam` (or make sam)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("template.yaml differs from the catalog: run `go generate ./shared/catalog/sam` (or make sam) and commit it")
	}
}

func TestDeterministic(t *testing.T) {
	a, _ := Generate(catalog.System())
	b, _ := Generate(catalog.System())
	if !bytes.Equal(a, b) {
		t.Fatal("two generations differ")
	}
}

// resources decodes the template's Resources (intrinsic tags decode to
// their plain values, which is all these checks need).
func resources(t *testing.T, b []byte) map[string]map[string]any {
	t.Helper()
	var doc struct {
		Resources map[string]map[string]any `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Resources
}

func TestEveryDeployableFunction(t *testing.T) {
	c := catalog.System()
	b, err := Generate(c)
	if err != nil {
		t.Fatal(err)
	}
	res := resources(t, b)
	functions := 0
	routes := map[string]bool{}
	for _, r := range res {
		switch r["Type"] {
		case "AWS::Serverless::Function":
			functions++
		case "AWS::ApiGatewayV2::Route":
			routes[fmt.Sprint(r["Properties"].(map[string]any)["RouteKey"])] = true
		}
	}
	if functions != len(c.Deployable()) {
		t.Errorf("%d functions, want %d deployable", functions, len(c.Deployable()))
	}
	for _, f := range c.Deployable() {
		r, ok := res[pascal(f.Name)+"Function"]
		if !ok {
			t.Errorf("%s missing", f.Name)
			continue
		}
		p := r["Properties"].(map[string]any)
		check := func(field string, got, want any) {
			t.Helper()
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s: %s = %v, want %v", f.Name, field, got, want)
			}
		}
		check("CodeUri", p["CodeUri"], "build/"+f.Name+"/")
		check("MemorySize", p["MemorySize"], f.MemoryMB)
		check("Timeout", p["Timeout"], int(f.Timeout.Seconds()))
		vars := p["Environment"].(map[string]any)["Variables"].(map[string]any)
		check("env count", len(vars), len(f.Env))
		for _, k := range f.Env {
			if vars[k] == nil || vars[k] == "" {
				t.Errorf("%s: env %s not set", f.Name, k)
			}
		}
		// The cursor secret comes from the generated secret, resolved at
		// deploy time, never from a value anyone could derive.
		if got := fmt.Sprint(vars[catalog.EnvCursorSecret]); !strings.Contains(got, "{{resolve:secretsmanager:${CursorSecret}:SecretString}}") {
			t.Errorf("%s: %s = %s, want a resolve of the CursorSecret secret", f.Name, catalog.EnvCursorSecret, got)
		}
		events, _ := p["Events"].(map[string]any)
		if q := f.Queue; q != nil {
			e, ok := events[pascal(q.Queue)+"Queue"].(map[string]any)
			if !ok {
				t.Errorf("%s: no SQS event", f.Name)
				continue
			}
			ep := e["Properties"].(map[string]any)
			check("SQS Type", e["Type"], "SQS")
			check("BatchSize", ep["BatchSize"], q.BatchSize)
			check("FunctionResponseTypes", ep["FunctionResponseTypes"], []any{"ReportBatchItemFailures"})
		}
		for _, s := range f.Schedules {
			e, ok := events[pascal(s.Name)+"Schedule"].(map[string]any)
			if !ok {
				t.Errorf("%s: no schedule %s", f.Name, s.Name)
				continue
			}
			check("Schedule", e["Properties"].(map[string]any)["Schedule"], s.Expression)
		}
		for _, ev := range f.Events {
			if e, ok := events[pascal(ev.Name)+"Rule"].(map[string]any); !ok || e["Type"] != "EventBridgeRule" {
				t.Errorf("%s: no EventBridgeRule %s", f.Name, ev.Name)
			}
		}
		for _, r := range f.HTTP {
			if !routes[r.String()] {
				t.Errorf("%s: HTTP route %s missing", f.Name, r)
			}
		}
		for _, k := range f.WebSocket {
			if !routes[k] {
				t.Errorf("%s: WebSocket route %s missing", f.Name, k)
			}
		}
	}
}

func TestUnknownEnvKey(t *testing.T) {
	c := catalog.System()
	c.Functions[0].Env = append(c.Functions[0].Env, "SOMETHING_NEW")
	c.Functions[0].Planned = false
	_, err := Generate(c)
	if err == nil || !strings.Contains(err.Error(), `"SOMETHING_NEW" has no value`) {
		t.Fatalf("err = %v", err)
	}
}

func TestRouteID(t *testing.T) {
	for _, tt := range []struct {
		r    catalog.Route
		want string
	}{
		{catalog.Route{Method: "POST", Path: "/webhooks/twilio/{tenantId}"}, "PostWebhooksTwilioTenantId"},
		{catalog.Route{Method: "ANY", Path: "/v1/{proxy+}"}, "AnyV1Proxy"},
		{catalog.Route{Method: "OPTIONS", Path: "/collect"}, "OptionsCollect"},
	} {
		if got := routeID(tt.r); got != tt.want {
			t.Errorf("routeID(%s) = %s, want %s", tt.r, got, tt.want)
		}
	}
}

// TestCfnLint validates the committed template (cfn-lint runs the SAM
// transform itself).
func TestCfnLint(t *testing.T) {
	path, err := filepath.Abs(committed)
	if err != nil {
		t.Fatal(err)
	}
	cfnlint.Check(t, nil, path)
}
