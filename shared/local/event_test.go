package local

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/chat"
	"github.com/pulsehub/pulsehub/shared/ingest"
)

// sampleType maps an events/ file name prefix to its aws-lambda-go type.
func sampleType(name string) reflect.Type {
	switch {
	case strings.HasPrefix(name, "http-"):
		return reflect.TypeFor[events.APIGatewayV2HTTPRequest]()
	case strings.HasPrefix(name, "ws-"):
		return reflect.TypeFor[events.APIGatewayWebsocketProxyRequest]()
	case strings.HasPrefix(name, "sqs-"):
		return reflect.TypeFor[events.SQSEvent]()
	case strings.HasPrefix(name, "eventbridge-"):
		return reflect.TypeFor[events.CloudWatchEvent]()
	}
	return nil
}

// TestSampleEventsRoundTrip decodes every events/*.json strictly into its
// type and re-encodes it without loss, like aws-lambda-go's testdata tests.
func TestSampleEventsRoundTrip(t *testing.T) {
	files, err := filepath.Glob("../../events/*.json")
	if err != nil || len(files) < 8 {
		t.Fatalf("want at least 8 sample events, found %d (%v)", len(files), err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			typ := sampleType(filepath.Base(f))
			if typ == nil {
				t.Fatalf("no event type for %s: name it http-, ws-, sqs- or eventbridge-…", f)
			}
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			v, err := DecodeStrict(typ, data)
			if err != nil {
				t.Fatal(err)
			}
			out, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			var want, got any
			_ = json.Unmarshal(data, &want)
			_ = json.Unmarshal(out, &got)
			if !reflect.DeepEqual(want, got) {
				t.Fatalf("round trip lost data; re-encoded:\n%s", out)
			}
			// Queue samples carry what their queue carries: each body is a
			// current ingest envelope or chat job, and its MD5 is the one
			// SQS reports.
			if ev, ok := v.(*events.SQSEvent); ok {
				for _, r := range ev.Records {
					var err error
					switch {
					case strings.HasSuffix(r.EventSourceARN, "-"+catalog.QueueIngest):
						_, err = ingest.Decode([]byte(r.Body))
					case strings.HasSuffix(r.EventSourceARN, "-"+catalog.QueueChat):
						_, err = chat.DecodeJob([]byte(r.Body))
					default:
						err = fmt.Errorf("eventSourceARN %s names no queue with a decoder here", r.EventSourceARN)
					}
					if err != nil {
						t.Errorf("record %s: %v", r.MessageId, err)
					}
					if sum := md5.Sum([]byte(r.Body)); hex.EncodeToString(sum[:]) != r.Md5OfBody {
						t.Errorf("record %s: md5OfBody %s does not match its body", r.MessageId, r.Md5OfBody)
					}
				}
			}
		})
	}
}

func TestDecodeEventErrors(t *testing.T) {
	cat := catalog.System()
	ingest, _ := cat.Function("ingest")
	api, _ := cat.Function("api")
	wsMsg, _ := cat.Function("ws-message")
	seg, _ := cat.Function("segment")
	tests := []struct {
		fn   catalog.Function
		data string
		want string
	}{
		{ingest, `{"Records":[{"messageId":"m","body":42}]}`, "Records[0].body: want a string, got a number"},
		{ingest, `{"Records":[{"messageId":"m","bdy":"x"}]}`, "Records[0].bdy: unknown field"},
		{ingest, `{"Records":[{"messageId":"m","Body":"x"}]}`, `did you mean "body"?`},
		{ingest, `{"Records":[]}`, "Records: an SQS event carries at least one record"},
		{ingest, `{"Records":[{"messageId":"m","body":"x","eventSource":"aws:sqs"}]}`, "Records[0].eventSourceARN: required"},
		{ingest, `{"Records":[{"messageId":"m","messageAttributes":{"a":{"dataType":5}}}]}`, "Records[0].messageAttributes.a.dataType: want a string"},
		{ingest, `{"Records":{}}`, "Records: want an array, got an object"},
		{ingest, `{"Records":[]} x`, "trailing data"},
		{ingest, `{"Records":[`, "not valid JSON"},
		{api, `{"version":"2.0","rawPath":"/v1/me","requestContext":{"http":{"method":"GET"},"timeEpoch":"soon"}}`, "requestContext.timeEpoch: want an integer"},
		{api, `{"version":"1.0","rawPath":"/v1/me"}`, "version: want \"2.0\""},
		{api, `{"version":"2.0","rawPath":"/v1/me","isBase64Encoded":"no"}`, "isBase64Encoded: want a boolean"},
		{wsMsg, `{"requestContext":{"routeKey":"$default","eventType":"MESSAGE"}}`, "requestContext.connectionId: required"},
		{seg, `{"detail-type":"Scheduled Event","source":"aws.events","time":"yesterday","detail":{}}`, "time:"},
		{seg, `{"source":"aws.events","detail":{}}`, "detail-type: required"},
		{catalog.Function{Name: "x"}, `{}`, "has no trigger"},
	}
	for _, tc := range tests {
		_, err := DecodeEvent(tc.fn, []byte(tc.data))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s: error %v, want %q", tc.fn.Name, tc.data, err, tc.want)
		}
	}
}

func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{`{"Records":[{"messageId":"m","body":"b","eventSource":"aws:sqs","eventSourceARN":"a"}]}`, `{"Records":[{"attributes":{"a":1}}]}`, `[]`, `null`} {
		f.Add([]byte(s))
	}
	typ := reflect.TypeFor[events.SQSEvent]()
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := DecodeStrict(typ, data)
		if err != nil {
			return
		}
		// Anything accepted must decode with encoding/json too.
		if err := json.Unmarshal(data, new(events.SQSEvent)); err != nil {
			t.Fatalf("accepted %q but encoding/json fails: %v", data, err)
		}
		if len(v.(*events.SQSEvent).Records) == 0 {
			t.Fatalf("accepted an event without records: %q", data)
		}
	})
}
