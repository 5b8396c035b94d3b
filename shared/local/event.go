package local

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pulsehub/pulsehub/shared/catalog"
)

// EventType returns the aws-lambda-go event type a function receives,
// inferred from its trigger.
func EventType(fn catalog.Function) (reflect.Type, error) {
	switch {
	case len(fn.HTTP) > 0:
		return reflect.TypeFor[events.APIGatewayV2HTTPRequest](), nil
	case len(fn.WebSocket) > 0:
		return reflect.TypeFor[events.APIGatewayWebsocketProxyRequest](), nil
	case fn.Queue != nil:
		return reflect.TypeFor[events.SQSEvent](), nil
	case len(fn.Schedules) > 0 || len(fn.Events) > 0:
		return reflect.TypeFor[events.CloudWatchEvent](), nil
	}
	return nil, fmt.Errorf("function %s has no trigger", fn.Name)
}

// DecodeEvent strictly decodes data into the event type of fn: unknown
// fields, wrong types and missing essentials are errors naming the field by
// its JSON path, e.g. "Records[0].body: want a string, got a number".
func DecodeEvent(fn catalog.Function, data []byte) (any, error) {
	t, err := EventType(fn)
	if err != nil {
		return nil, err
	}
	return DecodeStrict(t, data)
}

// DecodeStrict decodes data into a new value of type t (returned as a
// pointer), rejecting anything encoding/json would silently drop or coerce.
func DecodeStrict(t reflect.Type, data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON value")
	}
	if err := check("", raw, t); err != nil {
		return nil, err
	}
	v := reflect.New(t)
	if err := json.Unmarshal(data, v.Interface()); err != nil {
		return nil, err
	}
	if err := essentials(v.Interface()); err != nil {
		return nil, err
	}
	return v.Interface(), nil
}

var unmarshaler = reflect.TypeFor[json.Unmarshaler]()

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

func at(path, msg string, a ...any) error {
	if path == "" {
		path = "(root)"
	}
	return fmt.Errorf("%s: %s", path, fmt.Sprintf(msg, a...))
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// check walks raw (decoded with UseNumber) against t.
func check(path string, raw any, t reflect.Type) error {
	if raw == nil {
		return nil // null leaves the zero value, as encoding/json does
	}
	if t == reflect.TypeFor[json.RawMessage]() {
		return nil // any JSON value
	}
	if reflect.PointerTo(t).Implements(unmarshaler) {
		b, _ := json.Marshal(raw)
		if err := json.Unmarshal(b, reflect.New(t).Interface()); err != nil {
			return at(path, "%v", err)
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		return check(path, raw, t.Elem())
	case reflect.Interface:
		return nil
	case reflect.Struct:
		obj, ok := raw.(map[string]any)
		if !ok {
			return at(path, "want an object, got %s", describe(raw))
		}
		fields := jsonFields(t)
		for k, v := range obj {
			ft, ok := fields[k]
			if !ok {
				hint := ""
				for name := range fields {
					if strings.EqualFold(name, k) {
						hint = fmt.Sprintf(" (did you mean %q?)", name)
					}
				}
				return at(join(path, k), "unknown field for %s%s", t.Name(), hint)
			}
			if err := check(join(path, k), v, ft); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		obj, ok := raw.(map[string]any)
		if !ok {
			return at(path, "want an object, got %s", describe(raw))
		}
		for k, v := range obj {
			if err := check(join(path, k), v, t.Elem()); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			if _, ok := raw.(string); !ok {
				return at(path, "want a base64 string, got %s", describe(raw))
			}
			return nil
		}
		arr, ok := raw.([]any)
		if !ok {
			return at(path, "want an array, got %s", describe(raw))
		}
		for i, v := range arr {
			if err := check(fmt.Sprintf("%s[%d]", path, i), v, t.Elem()); err != nil {
				return err
			}
		}
		return nil
	case reflect.String:
		if _, ok := raw.(string); !ok {
			return at(path, "want a string, got %s", describe(raw))
		}
	case reflect.Bool:
		if _, ok := raw.(bool); !ok {
			return at(path, "want a boolean, got %s", describe(raw))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := raw.(json.Number)
		if !ok {
			return at(path, "want an integer, got %s", describe(raw))
		}
		if _, err := n.Int64(); err != nil {
			return at(path, "want an integer, got %s", n)
		}
	case reflect.Float32, reflect.Float64:
		if _, ok := raw.(json.Number); !ok {
			return at(path, "want a number, got %s", describe(raw))
		}
	}
	return nil
}

// jsonFields maps JSON names to field types, promoting embedded structs.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				for k, v := range jsonFields(et) {
					if _, dup := out[k]; !dup {
						out[k] = v
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

// essentials checks the fields every real event of the type carries.
func essentials(v any) error {
	switch ev := v.(type) {
	case *events.SQSEvent:
		if len(ev.Records) == 0 {
			return at("Records", "an SQS event carries at least one record")
		}
		for i, r := range ev.Records {
			p := fmt.Sprintf("Records[%d]", i)
			switch {
			case r.MessageId == "":
				return at(p+".messageId", "required")
			case r.EventSource != "aws:sqs":
				return at(p+".eventSource", "want \"aws:sqs\", got %q", r.EventSource)
			case r.EventSourceARN == "":
				return at(p+".eventSourceARN", "required")
			}
		}
	case *events.APIGatewayV2HTTPRequest:
		switch {
		case ev.Version != "2.0":
			return at("version", "want \"2.0\" (HTTP API payload format 2.0), got %q", ev.Version)
		case ev.RawPath == "":
			return at("rawPath", "required")
		case ev.RequestContext.HTTP.Method == "":
			return at("requestContext.http.method", "required")
		}
	case *events.APIGatewayWebsocketProxyRequest:
		switch {
		case ev.RequestContext.RouteKey == "":
			return at("requestContext.routeKey", "required")
		case ev.RequestContext.ConnectionID == "":
			return at("requestContext.connectionId", "required")
		case ev.RequestContext.EventType == "":
			return at("requestContext.eventType", "required (CONNECT, MESSAGE or DISCONNECT)")
		}
	case *events.CloudWatchEvent:
		switch {
		case ev.DetailType == "":
			return at("detail-type", "required")
		case ev.Source == "":
			return at("source", "required")
		case len(ev.Detail) == 0:
			return at("detail", "required (an object)")
		}
	}
	return nil
}
