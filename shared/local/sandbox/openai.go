package sandbox

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// OpenAI emulates the Chat Completions API of OpenAI and the servers
// compatible with it (Ollama, vLLM, Azure OpenAI): POST /v1/chat/completions
// with a bearer key, answered as one JSON object or, with "stream": true, as
// server-sent events of chat.completion.chunk objects ending in
// "data: [DONE]", including tool calls (an id and name first, the arguments
// in fragments, finish_reason "tool_calls") and, when the request asks with
// stream_options.include_usage, a last chunk with the token usage.
//
// What the "model" answers is a Script, set per test; every request is
// recorded as the client sent it (Requests), so tests assert on the model,
// messages and tool schemas the real client produced.
type OpenAI struct {
	now func() time.Time

	mu       sync.Mutex
	script   OpenAIScript
	requests []OpenAIRequest
	calls    int
}

// OpenAIScript decides the answer to one request.
type OpenAIScript func(req OpenAIRequest) OpenAIReply

// OpenAIRequest is one chat completion request as the emulator decoded it.
type OpenAIRequest struct {
	APIKey       string // from Authorization: Bearer
	Model        string
	Messages     []OpenAIMessage
	Tools        []OpenAITool
	Stream       bool
	IncludeUsage bool
	Raw          json.RawMessage // the request body as sent
}

// OpenAIMessage is one message of a request.
type OpenAIMessage struct {
	Role       string           `json:"role"`
	Content    string           `json:"content"`
	ToolCalls  []OpenAIToolCall `json:"tool_calls,omitempty"`
	ToolCallID string           `json:"tool_call_id,omitempty"`
}

// OpenAITool is one function tool offered to the model.
type OpenAITool struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
}

// OpenAIToolCall is a function call (in a reply, or in an assistant
// message of a request).
type OpenAIToolCall struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// OpenAIReply is what the scripted model answers.
type OpenAIReply struct {
	// Content is the answer text, one stream chunk per piece.
	Content []string
	// ToolCalls ends the answer with finish_reason "tool_calls".
	ToolCalls []OpenAIToolCall
	// Status, when not 0, answers with OpenAI's error object instead.
	Status  int
	Message string // the error message
	// FirstByte delays the response headers; Gap is the pause before each
	// later chunk. Both end early when the client goes away.
	FirstByte, Gap time.Duration
	// PromptTokens and CompletionTokens are reported as usage; 0 estimates
	// them from the text (4 characters a token).
	PromptTokens, CompletionTokens int
}

// NewOpenAI returns the emulator with EchoScript; now may be nil.
func NewOpenAI(now func() time.Time) *OpenAI {
	if now == nil {
		now = time.Now
	}
	return &OpenAI{now: now, script: EchoScript}
}

// EchoScript is the default model: it says it is the sandbox and repeats
// the last user message, so `make dev` with OPENAI_API_KEY set to anything
// shows the model path working without a real model.
func EchoScript(req OpenAIRequest) OpenAIReply {
	last := ""
	for _, m := range req.Messages {
		if m.Role == "user" {
			last = m.Content
		}
	}
	return OpenAIReply{Content: []string{"This is the local OpenAI sandbox", " (no real model).", " You asked: ", last}}
}

// Name implements Provider.
func (o *OpenAI) Name() string { return "openai" }

// SetScript replaces the script (nil restores EchoScript).
func (o *OpenAI) SetScript(s OpenAIScript) {
	if s == nil {
		s = EchoScript
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.script = s
}

// Requests returns the requests received so far, oldest first.
func (o *OpenAI) Requests() []OpenAIRequest {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]OpenAIRequest(nil), o.requests...)
}

// Reset forgets the recorded requests.
func (o *OpenAI) Reset() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.requests = nil
}

// Handler implements Provider.
func (o *OpenAI) Handler(Env) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", o.completions)
	mux.HandleFunc("GET /v1/models", func(w http.ResponseWriter, r *http.Request) {
		openAIJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []map[string]any{{"id": "sandbox-model", "object": "model", "owned_by": "pulsehub"}}})
	})
	return mux
}

// openAIError writes OpenAI's error object.
func openAIError(w http.ResponseWriter, status int, typ, code, msg string) {
	openAIJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "type": typ, "code": code, "param": nil}})
}

func openAIJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// wireRequest is the part of the request body the emulator reads.
type wireRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role       string          `json:"role"`
		Content    json.RawMessage `json:"content"`
		ToolCallID string          `json:"tool_call_id"`
		ToolCalls  []struct {
			ID       string `json:"id"`
			Type     string `json:"type"`
			Function struct {
				Name      string `json:"name"`
				Arguments string `json:"arguments"`
			} `json:"function"`
		} `json:"tool_calls"`
	} `json:"messages"`
	Tools []struct {
		Type     string     `json:"type"`
		Function OpenAITool `json:"function"`
	} `json:"tools"`
	Stream        bool `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

func (o *OpenAI) completions(w http.ResponseWriter, r *http.Request) {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || strings.TrimSpace(key) == "" {
		openAIError(w, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", "You didn't provide an API key (Authorization: Bearer <key>).")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		openAIError(w, http.StatusBadRequest, "invalid_request_error", "", "could not read the body: "+err.Error())
		return
	}
	var wr wireRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&wr); err != nil {
		openAIError(w, http.StatusBadRequest, "invalid_request_error", "", "We could not parse the JSON body of your request: "+err.Error())
		return
	}
	req, problem := decodeRequest(wr)
	if problem != "" {
		openAIError(w, http.StatusBadRequest, "invalid_request_error", "", problem)
		return
	}
	req.APIKey, req.Raw = key, json.RawMessage(body)
	o.mu.Lock()
	o.requests = append(o.requests, req)
	o.calls++
	n, script := o.calls, o.script
	o.mu.Unlock()

	reply := script(req)
	if !openAIWait(r, reply.FirstByte) {
		return
	}
	if reply.Status != 0 {
		openAIError(w, reply.Status, "server_error", "", cmp.Or(reply.Message, http.StatusText(reply.Status)))
		return
	}
	id := fmt.Sprintf("chatcmpl-sandbox-%d", n)
	usage := o.usage(req, reply)
	if !req.Stream {
		openAIJSON(w, http.StatusOK, o.completion(id, req.Model, reply, usage))
		return
	}
	o.stream(w, r, id, req, reply, usage)
}

// decodeRequest checks the request as OpenAI does and flattens it.
func decodeRequest(wr wireRequest) (OpenAIRequest, string) {
	req := OpenAIRequest{Model: wr.Model, Stream: wr.Stream, IncludeUsage: wr.StreamOptions != nil && wr.StreamOptions.IncludeUsage}
	if wr.Model == "" {
		return req, "you must provide a model parameter"
	}
	if len(wr.Messages) == 0 {
		return req, "'messages' must contain at least one message"
	}
	calls := map[string]bool{}
	for i, m := range wr.Messages {
		msg := OpenAIMessage{Role: m.Role, ToolCallID: m.ToolCallID}
		if len(m.Content) > 0 && string(m.Content) != "null" {
			if err := json.Unmarshal(m.Content, &msg.Content); err != nil {
				return req, fmt.Sprintf("messages[%d].content: expected a string", i)
			}
		}
		switch m.Role {
		case "system", "user", "assistant", "developer":
		case "tool":
			if !calls[m.ToolCallID] {
				return req, fmt.Sprintf("messages[%d]: messages with role 'tool' must be a response to a preceding message with 'tool_calls' (unknown tool_call_id %q)", i, m.ToolCallID)
			}
		default:
			return req, fmt.Sprintf("messages[%d].role: %q is not one of system, user, assistant, tool", i, m.Role)
		}
		for _, tc := range m.ToolCalls {
			calls[tc.ID] = true
			msg.ToolCalls = append(msg.ToolCalls, OpenAIToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
		}
		req.Messages = append(req.Messages, msg)
	}
	for i, t := range wr.Tools {
		if t.Type != "function" || t.Function.Name == "" {
			return req, fmt.Sprintf("tools[%d]: want {\"type\":\"function\",\"function\":{\"name\",...}}", i)
		}
		var schema map[string]any
		if err := json.Unmarshal(t.Function.Parameters, &schema); err != nil || schema["type"] != "object" {
			return req, fmt.Sprintf("tools[%d].function.parameters: want a JSON schema of type object", i)
		}
		req.Tools = append(req.Tools, t.Function)
	}
	return req, ""
}

func (o *OpenAI) usage(req OpenAIRequest, reply OpenAIReply) map[string]int {
	prompt, completion := reply.PromptTokens, reply.CompletionTokens
	if prompt == 0 {
		prompt = (len(req.Raw) + 3) / 4
	}
	if completion == 0 {
		n := 0
		for _, c := range reply.Content {
			n += len(c)
		}
		for _, tc := range reply.ToolCalls {
			n += len(tc.Name) + len(tc.Arguments)
		}
		completion = max(1, (n+3)/4)
	}
	return map[string]int{"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
}

func toolCallsJSON(calls []OpenAIToolCall) []map[string]any {
	out := make([]map[string]any, len(calls))
	for i, c := range calls {
		out[i] = map[string]any{"id": c.ID, "type": "function", "function": map[string]any{"name": c.Name, "arguments": c.Arguments}}
	}
	return out
}

func finishReason(reply OpenAIReply) string {
	if len(reply.ToolCalls) > 0 {
		return "tool_calls"
	}
	return "stop"
}

func (o *OpenAI) completion(id, model string, reply OpenAIReply, usage map[string]int) map[string]any {
	msg := map[string]any{"role": "assistant", "content": strings.Join(reply.Content, "")}
	if len(reply.ToolCalls) > 0 {
		msg["tool_calls"] = toolCallsJSON(reply.ToolCalls)
		if len(reply.Content) == 0 {
			msg["content"] = nil
		}
	}
	return map[string]any{
		"id": id, "object": "chat.completion", "created": o.now().Unix(), "model": model,
		"choices": []map[string]any{{"index": 0, "message": msg, "finish_reason": finishReason(reply)}},
		"usage":   usage,
	}
}

// stream writes the reply as chat.completion.chunk events.
func (o *OpenAI) stream(w http.ResponseWriter, r *http.Request, id string, req OpenAIRequest, reply OpenAIReply, usage map[string]int) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	created := o.now().Unix()
	first := true
	event := func(choices []map[string]any, extra map[string]any) bool {
		if !first && !openAIWait(r, reply.Gap) {
			return false
		}
		first = false
		chunk := map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": req.Model, "choices": choices}
		for k, v := range extra {
			chunk[k] = v
		}
		b, _ := json.Marshal(chunk)
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		return true
	}
	delta := func(d map[string]any, finish any) []map[string]any {
		return []map[string]any{{"index": 0, "delta": d, "finish_reason": finish}}
	}
	if !event(delta(map[string]any{"role": "assistant", "content": ""}, nil), nil) {
		return
	}
	for _, piece := range reply.Content {
		if !event(delta(map[string]any{"content": piece}, nil), nil) {
			return
		}
	}
	for i, tc := range reply.ToolCalls {
		// The id and name come first, then the arguments in two fragments,
		// as OpenAI streams them; clients must join them by index.
		head := map[string]any{"index": i, "id": tc.ID, "type": "function", "function": map[string]any{"name": tc.Name, "arguments": ""}}
		if !event(delta(map[string]any{"tool_calls": []map[string]any{head}}, nil), nil) {
			return
		}
		half := len(tc.Arguments) / 2
		for _, part := range []string{tc.Arguments[:half], tc.Arguments[half:]} {
			frag := map[string]any{"index": i, "function": map[string]any{"arguments": part}}
			if !event(delta(map[string]any{"tool_calls": []map[string]any{frag}}, nil), nil) {
				return
			}
		}
	}
	if !event(delta(map[string]any{}, finishReason(reply)), nil) {
		return
	}
	if req.IncludeUsage && !event([]map[string]any{}, map[string]any{"usage": usage}) {
		return
	}
	_, _ = io.WriteString(w, "data: [DONE]\n\n")
	if flusher != nil {
		flusher.Flush()
	}
}

// wait pauses for d unless the client goes away first.
func openAIWait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return r.Context().Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}
