package sandbox

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func openAIServer(t *testing.T, script OpenAIScript) (*OpenAI, *httptest.Server) {
	t.Helper()
	o := NewOpenAI(func() time.Time { return time.Unix(1764633600, 0) })
	o.SetScript(script)
	srv := httptest.NewServer(o.Handler(Env{}))
	t.Cleanup(srv.Close)
	return o, srv
}

func post(t *testing.T, url, key, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/v1/chat/completions", strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestOpenAIChecksRequestsLikeOpenAI(t *testing.T) {
	_, srv := openAIServer(t, nil)
	for _, tc := range []struct {
		key, body string
		status    int
		want      string
	}{
		{"", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, 401, `"code":"invalid_api_key"`},
		{"k", `{"model":"m","messages":[`, 400, "could not parse the JSON body"},
		{"k", `{"messages":[{"role":"user","content":"hi"}]}`, 400, "you must provide a model parameter"},
		{"k", `{"model":"m","messages":[]}`, 400, "at least one message"},
		{"k", `{"model":"m","messages":[{"role":"robot","content":"hi"}]}`, 400, `messages[0].role: \"robot\"`},
		{"k", `{"model":"m","messages":[{"role":"tool","tool_call_id":"x","content":"{}"}]}`, 400, "must be a response to a preceding message with 'tool_calls'"},
		{"k", `{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"string"}}}]}`, 400, "tools[0].function.parameters"},
	} {
		res, body := post(t, srv.URL, tc.key, tc.body)
		if res.StatusCode != tc.status || !strings.Contains(body, tc.want) || !strings.Contains(body, `"error":{`) {
			t.Errorf("%s: %d %s", tc.body, res.StatusCode, body)
		}
	}
}

func TestOpenAIAnswers(t *testing.T) {
	o, srv := openAIServer(t, func(req OpenAIRequest) OpenAIReply {
		if len(req.Messages) == 1 {
			return OpenAIReply{Content: []string{"Hel", "lo"}, PromptTokens: 7, CompletionTokens: 2}
		}
		return OpenAIReply{ToolCalls: []OpenAIToolCall{{ID: "call_9", Name: "get_overview", Arguments: `{"from":"2026-01-01","to":"2026-01-31"}`}}}
	})
	// Not streamed: one chat.completion.
	res, body := post(t, srv.URL, "k", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	var c struct {
		Object  string `json:"object"`
		Choices []struct {
			Message      struct{ Content string } `json:"message"`
			FinishReason string                   `json:"finish_reason"`
		} `json:"choices"`
		Usage struct {
			Total int `json:"total_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal([]byte(body), &c); err != nil || res.StatusCode != 200 || c.Object != "chat.completion" ||
		c.Choices[0].Message.Content != "Hello" || c.Choices[0].FinishReason != "stop" || c.Usage.Total != 9 {
		t.Fatalf("%d %s", res.StatusCode, body)
	}
	// Streamed with a tool call and usage: the SSE events in order.
	_, body = post(t, srv.URL, "k", `{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"system","content":"s"},{"role":"user","content":"hi"}],
		"tools":[{"type":"function","function":{"name":"get_overview","description":"d","parameters":{"type":"object","properties":{}}}}]}`)
	var events []string
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			events = append(events, line)
		}
	}
	if len(events) != 7 || events[6] != "[DONE]" {
		t.Fatalf("events %q", events)
	}
	var args strings.Builder
	for _, e := range events[1:4] {
		var chunk struct {
			Choices []struct {
				Delta struct {
					ToolCalls []struct {
						Index    int    `json:"index"`
						ID       string `json:"id"`
						Function struct{ Name, Arguments string }
					} `json:"tool_calls"`
				} `json:"delta"`
			} `json:"choices"`
		}
		_ = json.Unmarshal([]byte(e), &chunk)
		args.WriteString(chunk.Choices[0].Delta.ToolCalls[0].Function.Arguments)
	}
	if args.String() != `{"from":"2026-01-01","to":"2026-01-31"}` || !strings.Contains(events[1], `"id":"call_9"`) || !strings.Contains(events[1], `"name":"get_overview"`) {
		t.Errorf("tool call events %q", events[1:4])
	}
	if !strings.Contains(events[4], `"finish_reason":"tool_calls"`) || !strings.Contains(events[5], `"usage":{`) || !strings.Contains(events[5], `"choices":[]`) {
		t.Errorf("finish and usage events %q", events[4:6])
	}
	reqs := o.Requests()
	if len(reqs) != 2 || reqs[1].APIKey != "k" || !reqs[1].Stream || !reqs[1].IncludeUsage || reqs[1].Tools[0].Name != "get_overview" || reqs[1].Messages[0].Role != "system" {
		t.Errorf("recorded %+v", reqs)
	}
	// Scripted failures answer with OpenAI's error object.
	o.SetScript(func(OpenAIRequest) OpenAIReply { return OpenAIReply{Status: 429, Message: "Rate limit reached"} })
	if res, body := post(t, srv.URL, "k", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`); res.StatusCode != 429 || !strings.Contains(body, "Rate limit reached") {
		t.Errorf("%d %s", res.StatusCode, body)
	}
}
