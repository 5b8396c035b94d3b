package apitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// FramesPath holds the WebSocket frames' JSON Schemas, relative to the
// repository root.
const FramesPath = "docs/api/websocket.schema.json"

// FrameSchemas are the WebSocket frames' schemas, by the client's action
// and by the server's type.
type FrameSchemas struct {
	actions map[string]*jsonschema.Schema
	types   map[string]*jsonschema.Schema
}

var loadFrames = sync.OnceValues(func() (*FrameSchemas, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(filepath.Join(root, FramesPath))
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", FramesPath, err)
	}
	const url = "file:///websocket.schema.json"
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("%s: %w", FramesPath, err)
	}
	// Every definition with a constant action is a client frame, every one
	// with a constant type a server frame.
	var defs struct {
		Defs map[string]struct {
			Properties struct {
				Action, Type struct {
					Const string `json:"const"`
				}
			} `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(raw, &defs); err != nil {
		return nil, fmt.Errorf("%s: %w", FramesPath, err)
	}
	f := &FrameSchemas{actions: map[string]*jsonschema.Schema{}, types: map[string]*jsonschema.Schema{}}
	for name, d := range defs.Defs {
		if d.Properties.Action.Const == "" && d.Properties.Type.Const == "" {
			continue
		}
		s, err := c.Compile(url + "#/$defs/" + name)
		if err != nil {
			return nil, fmt.Errorf("%s: $defs/%s: %w", FramesPath, name, err)
		}
		if a := d.Properties.Action.Const; a != "" {
			f.actions[a] = s
		}
		if t := d.Properties.Type.Const; t != "" {
			f.types[t] = s
		}
	}
	// The unions must compile too: they are what a client generator reads.
	for _, union := range []string{"clientFrame", "serverFrame"} {
		if _, err := c.Compile(url + "#/$defs/" + union); err != nil {
			return nil, fmt.Errorf("%s: $defs/%s: %w", FramesPath, union, err)
		}
	}
	return f, nil
})

// Frames returns the WebSocket frame schemas, failing t if they cannot be
// read or compiled.
func Frames(t testing.TB) *FrameSchemas {
	t.Helper()
	f, err := loadFrames()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// ClientError says why frame is not a client frame the schemas allow (nil
// when it is one).
func (f *FrameSchemas) ClientError(frame []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(frame))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("not a JSON object")
	}
	action, _ := obj["action"].(string)
	s, ok := f.actions[action]
	if !ok {
		return fmt.Errorf("action %q is not in %s", action, FramesPath)
	}
	return s.Validate(v)
}

// CheckServer fails t unless frame is a server frame the schemas allow.
func (f *FrameSchemas) CheckServer(t testing.TB, frame []byte) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(frame))
	if err != nil {
		t.Errorf("server frame is not JSON (%v): %s", err, frame)
		return
	}
	obj, _ := v.(map[string]any)
	typ, _ := obj["type"].(string)
	s, ok := f.types[typ]
	if !ok {
		t.Errorf("server frame of type %q is not in %s: add a definition with \"type\": {\"const\": %q} to $defs and to serverFrame, and the frame to docs/api/websocket.md: %s",
			typ, FramesPath, typ, frame)
		return
	}
	if err := s.Validate(v); err != nil {
		t.Errorf("server frame does not match its schema in %s; fix the frame or the schema:\n%v\nframe: %s", FramesPath, err, frame)
	}
}

// CheckExchange checks a client frame and the server's replies to it:
// every reply is an allowed server frame, and a client frame the schemas
// refuse is answered with an error frame (only).
func (f *FrameSchemas) CheckExchange(t testing.TB, sent []byte, replies ...[]byte) {
	t.Helper()
	for _, r := range replies {
		f.CheckServer(t, r)
	}
	cerr := f.ClientError(sent)
	if cerr == nil {
		return
	}
	for _, r := range replies {
		var head struct{ Type string }
		if json.Unmarshal(r, &head) != nil || head.Type != "error" {
			t.Errorf("client frame %s is not allowed by %s (%v), but the server answered %s instead of an error frame",
				sent, FramesPath, cerr, r)
		}
	}
	if len(replies) == 0 {
		t.Errorf("client frame %s is not allowed by %s (%v), but the server sent no error frame", sent, FramesPath, cerr)
	}
}
