package lambdafn

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pulsehub/pulsehub/shared/metrics"
)

func TestNewHandlerFlushesMetricsAfterEachInvocation(t *testing.T) {
	var out bytes.Buffer
	rec := metrics.New(&out, "PulseHub", "test")
	h := NewHandler(func(ctx context.Context, in struct{ N int }) (int, error) {
		rec.Count(ctx, "Seen", float64(in.N))
		return in.N * 2, nil
	}, rec, slog.New(slog.DiscardHandler))

	res, err := h.Invoke(context.Background(), []byte(`{"N":3}`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(res)) != "6" {
		t.Fatalf("response %q", res)
	}
	if !strings.Contains(out.String(), `"Seen":3`) {
		t.Fatalf("metrics not flushed after the invocation: %q", out.String())
	}
}

func TestNewDepsNamesBadConfiguration(t *testing.T) {
	_, err := NewDeps(context.Background(), "webhooks", func(string) (string, bool) { return "", false }, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "TABLE_NAME is required by webhooks") {
		t.Fatalf("err = %v", err)
	}
	if _, err := NewDeps(context.Background(), "nope", func(string) (string, bool) { return "", false }, &bytes.Buffer{}); err == nil {
		t.Fatal("unknown function accepted")
	}
}

// TestAWSConfigTakesEndpointsFromLookup: a client built from AWSConfig
// sends its requests to the endpoint the lookup names for its service, with
// the lookup's region and credentials.
func TestAWSConfigTakesEndpointsFromLookup(t *testing.T) {
	var hits atomic.Int32
	var auth atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		auth.Store(r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		_, _ = io.WriteString(w, `{"TableNames":[]}`)
	}))
	defer srv.Close()
	env := map[string]string{
		"AWS_ENDPOINT_URL_DYNAMODB": srv.URL,
		"AWS_REGION":                "eu-west-3",
		"AWS_ACCESS_KEY_ID":         "AKIDLOOKUP",
		"AWS_SECRET_ACCESS_KEY":     "secret",
	}
	cfg, err := AWSConfig(context.Background(), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-west-3" {
		t.Errorf("region %q, want the lookup's", cfg.Region)
	}
	if _, err := dynamodb.NewFromConfig(cfg).ListTables(context.Background(), &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("ListTables against the lookup's endpoint: %v", err)
	}
	if hits.Load() != 1 {
		t.Fatalf("the endpoint from the lookup got %d requests, want 1", hits.Load())
	}
	if a, _ := auth.Load().(string); !strings.Contains(a, "Credential=AKIDLOOKUP/") || !strings.Contains(a, "/eu-west-3/dynamodb/") {
		t.Errorf("request signed as %q, want the lookup's key and region", a)
	}
}

// TestEndpointSourceNaming: the service id becomes the SDK's variable name
// (AWS_ENDPOINT_URL_ + upper case, spaces as underscores), and a service the
// lookup does not name is not found, so the SDK asks its next source (the
// process environment, the shared config).
func TestEndpointSourceNaming(t *testing.T) {
	env := map[string]string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER":         "http://secrets.local",
		"AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI": "http://ws.local",
		"AWS_ENDPOINT_URL_DYNAMODB":                "http://dynamodb.local",
	}
	src := endpointSource(func(k string) string { return env[k] })
	tests := []struct {
		sdkID  string
		want   string
		wantOK bool
	}{
		{"Secrets Manager", "http://secrets.local", true},
		{"ApiGatewayManagementApi", "http://ws.local", true},
		{"DynamoDB", "http://dynamodb.local", true},
		{"SQS", "", false},
	}
	for _, tt := range tests {
		got, ok, err := src.GetServiceBaseEndpoint(context.Background(), tt.sdkID)
		if err != nil || got != tt.want || ok != tt.wantOK {
			t.Errorf("%q: (%q, %v, %v), want (%q, %v, nil)", tt.sdkID, got, ok, err, tt.want, tt.wantOK)
		}
	}
}
