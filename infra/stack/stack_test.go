package stack

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/catalog/cfnlint"
)

// One jsii process and one synth for the whole package: the app holds the
// prod stack with every catalog function (Planned ones too, so the full
// design is checked before its code lands) and the dev stack with the
// deployable functions only, as `cdk deploy` builds it today.
type fixture struct {
	prod, dev   *Stack
	prodT, devT assertions.Template
	prodJSON    template
	devJSON     template
	outdir      string
	err         error
}

var (
	once sync.Once
	fx   fixture
)

type template struct {
	Resources map[string]struct {
		Type       string         `json:"Type"`
		Properties map[string]any `json:"Properties"`
	} `json:"Resources"`
}

func TestMain(m *testing.M) {
	os.Setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
	code := m.Run()
	// PULSEHUB_KEEP_CDK_OUT=1 keeps the synthesized templates for a look.
	if fx.outdir != "" && os.Getenv("PULSEHUB_KEEP_CDK_OUT") == "" {
		os.RemoveAll(fx.outdir)
	}
	jsii.Close()
	os.Exit(code)
}

func synth(t *testing.T) *fixture {
	t.Helper()
	once.Do(func() {
		defer func() {
			if r := recover(); r != nil {
				fx.err = fmt.Errorf("synth panicked: %v", r)
			}
		}()
		fx.err = doSynth()
	})
	if fx.err != nil {
		t.Fatal(fx.err)
	}
	return &fx
}

func doSynth() error {
	dir, err := os.MkdirTemp("", "pulsehub-cdk-")
	if err != nil {
		return err
	}
	fx.outdir = dir
	// Placeholder code: the tests must not need `make build`.
	assets := filepath.Join(dir, "assets")
	for _, f := range catalog.System().Functions {
		if err := os.MkdirAll(filepath.Join(assets, f.Name), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(assets, f.Name, "bootstrap"), []byte("placeholder "+f.Name), 0o755); err != nil {
			return err
		}
	}
	ctx := map[string]any{
		CtxEnv: "prod", CtxAssets: assets, CtxAllFunctions: "true", CtxAlarmEmail: "ops@example.com",
		CtxValidateRules: true,
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(filepath.Join(dir, "cdk.out")), Context: &ctx})
	prod, err := Synth(app)
	if err != nil {
		return fmt.Errorf("prod stack: %w", err)
	}
	devSettings, err := ParseSettings(func(k string) string {
		if k == CtxAssets {
			return assets
		}
		return ""
	})
	if err != nil {
		return err
	}
	devSettings.ManageAPIGWRole = false // one owner of the account setting per app
	dev, err := New(app, "PulseHub-dev", catalog.System(), devSettings, nil)
	if err != nil {
		return fmt.Errorf("dev stack: %w", err)
	}
	app.Synth(nil)
	fx.prod, fx.dev = prod, dev
	fx.prodT = assertions.Template_FromStack(prod.Stack, nil)
	fx.devT = assertions.Template_FromStack(dev.Stack, nil)
	for _, s := range []struct {
		name string
		dst  *template
	}{{"PulseHub-prod", &fx.prodJSON}, {"PulseHub-dev", &fx.devJSON}} {
		b, err := os.ReadFile(filepath.Join(dir, "cdk.out", s.name+".template.json"))
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, s.dst); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}

func (tpl template) ofType(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range tpl.Resources {
		if r.Type == typ {
			out[id] = r.Properties
		}
	}
	return out
}

// functionByName finds a function resource by its FunctionName.
func (tpl template) functionByName(name string) (string, map[string]any, bool) {
	for id, p := range tpl.ofType("AWS::Lambda::Function") {
		if p["FunctionName"] == name {
			return id, p, true
		}
	}
	return "", nil, false
}

// secretID finds a Secrets Manager secret's logical id by its Name; "" when absent.
func (tpl template) secretID(name string) string {
	for id, p := range tpl.ofType("AWS::SecretsManager::Secret") {
		if p["Name"] == name {
			return id
		}
	}
	return ""
}

func TestEveryCatalogFunction(t *testing.T) {
	f := synth(t)
	c := catalog.System()
	for _, tc := range []struct {
		stack *Stack
		tpl   template
		want  []catalog.Function
	}{{f.prod, f.prodJSON, c.Functions}, {f.dev, f.devJSON, c.Deployable()}} {
		env := tc.stack.Settings.Env
		if got := len(tc.tpl.ofType("AWS::Lambda::Function")); got != len(tc.want) {
			t.Errorf("%s: %d functions, want %d", env, got, len(tc.want))
		}
		for _, fn := range tc.want {
			name := "pulsehub-" + env + "-" + fn.Name
			_, p, ok := tc.tpl.functionByName(name)
			if !ok {
				t.Errorf("%s: function %s missing", env, name)
				continue
			}
			check := func(field string, got, want any) {
				t.Helper()
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s: %s = %v, want %v", name, field, got, want)
				}
			}
			check("Runtime", p["Runtime"], "provided.al2023")
			check("Architectures", p["Architectures"], []any{"arm64"})
			check("Handler", p["Handler"], "bootstrap")
			check("MemorySize", p["MemorySize"], fn.MemoryMB)
			check("Timeout", p["Timeout"], int(fn.Timeout.Seconds()))
			if fn.ReservedConcurrency > 0 {
				check("ReservedConcurrentExecutions", p["ReservedConcurrentExecutions"], fn.ReservedConcurrency)
			}
			vars, _ := p["Environment"].(map[string]any)["Variables"].(map[string]any)
			for _, k := range fn.Env {
				if v, ok := vars[k]; !ok || v == "" || v == nil {
					t.Errorf("%s: env %s not set", name, k)
				}
			}
			// Resolved from the generated secret at deploy time, never derivable.
			secret := tc.tpl.secretID("pulsehub/" + env + "/cursor")
			if got, _ := json.Marshal(vars[catalog.EnvCursorSecret]); secret == "" ||
				!strings.Contains(string(got), "{{resolve:secretsmanager:") || !strings.Contains(string(got), `"Ref":"`+secret+`"`) {
				t.Errorf("%s: %s = %s, want a resolve of the cursor secret", name, catalog.EnvCursorSecret, got)
			}
			if len(vars) != len(fn.Env) {
				t.Errorf("%s: env has %d keys, catalog lists %d: %v", name, len(vars), len(fn.Env), sortedKeys(vars))
			}
		}
	}
}

// TestAssertions checks with the CDK assertions library what the template
// must contain: the SQS mappings with the catalog's batch settings, schedules
// and rules, table, queues and API stages.
func TestAssertions(t *testing.T) {
	f := synth(t)
	c := catalog.System()
	tpl := f.prodT
	ok := func(what string, fn func()) {
		t.Helper()
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("%s: %v", what, r)
			}
		}()
		fn()
	}
	for _, fn := range c.Functions {
		fnID, _, _ := f.prodJSON.functionByName("pulsehub-prod-" + fn.Name)
		if q := fn.Queue; q != nil {
			props := map[string]any{
				"FunctionName":                   map[string]any{"Ref": fnID},
				"BatchSize":                      q.BatchSize,
				"FunctionResponseTypes":          []any{"ReportBatchItemFailures"},
				"EventSourceArn":                 map[string]any{"Fn::GetAtt": []any{f.logicalID(f.prod.Queues[q.Queue].Node().DefaultChild()), "Arn"}},
				"ScalingConfig":                  map[string]any{"MaximumConcurrency": q.MaxConcurrency},
				"MaximumBatchingWindowInSeconds": assertions.Match_Absent(),
			}
			if q.BatchWindow > 0 {
				props["MaximumBatchingWindowInSeconds"] = int(q.BatchWindow.Seconds())
			}
			ok(fn.Name+" event source mapping", func() {
				tpl.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), assertions.Match_ObjectLike(&props))
			})
		}
		for _, s := range fn.Schedules {
			ok(fn.Name+" schedule "+s.Name, func() {
				tpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), assertions.Match_ObjectLike(&map[string]any{
					"ScheduleExpression": s.Expression,
					"Targets": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
						"Arn":              map[string]any{"Fn::GetAtt": []any{fnID, "Arn"}},
						"DeadLetterConfig": assertions.Match_ObjectLike(&map[string]any{}),
					})}),
				}))
			})
		}
		for _, e := range fn.Events {
			ok(fn.Name+" rule "+e.Name, func() {
				tpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), assertions.Match_ObjectLike(&map[string]any{
					"EventPattern": map[string]any{"source": []any{c.Bus.Source}, "detail-type": toAny(e.DetailTypes)},
					"Targets": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
						"Arn": map[string]any{"Fn::GetAtt": []any{fnID, "Arn"}},
					})}),
				}))
			})
		}
	}
	ok("table", func() {
		tpl.HasResource(jsii.String("AWS::DynamoDB::Table"), &map[string]any{
			"DeletionPolicy": "Retain",
			"Properties": assertions.Match_ObjectLike(&map[string]any{
				"BillingMode":                      "PAY_PER_REQUEST",
				"DeletionProtectionEnabled":        true,
				"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
				"TimeToLiveSpecification":          map[string]any{"AttributeName": c.Table.TTLAttribute, "Enabled": true},
				"SSESpecification":                 assertions.Match_ObjectLike(&map[string]any{"SSEEnabled": true, "SSEType": "KMS"}),
				"KeySchema": []any{
					map[string]any{"AttributeName": c.Table.PartitionKey, "KeyType": "HASH"},
					map[string]any{"AttributeName": c.Table.SortKey, "KeyType": "RANGE"},
				},
			}),
		})
	})
	ok("dev table deletable", func() {
		f.devT.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), assertions.Match_ObjectLike(&map[string]any{
			"DeletionProtectionEnabled": false,
		}))
	})
	for _, q := range c.Queues {
		ok("queue "+q.Name, func() {
			tpl.HasResourceProperties(jsii.String("AWS::SQS::Queue"), assertions.Match_ObjectLike(&map[string]any{
				"VisibilityTimeout":      int(q.VisibilityTimeout.Seconds()),
				"MessageRetentionPeriod": int(q.Retention.Seconds()),
				"KmsMasterKeyId":         assertions.Match_AnyValue(),
				"RedrivePolicy": map[string]any{
					"deadLetterTargetArn": map[string]any{"Fn::GetAtt": []any{f.logicalID(f.prod.Queues[q.DLQName()].Node().DefaultChild()), "Arn"}},
					"maxReceiveCount":     q.MaxReceiveCount,
				},
			}))
		})
	}
	ok("http stage throttling and access logs", func() {
		tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), assertions.Match_ObjectLike(&map[string]any{
			"StageName":            "$default",
			"DefaultRouteSettings": assertions.Match_ObjectLike(&map[string]any{"ThrottlingRateLimit": 500, "ThrottlingBurstLimit": 1000}),
			"AccessLogSettings":    assertions.Match_ObjectLike(&map[string]any{"DestinationArn": assertions.Match_AnyValue()}),
		}))
	})
	ok("websocket stage access logs", func() {
		tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), assertions.Match_ObjectLike(&map[string]any{
			"StageName":         "prod",
			"AccessLogSettings": assertions.Match_ObjectLike(&map[string]any{"DestinationArn": assertions.Match_AnyValue()}),
		}))
	})
	ok("backup selection", func() {
		tpl.ResourceCountIs(jsii.String("AWS::Backup::BackupSelection"), jsii.Number(1))
	})
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func (f *fixture) logicalID(c any) string {
	el, ok := c.(awscdk.CfnElement)
	if !ok {
		panic(fmt.Sprintf("%T is not a CfnElement", c))
	}
	return *f.prod.Stack.GetLogicalId(el)
}

// TestRoutes checks every HTTP and WebSocket route key of the catalog.
func TestRoutes(t *testing.T) {
	f := synth(t)
	var got []string
	for _, p := range f.prodJSON.ofType("AWS::ApiGatewayV2::Route") {
		got = append(got, fmt.Sprint(p["RouteKey"]))
	}
	var want []string
	for _, fn := range catalog.System().Functions {
		for _, r := range fn.HTTP {
			want = append(want, r.String())
		}
		want = append(want, fn.WebSocket...)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("routes\n got %v\nwant %v", got, want)
	}
}

// allowedWildcards are the only resources with "*" an IAM policy may name;
// docs/operations.md ("IAM wildcards") explains each.
var allowedWildcards = []*regexp.Regexp{
	// GSIs of the one table: DynamoDB authorises Query on <table>/index/<name>.
	regexp.MustCompile(`^\{"Fn::Join":\["",\[\{"Fn::GetAtt":\["Table[0-9A-F]+","Arn"\]\},"/index/\*"\]\]\}$`),
	// Connection ids are created by API Gateway at run time.
	regexp.MustCompile(`^\{"Fn::Join":\["",\[.*":execute-api:".*"/(prod|dev)/\*/@connections/\*"\]\]\}$`),
	// Provider credentials are created per name at run time under the prefix.
	regexp.MustCompile(`^\{"Fn::Join":\["",\[.*":secretsmanager:.*:secret:pulsehub/(prod|dev)/providers/\*"\]\]\}$`),
}

// TestNoWildcardResources scans every identity and resource policy.
func TestNoWildcardResources(t *testing.T) {
	f := synth(t)
	for _, tpl := range []template{f.prodJSON, f.devJSON} {
		for id, r := range tpl.Resources {
			var docs []any
			switch r.Type {
			case "AWS::IAM::Policy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy", "AWS::Events::EventBusPolicy":
				docs = append(docs, r.Properties["PolicyDocument"])
			case "AWS::IAM::Role":
				for _, p := range asSlice(r.Properties["Policies"]) {
					docs = append(docs, p.(map[string]any)["PolicyDocument"])
				}
			case "AWS::KMS::Key":
				// A key policy's Resource "*" means the key itself.
				continue
			}
			for _, d := range docs {
				for _, s := range asSlice(d.(map[string]any)["Statement"]) {
					st := s.(map[string]any)
					for _, res := range asSlice(st["Resource"]) {
						b, _ := json.Marshal(res)
						if !strings.Contains(string(b), "*") {
							continue
						}
						if !slices.ContainsFunc(allowedWildcards, func(re *regexp.Regexp) bool { return re.Match(b) }) {
							t.Errorf("%s: statement %v has wildcard resource %s", id, st["Action"], b)
						}
					}
				}
			}
		}
	}
}

func asSlice(v any) []any {
	switch v := v.(type) {
	case []any:
		return v
	case nil:
		return nil
	default:
		return []any{v}
	}
}

// TestNag fails on any unsuppressed cdk-nag error and lists the warnings.
func TestNag(t *testing.T) {
	f := synth(t)
	for _, s := range []*Stack{f.prod, f.dev} {
		a := assertions.Annotations_FromStack(s.Stack)
		for _, m := range *a.FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String(".*"))) {
			t.Errorf("%s: %v", *m.Id, m.Entry.Data)
		}
		for _, m := range *a.FindWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))) {
			t.Logf("warning %s: %v", *m.Id, m.Entry.Data)
		}
	}
}

// TestCfnLint runs cfn-lint over both synthesized templates.
func TestCfnLint(t *testing.T) {
	f := synth(t)
	var paths []string
	for _, name := range []string{"PulseHub-prod", "PulseHub-dev"} {
		paths = append(paths, filepath.Join(f.outdir, "cdk.out", name+".template.json"))
	}
	// W3005 (a DependsOn also implied by a GetAtt) is how CDK orders a
	// function after its role's policy; it is harmless.
	cfnlint.Check(t, []string{"W3005"}, paths...)
}

// TestCloudFormationValidation reads the report of CDK's built-in
// CloudFormation validation, which runs during synth with
// @aws-cdk/core:validateAgainstDefaultRules (errors fail the synth itself).
func TestCloudFormationValidation(t *testing.T) {
	f := synth(t)
	b, err := os.ReadFile(filepath.Join(f.outdir, "cdk.out", "validation-report.json"))
	if err != nil {
		t.Fatalf("no validation report: is the built-in validation disabled (CDK_VALIDATION=false)? %v", err)
	}
	var report struct {
		PluginReports []struct {
			PluginName string `json:"pluginName"`
			Summary    struct {
				Status string `json:"status"`
			} `json:"summary"`
			Violations []any `json:"violations"`
		} `json:"pluginReports"`
	}
	if err := json.Unmarshal(b, &report); err != nil {
		t.Fatal(err)
	}
	for _, r := range report.PluginReports {
		if len(r.Violations) > 0 || (r.Summary.Status != "" && r.Summary.Status != "success") {
			t.Errorf("%s: %s, %d violations: %v", r.PluginName, r.Summary.Status, len(r.Violations), r.Violations)
		}
	}
}

func TestParseSettings(t *testing.T) {
	tests := []struct {
		name    string
		ctx     map[string]string
		wantErr string
		check   func(Settings) bool
	}{
		{"defaults to dev", nil, "", func(s Settings) bool { return s.Env == "dev" && s.LogLevel == "debug" && !s.IncludePlanned }},
		{"prod", map[string]string{CtxEnv: "prod"}, "", func(s Settings) bool { return s.Prod() && s.HTTPRateLimit == 500 && s.LogLevel == "info" }},
		{"throttle override", map[string]string{CtxHTTPRate: "42"}, "", func(s Settings) bool { return s.HTTPRateLimit == 42 }},
		{"unknown env", map[string]string{CtxEnv: "staging"}, `pulsehub:env="staging": want dev or prod`, nil},
		{"bad number", map[string]string{CtxHTTPBurst: "lots"}, `pulsehub:httpBurstLimit="lots"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSettings(func(k string) string { return tt.ctx[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.check(s) {
				t.Fatalf("ParseSettings = %+v, %v", s, err)
			}
		})
	}
}

func TestMissingAsset(t *testing.T) {
	s := Settings{AssetDir: t.TempDir()}
	_, err := s.assetPath("api")
	if err == nil || !strings.Contains(err.Error(), "run `make build` first") {
		t.Fatalf("err = %v", err)
	}
}
