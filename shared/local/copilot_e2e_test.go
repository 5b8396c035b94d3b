package local_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/pulsehub/pulsehub/shared/api/apitest"
	"github.com/pulsehub/pulsehub/shared/local"
	"github.com/pulsehub/pulsehub/shared/local/sandbox"
)

// wsClient is a console's WebSocket connection. Every frame it sends and
// receives is checked against docs/api/websocket.schema.json.
type wsClient struct {
	t      testing.TB
	conn   *websocket.Conn
	frames *apitest.FrameSchemas
	last   []byte // the last frame sent
}

func (p *platform) dial(token string) *wsClient {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, strings.Replace(p.rt.URL(), "http://", "ws://", 1)+"/ws?token="+token, nil)
	if err != nil {
		p.t.Fatal(err)
	}
	conn.SetReadLimit(1 << 20)
	p.t.Cleanup(func() { conn.CloseNow() })
	return &wsClient{t: p.t, conn: conn, frames: apitest.Frames(p.t)}
}

func (c *wsClient) send(frame string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		c.t.Fatal(err)
	}
	c.last = []byte(frame)
}

func (c *wsClient) read(timeout time.Duration) map[string]any {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, b, err := c.conn.Read(ctx)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	c.frames.CheckExchange(c.t, c.last, b)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		c.t.Fatalf("frame %s: %v", b, err)
	}
	return m
}

// answer reads one answer's frames: the deltas (checked to be numbered in
// order and to add up to the final text) and the chat.done or chat.error.
func (c *wsClient) answer() (last map[string]any, deltas int) {
	c.t.Helper()
	var text strings.Builder
	for {
		f := c.read(30 * time.Second)
		seq, _ := f["seq"].(float64)
		if int(seq) != deltas+1 {
			c.t.Fatalf("frame %v: seq %v, want %d (lost or reordered)", f, f["seq"], deltas+1)
		}
		switch f["type"] {
		case "chat.delta":
			deltas++
			text.WriteString(f["delta"].(string))
		case "chat.done":
			if f["text"] != text.String() {
				c.t.Fatalf("chat.done text %q, deltas %q", f["text"], text.String())
			}
			return f, deltas
		case "chat.error":
			return f, deltas
		default:
			c.t.Fatalf("unexpected frame in an answer: %v", f)
		}
	}
}

var reRevenue = regexp.MustCompile(`Revenue for the last 30 days \((\d{4}-\d{2}-\d{2}) to (\d{4}-\d{2}-\d{2})\): ([\d,]+\.\d{2}) EUR from (\d+) orders?`)

// TestCopilotOverTheWebSocket: a console connects with its token and asks
// for its revenue; the chat function answers (offline: no key) with
// deltas then chat.done, whose figure is the sum of the orders that went
// through the real webhook pipeline in that period.
func TestCopilotOverTheWebSocket(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "") // the offline engine, whatever the developer's environment
	p := bootPlatform(t)
	p.signup("e2e-copilot", "e2e-copilot.myshopify.com", "e2e-copilot-secret")
	now := time.Now().UTC()
	orders := []struct {
		customer int64
		email    string
		total    string
		at       time.Time
	}{
		{701, "ann@example.com", "120.00", now.Add(-1 * time.Hour)},
		{701, "ann@example.com", "80.50", now.AddDate(0, 0, -10)},
		{702, "bo@example.com", "45.25", now.AddDate(0, 0, -3)},
		{703, "cy@example.com", "300.00", now.AddDate(0, 0, -28)},
		{703, "cy@example.com", "999.99", now.AddDate(0, 0, -40)}, // before the period
	}
	for id, c := range map[int64][2]string{701: {"ann@example.com", "Ann"}, 702: {"bo@example.com", "Bo"}, 703: {"cy@example.com", "Cy"}} {
		if r := p.webhook("customers/create", fmt.Sprintf("wh-cc-%d", id), fmt.Sprintf("ev-cc-%d", id), customerJSON(id, c[0], c[1], now.AddDate(0, -2, 0)), p.secret); r.status != 200 {
			t.Fatalf("customers/create: %d %s", r.status, r.raw)
		}
	}
	// The independent figure: the orders placed in the 30 UTC days ending today.
	from := now.Truncate(24*time.Hour).AddDate(0, 0, -29)
	var wantCents, wantOrders int64
	for i, o := range orders {
		if r := p.webhook("orders/create", fmt.Sprintf("wh-cp-%d", i), fmt.Sprintf("ev-cp-%d", i), orderJSON(int64(9100+i), o.customer, o.email, o.total, o.at), p.secret); r.status != 200 {
			t.Fatalf("orders/create: %d %s", r.status, r.raw)
		}
		if !o.at.Before(from) {
			whole, frac, _ := strings.Cut(o.total, ".")
			w, _ := strconv.ParseInt(whole, 10, 64)
			f, _ := strconv.ParseInt(frac, 10, 64)
			wantCents += w*100 + f
			wantOrders++
		}
	}
	eventually(t, "the orders on the customers' profiles", func() bool {
		c := p.customerByEmail("cy@example.com")
		a, b := p.customerByEmail("ann@example.com"), p.customerByEmail("bo@example.com")
		return c != nil && a != nil && b != nil && c["ordersCount"] == float64(2) && a["ordersCount"] == float64(2) && b["ordersCount"] == float64(1) &&
			c["firstName"] == "Cy" && a["firstName"] == "Ann" && b["firstName"] == "Bo"
	})

	ws := p.dial(p.token)
	// Mistakes are answered and the connection stays open.
	ws.send(`{"action":"chat.send","requestId":"bad"}`)
	if f := ws.read(10 * time.Second); f["type"] != "error" || f["requestId"] != "bad" || !strings.Contains(f["error"].(string), `needs a "text"`) {
		t.Fatalf("malformed chat.send: %v", f)
	}
	ws.send(`{"action":"chat.sned"}`)
	if f := ws.read(10 * time.Second); f["type"] != "error" || !strings.Contains(f["error"].(string), "chat.send") {
		t.Fatalf("unknown action: %v", f)
	}

	start := time.Now()
	ws.send(`{"action":"chat.send","requestId":"q1","text":"What was my revenue in the last 30 days?"}`)
	done, deltas := ws.answer()
	t.Logf("answer in %s, %d deltas", time.Since(start).Round(time.Millisecond), deltas)
	if done["type"] != "chat.done" || done["engine"] != "offline" || done["requestId"] != "q1" || deltas < 2 {
		t.Fatalf("answer %v after %d deltas", done, deltas)
	}
	m := reRevenue.FindStringSubmatch(done["text"].(string))
	if m == nil {
		t.Fatalf("no revenue figure in %q", done["text"])
	}
	if m[1] != from.Format("2006-01-02") || m[2] != now.Format("2006-01-02") {
		t.Errorf("period %s to %s, want %s to %s", m[1], m[2], from.Format("2006-01-02"), now.Format("2006-01-02"))
	}
	if got := strings.ReplaceAll(m[3], ",", ""); got != fmt.Sprintf("%d.%02d", wantCents/100, wantCents%100) || m[4] != fmt.Sprint(wantOrders) {
		t.Errorf("copilot says %s from %s orders; the orders add up to %d.%02d from %d", got, m[4], wantCents/100, wantCents%100, wantOrders)
	}

	// The conversation is kept: listed, readable, deletable.
	conv := done["conversationId"].(string)
	ws.send(`{"action":"conversation.list","requestId":"l"}`)
	if f := ws.read(10 * time.Second); f["type"] != "conversation.list" || len(f["items"].([]any)) != 1 ||
		f["items"].([]any)[0].(map[string]any)["title"] != "What was my revenue in the last 30 days?" {
		t.Fatalf("list: %v", f)
	}
	ws.send(`{"action":"conversation.get","conversationId":"` + conv + `"}`)
	if f := ws.read(10 * time.Second); f["type"] != "conversation" || len(f["messages"].([]any)) != 2 ||
		f["messages"].([]any)[1].(map[string]any)["text"] != done["text"] {
		t.Fatalf("get: %v", f)
	}
	// A follow-up in the same conversation.
	ws.send(`{"action":"chat.send","conversationId":"` + conv + `","text":"Who are my top customers?"}`)
	if f, _ := ws.answer(); f["type"] != "chat.done" || !strings.Contains(f["text"].(string), "1. Cy Tester") {
		t.Fatalf("follow-up: %v", f)
	}
	ws.send(`{"action":"conversation.delete","conversationId":"` + conv + `"}`)
	if f := ws.read(10 * time.Second); f["type"] != "conversation.deleted" || f["conversationId"] != conv {
		t.Fatalf("delete: %v", f)
	}
	ws.send(`{"action":"conversation.get","conversationId":"` + conv + `"}`)
	if f := ws.read(10 * time.Second); f["type"] != "error" || !strings.Contains(f["error"].(string), "no conversation") {
		t.Fatalf("get after delete: %v", f)
	}
}

// TestCopilotModelPathThroughTheRuntime: with a key in the environment the
// chat function finds the runtime's OpenAI sandbox (PROVIDER_URL_OPENAI)
// and the model path runs end to end: a tool call, its result, a streamed
// answer with engine "model".
func TestCopilotModelPathThroughTheRuntime(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-e2e")
	t.Setenv("OPENAI_BASE_URL", "") // not a developer's own server
	t.Setenv("OPENAI_MODEL", "")
	model := sandbox.NewOpenAI(nil)
	model.SetScript(func(req sandbox.OpenAIRequest) sandbox.OpenAIReply {
		last := req.Messages[len(req.Messages)-1]
		if last.Role != "tool" {
			return sandbox.OpenAIReply{ToolCalls: []sandbox.OpenAIToolCall{{ID: "c1", Name: "get_overview", Arguments: `{"from":"2026-01-01","to":"2026-01-31"}`}}}
		}
		var res struct {
			Data struct{ Orders int } `json:"data"`
		}
		_ = json.Unmarshal([]byte(last.Content), &res)
		return sandbox.OpenAIReply{Content: []string{"January had ", fmt.Sprint(res.Data.Orders), " orders."}}
	})
	p := bootPlatformWith(t, func(o *local.Options) { o.Providers = append(o.Providers, model) })
	p.signup("e2e-model", "e2e-model.myshopify.com", "e2e-model-secret")
	ws := p.dial(p.token)
	ws.send(`{"action":"chat.send","text":"How many orders in January?"}`)
	done, deltas := ws.answer()
	if done["type"] != "chat.done" || done["engine"] != "model" || done["model"] != "gpt-4o-mini" || done["text"] != "January had 0 orders." || deltas < 1 {
		t.Fatalf("%v after %d deltas", done, deltas)
	}
	reqs := model.Requests()
	if len(reqs) != 2 || reqs[0].APIKey != "sk-e2e" || len(reqs[0].Tools) == 0 || reqs[1].Messages[len(reqs[1].Messages)-1].Role != "tool" {
		t.Fatalf("model requests %+v", reqs)
	}
}
