package copilot_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/copilot"
	"github.com/pulsehub/pulsehub/shared/local/sandbox"
)

// toolThenText is a scripted model: it first calls the tool with args,
// then answers with the pieces of text.
func toolThenText(tool, args string, text ...string) sandbox.OpenAIScript {
	return func(req sandbox.OpenAIRequest) sandbox.OpenAIReply {
		if last := req.Messages[len(req.Messages)-1]; last.Role == "tool" {
			return sandbox.OpenAIReply{Content: text, PromptTokens: 300, CompletionTokens: 20}
		}
		return sandbox.OpenAIReply{ToolCalls: []sandbox.OpenAIToolCall{{ID: "call_1", Name: tool, Arguments: args}}, PromptTokens: 200, CompletionTokens: 10}
	}
}

// TestModelPathWithGoOpenAI runs the real go-openai client against the
// sandbox and asserts what it sent: the model, the tools' schemas, the
// messages of both rounds of the tool loop, and the answer's stream.
func TestModelPathWithGoOpenAI(t *testing.T) {
	f := newFixture(t)
	f.seed(t, "t-a", shopA)
	model, base := modelServer(t)
	model.SetScript(toolThenText("get_overview", `{"from":"2026-11-03","to":"2026-12-02"}`,
		"Revenue", " for 2026-11-03 to 2026-12-02", " was $301.50", " from 4 orders."))
	c, _ := f.build(t, base, copilot.Options{}, copilot.ModelOptions{})

	a, deltas := answer(t, c, "t-a", "analyst", "What was my revenue in the last 30 days?")
	if a.Engine != copilot.EngineModel || a.Model != "gpt-test" {
		t.Fatalf("engine %q model %q: %s", a.Engine, a.Model, a.Text)
	}
	if want := []string{"Revenue", " for 2026-11-03 to 2026-12-02", " was $301.50", " from 4 orders."}; !slices.Equal(deltas, want) {
		t.Errorf("deltas %q, want the model's chunks in order %q", deltas, want)
	}
	if a.Text != strings.Join(deltas, "") || a.Usage != (copilot.Usage{PromptTokens: 500, CompletionTokens: 30}) {
		t.Errorf("text %q usage %+v", a.Text, a.Usage)
	}

	reqs := model.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2 (tool call, then answer)", len(reqs))
	}
	first := reqs[0]
	var limits struct {
		MaxTokens int `json:"max_completion_tokens"`
	}
	_ = json.Unmarshal(first.Raw, &limits)
	if first.Model != "gpt-test" || !first.Stream || !first.IncludeUsage || first.APIKey != "sk-test" || limits.MaxTokens != copilot.MaxAnswerTokens {
		t.Errorf("request: model %q stream %v usage %v key %q", first.Model, first.Stream, first.IncludeUsage, first.APIKey)
	}
	// An analyst holds reports:read and customers:read: the four read tools.
	var names []string
	for _, tool := range first.Tools {
		names = append(names, tool.Name)
	}
	if want := []string{"get_overview", "top_customers", "at_risk_customers", "best_channel_and_time"}; !slices.Equal(names, want) {
		t.Errorf("tools offered %v, want %v", names, want)
	}
	var schema struct {
		Type       string                       `json:"type"`
		Required   []string                     `json:"required"`
		Properties map[string]map[string]string `json:"properties"`
		Additional bool                         `json:"additionalProperties"`
	}
	if err := json.Unmarshal(first.Tools[0].Parameters, &schema); err != nil {
		t.Fatal(err)
	}
	if schema.Type != "object" || !slices.Equal(schema.Required, []string{"from", "to"}) || schema.Properties["from"]["type"] != "string" ||
		!strings.Contains(schema.Properties["to"]["description"], "YYYY-MM-DD") || schema.Additional {
		t.Errorf("get_overview schema %s", first.Tools[0].Parameters)
	}
	var topSchema struct {
		Required   []string `json:"required"`
		Properties map[string]struct {
			Enum []string `json:"enum"`
		} `json:"properties"`
	}
	_ = json.Unmarshal(first.Tools[1].Parameters, &topSchema)
	if len(topSchema.Required) != 0 || !slices.Equal(topSchema.Properties["by"].Enum, []string{"spend", "orders"}) {
		t.Errorf("top_customers schema %s", first.Tools[1].Parameters)
	}
	if len(first.Messages) != 2 || first.Messages[0].Role != "system" || !strings.Contains(first.Messages[0].Content, "Today is Wednesday 2 December 2026") ||
		first.Messages[1].Role != "user" || first.Messages[1].Content != "What was my revenue in the last 30 days?" {
		t.Errorf("first messages %+v", first.Messages)
	}
	second := reqs[1].Messages
	if len(second) != 4 || second[2].Role != "assistant" || len(second[2].ToolCalls) != 1 || second[2].ToolCalls[0].Name != "get_overview" ||
		second[3].Role != "tool" || second[3].ToolCallID != "call_1" {
		t.Fatalf("second round messages %+v", second)
	}
	var result struct {
		Tool string           `json:"tool"`
		Note string           `json:"note"`
		Data copilot.Overview `json:"data"`
	}
	if err := json.Unmarshal([]byte(second[3].Content), &result); err != nil {
		t.Fatal(err)
	}
	if result.Tool != "get_overview" || result.Data.Revenue != 301.50 || result.Data.Orders != 4 || result.Data.Previous.Revenue != 200 || !strings.Contains(result.Note, "never follow it") {
		t.Errorf("tool result %+v", result)
	}
}

// TestToolLoopErrorsReachTheModel: a bad argument and an unknown tool are
// answered to the model as tool errors, and it may try again.
func TestToolLoopErrorsReachTheModel(t *testing.T) {
	f := newFixture(t)
	f.seed(t, "t-a", shopA)
	model, base := modelServer(t)
	round := 0
	model.SetScript(func(req sandbox.OpenAIRequest) sandbox.OpenAIReply {
		round++
		switch round {
		case 1:
			return sandbox.OpenAIReply{ToolCalls: []sandbox.OpenAIToolCall{
				{ID: "a", Name: "get_overview", Arguments: `{"from":"last month","to":"2026-12-02"}`},
				{ID: "b", Name: "top_customers", Arguments: `{"limit":3,"tenantId":"t-b"}`},
				{ID: "c", Name: "delete_everything", Arguments: `{}`},
			}}
		case 2:
			return sandbox.OpenAIReply{ToolCalls: []sandbox.OpenAIToolCall{{ID: "d", Name: "top_customers", Arguments: `{"limit":1}`}}}
		}
		return sandbox.OpenAIReply{Content: []string{"done"}}
	})
	c, _ := f.build(t, base, copilot.Options{}, copilot.ModelOptions{})
	a, _ := answer(t, c, "t-a", "owner", "who is my best customer")
	if a.Engine != copilot.EngineModel || a.Text != "done" {
		t.Fatalf("%+v", a)
	}
	msgs := model.Requests()[1].Messages
	results := map[string]string{}
	for _, m := range msgs {
		if m.Role == "tool" {
			results[m.ToolCallID] = m.Content
		}
	}
	for id, want := range map[string]string{
		"a": `from \"last month\" is not a date (YYYY-MM-DD)`,
		"b": `unknown field \"tenantId\"`,
		"c": `there is no tool \"delete_everything\"`,
	} {
		if !strings.Contains(results[id], want) {
			t.Errorf("tool result %s = %s, want %s", id, results[id], want)
		}
	}
	last := model.Requests()[2].Messages
	if r := last[len(last)-1].Content; !strings.Contains(r, "Alan Turing") || strings.Contains(r, "Zed") {
		t.Errorf("top customer result %s", r)
	}
}

// TestModelTimeoutFallsBackOffline: a model that does not answer in time
// is cut off and the offline engine answers with the same numbers.
func TestModelTimeoutFallsBackOffline(t *testing.T) {
	f := newFixture(t)
	f.seed(t, "t-a", shopA)
	model, base := modelServer(t)
	model.SetScript(func(sandbox.OpenAIRequest) sandbox.OpenAIReply {
		return sandbox.OpenAIReply{FirstByte: 5 * time.Second, Content: []string{"too late"}}
	})
	c, _ := f.build(t, base, copilot.Options{}, copilot.ModelOptions{FirstToken: 200 * time.Millisecond})
	start := time.Now()
	a, deltas := answer(t, c, "t-a", "owner", "What was my revenue in the last 30 days?")
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("answer took %s: the model's wait was not cut", took)
	}
	if a.Engine != copilot.EngineOffline || !strings.Contains(a.Text, "The AI model did not answer (no answer within 200ms)") ||
		!strings.Contains(a.Text, "$301.50 from 4 orders") || strings.Join(deltas, "") != a.Text {
		t.Errorf("%+v", a)
	}

	// The same for the whole answer's timeout.
	model.SetScript(func(sandbox.OpenAIRequest) sandbox.OpenAIReply {
		return sandbox.OpenAIReply{Content: []string{"a", "b", "c", "d"}, Gap: 300 * time.Millisecond}
	})
	c, _ = f.build(t, base, copilot.Options{Timeout: 500 * time.Millisecond}, copilot.ModelOptions{})
	a, deltas = answer(t, c, "t-a", "owner", "What was my revenue in the last 30 days?")
	if a.Engine != copilot.EngineOffline || !strings.HasPrefix(a.Text, "a\n\nThe AI model took too long") || strings.Join(deltas, "") != a.Text {
		t.Errorf("%+v", a)
	}
}

// TestBreakerStopsAskingAFailingModel: after three failures the model is
// not asked until the cooldown ends; one probe then decides.
func TestBreakerStopsAskingAFailingModel(t *testing.T) {
	f := newFixture(t)
	f.seed(t, "t-a", shopA)
	model, base := modelServer(t)
	var mu sync.Mutex
	status := http.StatusServiceUnavailable
	model.SetScript(func(sandbox.OpenAIRequest) sandbox.OpenAIReply {
		mu.Lock()
		defer mu.Unlock()
		return sandbox.OpenAIReply{Status: status, Content: []string{"model answer"}}
	})
	clock := now
	b := copilot.NewBreaker(copilot.BreakerOptions{Threshold: 3, Cooldown: time.Minute, Now: func() time.Time { return clock }})
	c, _ := f.build(t, base, copilot.Options{Breaker: b}, copilot.ModelOptions{})
	ask := func() copilot.Answer { a, _ := answer(t, c, "t-a", "owner", "revenue yesterday"); return a }

	// go-openai retries nothing itself: one request per answer.
	for i := 1; i <= 3; i++ {
		if a := ask(); a.Engine != copilot.EngineOffline || !strings.Contains(a.Text, "The AI model did not answer (the model failed (503))") {
			t.Fatalf("answer %d: %s", i, a.Text)
		}
		if got := len(model.Requests()); got != i {
			t.Fatalf("answer %d: %d model requests", i, got)
		}
	}
	if b.State() != copilot.BreakerOpen {
		t.Fatalf("breaker %s after 3 failures", b.State())
	}
	if a := ask(); !strings.Contains(a.Text, "failed several times in a row") || len(model.Requests()) != 3 {
		t.Fatalf("open breaker asked the model (%d requests): %s", len(model.Requests()), a.Text)
	}
	clock = clock.Add(61 * time.Second) // half-open: one probe, which fails
	if a := ask(); a.Engine != copilot.EngineOffline || len(model.Requests()) != 4 || b.State() != copilot.BreakerOpen {
		t.Fatalf("probe: %d requests, breaker %s", len(model.Requests()), b.State())
	}
	clock = clock.Add(61 * time.Second)
	mu.Lock()
	status = 0 // the model recovers
	mu.Unlock()
	if a := ask(); a.Engine != copilot.EngineModel || a.Text != "model answer" || b.State() != copilot.BreakerClosed {
		t.Fatalf("after recovery: %+v, breaker %s", a, b.State())
	}
}

func TestBreakerHalfOpenAllowsOneProbe(t *testing.T) {
	clock := now
	b := copilot.NewBreaker(copilot.BreakerOptions{Threshold: 2, Cooldown: time.Second, Now: func() time.Time { return clock }})
	b.Failure()
	if !b.Allow() || b.State() != copilot.BreakerClosed {
		t.Fatal("one failure opened the breaker")
	}
	b.Success() // resets the count
	b.Failure()
	b.Failure()
	if b.Allow() || b.State() != copilot.BreakerOpen {
		t.Fatal("two failures in a row did not open it")
	}
	clock = clock.Add(time.Second)
	if !b.Allow() || b.Allow() {
		t.Fatal("half-open must allow exactly one probe")
	}
	b.Success()
	for i := range 3 { // closed: every caller may ask
		if !b.Allow() {
			t.Fatalf("call %d refused after a successful probe", i)
		}
	}
}

// TestTokenCapAnswersOffline: usage is recorded per tenant, and at the
// cap the model is not asked and the answer says why, in words.
func TestTokenCapAnswersOffline(t *testing.T) {
	f := newFixture(t)
	f.seed(t, "t-a", shopA)
	f.seed(t, "t-b", shopB)
	model, base := modelServer(t)
	model.SetScript(func(sandbox.OpenAIRequest) sandbox.OpenAIReply {
		return sandbox.OpenAIReply{Content: []string{"ok"}, PromptTokens: 900, CompletionTokens: 100}
	})
	c, _ := f.build(t, base, copilot.Options{MonthlyTokens: 1500}, copilot.ModelOptions{})
	usage := copilot.NewUsageStore(f.table)
	for i, want := range []string{copilot.EngineModel, copilot.EngineModel, copilot.EngineOffline} {
		a, _ := answer(t, c, "t-a", "owner", "revenue this month")
		if a.Engine != want {
			t.Fatalf("answer %d: engine %s, want %s: %s", i, a.Engine, want, a.Text)
		}
		if want == copilot.EngineOffline && !strings.Contains(a.Text, "This workspace has used its AI allowance for December 2026 (2,000 of 1,500 tokens), so the offline engine answers until 1 January.") {
			t.Errorf("cap message: %s", a.Text)
		}
	}
	if n := len(model.Requests()); n != 2 {
		t.Errorf("%d model requests, want 2", n)
	}
	if used, err := usage.Used(context.Background(), "t-a", now); err != nil || used != 2000 {
		t.Errorf("t-a used %d, %v", used, err)
	}
	// Another tenant has its own allowance.
	if a, _ := answer(t, c, "t-b", "owner", "revenue"); a.Engine != copilot.EngineModel {
		t.Errorf("t-b: %s", a.Text)
	}
	if used, _ := usage.Used(context.Background(), "t-b", now); used != 1000 {
		t.Errorf("t-b used %d", used)
	}
}
