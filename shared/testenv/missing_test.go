package testenv

import (
	"testing"
)

// fatalTB records the message of the first Fatal/Fatalf call and stops the
// calling goroutine like testing.T would (via panic, recovered by the test).
type fatalTB struct {
	testing.TB
	msg string
}

type fatalStop struct{}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatal(args ...any) {
	f.msg = fmtArgs(args...)
	panic(fatalStop{})
}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = format
	panic(fatalStop{})
}

func fmtArgs(args ...any) string {
	if len(args) == 1 {
		if s, ok := args[0].(string); ok {
			return s
		}
	}
	return "unexpected Fatal arguments"
}

func TestMissingEndpointsFailsWithOneLine(t *testing.T) {
	for _, env := range [][2]string{
		{"AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:1"}, // SQS missing
		{"AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:1"},      // DynamoDB missing
		{"AWS_REGION", "us-east-1"},                         // nothing set
	} {
		t.Run(env[0], func(t *testing.T) {
			for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS"} {
				t.Setenv(k, "")
			}
			t.Setenv(env[0], env[1])
			f := &fatalTB{TB: t}
			func() {
				defer func() {
					if r := recover(); r != nil {
						if _, ok := r.(fatalStop); !ok {
							panic(r)
						}
					}
				}()
				AWSConfig(f)
				t.Fatal("AWSConfig returned without failing the test")
			}()
			if f.msg != MissingEndpoints {
				t.Fatalf("failure message = %q, want %q", f.msg, MissingEndpoints)
			}
		})
	}
}

func TestGenericEndpointIsEnough(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", "")
	t.Setenv("AWS_ENDPOINT_URL_SQS", "")
	t.Setenv("AWS_ENDPOINT_URL", "http://localhost:4566")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	cfg := AWSConfig(t)
	if cfg.Region != defaultRegion {
		t.Errorf("Region = %q, want %q", cfg.Region, defaultRegion)
	}
	creds, err := cfg.Credentials.Retrieve(t.Context())
	if err != nil || creds.AccessKeyID != localKey {
		t.Errorf("credentials = %+v, %v; want static %q", creds, err, localKey)
	}
}

func TestIgnoreConfiguredEndpointsIsRefused(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "http://localhost:4566")
	t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
	if endpointsConfigured() {
		t.Fatal("endpointsConfigured() = true although the SDK would ignore the endpoints")
	}
}
