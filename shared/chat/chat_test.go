package chat_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pulsehub/pulsehub/shared/api/apitest"
	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/chat"
	"github.com/pulsehub/pulsehub/shared/copilot"
	"github.com/pulsehub/pulsehub/shared/store"
	"github.com/pulsehub/pulsehub/shared/store/storetest"
	"github.com/pulsehub/pulsehub/shared/wsapi"
)

var (
	alice = chat.Caller{ConnectionID: "conn-a", TenantID: "t1", UserID: "alice", Role: "marketer", RequestID: "r1"}
	bob   = chat.Caller{ConnectionID: "conn-b", TenantID: "t1", UserID: "bob", Role: "owner"}
	eve   = chat.Caller{ConnectionID: "conn-e", TenantID: "t2", UserID: "alice", Role: "owner"} // same user id, other tenant
)

// queueRecorder is the chat queue.
type queueRecorder struct {
	mu   sync.Mutex
	jobs []chat.Job
	err  error
}

func (q *queueRecorder) Send(_ context.Context, url string, body []byte, _ map[string]string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return q.err
	}
	var j chat.Job
	if err := json.Unmarshal(body, &j); err != nil {
		return err
	}
	q.jobs = append(q.jobs, j)
	return nil
}

func (q *queueRecorder) last(t *testing.T) chat.Job {
	t.Helper()
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.jobs) == 0 {
		t.Fatal("no job queued")
	}
	return q.jobs[len(q.jobs)-1]
}

func newActions(t *testing.T, clock *time.Time) (*chat.Actions, *chat.Store, *queueRecorder, *store.Table) {
	t.Helper()
	tbl := storetest.Table(t, "chat")
	s := chat.NewStore(tbl, func() time.Time { return *clock })
	q := &queueRecorder{}
	return chat.NewActions(s, q, "http://queue/chat", slog.New(slog.DiscardHandler)), s, q, tbl
}

// frame checks a reply frame against docs/api/websocket.schema.json and
// decodes it.
func frame(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if v != nil {
		apitest.Frames(t).CheckServer(t, b)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

func TestConversationLifecycle(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	a, s, q, _ := newActions(t, &clock)

	// A first message starts a conversation and queues the turn.
	reply, err := a.Send(ctx, alice, json.RawMessage(`{"action":"chat.send","requestId":"r1","text":"  What was my revenue in the last 30 days, and how does it compare with the month before?  "}`))
	if err != nil || reply != nil {
		t.Fatalf("send: %v %v", reply, err)
	}
	job := q.last(t)
	if job.TenantID != "t1" || job.UserID != "alice" || job.Role != "marketer" || job.ConnectionID != "conn-a" || job.RequestID != "r1" ||
		!strings.HasPrefix(job.ConversationID, "cv_") || !strings.HasPrefix(job.MessageID, "m_") || !job.At.Equal(clock) ||
		job.Text != "What was my revenue in the last 30 days, and how does it compare with the month before?" ||
		job.Title != "What was my revenue in the last 30 days, and how does it…" {
		t.Fatalf("job %+v", job)
	}
	conv := job.ConversationID

	// A second message while the turn runs is refused in words.
	clock = clock.Add(time.Second)
	reply, err = a.Send(ctx, alice, json.RawMessage(`{"action":"chat.send","conversationId":"`+conv+`","text":"and yesterday?"}`))
	if err != nil {
		t.Fatal(err)
	}
	if f := frame(t, reply); f["type"] != "chat.error" || f["conversationId"] != conv || !strings.Contains(f["error"].(string), "still being written") {
		t.Fatalf("busy: %v", f)
	}
	// The turn finishes: the answer is stored and the conversation is free.
	clock = clock.Add(2 * time.Second)
	turn := chat.Turn{ConversationID: conv, MessageID: job.MessageID, At: job.At}
	if err := s.FinishTurn(ctx, chat.Owner{TenantID: "t1", UserID: "alice"}, turn, chat.Message{Role: "assistant", Text: "Revenue was $10.", At: clock, Engine: "offline"}); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(time.Second)
	if reply, err := a.Send(ctx, alice, json.RawMessage(`{"action":"chat.send","conversationId":"`+conv+`","text":"and yesterday?"}`)); err != nil || reply != nil {
		t.Fatalf("second turn: %v %v", reply, err)
	}
	second := q.last(t)
	if second.ConversationID != conv || second.Title != "" {
		t.Fatalf("second job %+v", second)
	}

	// Another conversation, started later, lists first.
	clock = clock.Add(time.Minute)
	if _, err := a.Send(ctx, alice, json.RawMessage(`{"action":"chat.send","text":"top customers"}`)); err != nil {
		t.Fatal(err)
	}
	other := q.last(t).ConversationID
	reply, err = a.List(ctx, alice, json.RawMessage(`{"action":"conversation.list","requestId":"r1"}`))
	if err != nil {
		t.Fatal(err)
	}
	list := frame(t, reply)
	items := list["items"].([]any)
	if list["type"] != "conversation.list" || list["requestId"] != "r1" || len(items) != 2 ||
		items[0].(map[string]any)["conversationId"] != other || items[1].(map[string]any)["title"] != "What was my revenue in the last 30 days, and how does it…" ||
		items[0].(map[string]any)["updatedAt"] != "2026-12-02T10:01:04Z" {
		t.Fatalf("list %v", list)
	}

	// Get: the messages in order, with the engine of the answer.
	reply, err = a.Get(ctx, alice, json.RawMessage(`{"action":"conversation.get","conversationId":"`+conv+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	got := frame(t, reply)
	msgs := got["messages"].([]any)
	want := []string{"user:What was my revenue", "assistant:Revenue was $10.", "user:and yesterday?"}
	if got["type"] != "conversation" || len(msgs) != 3 {
		t.Fatalf("get %v", got)
	}
	for i, w := range want {
		m := msgs[i].(map[string]any)
		if !strings.HasPrefix(m["role"].(string)+":"+m["text"].(string), w) {
			t.Errorf("message %d = %v, want %s", i, m, w)
		}
	}
	if msgs[1].(map[string]any)["engine"] != "offline" || msgs[0].(map[string]any)["at"] != "2026-12-02T10:00:00Z" {
		t.Errorf("messages %v", msgs)
	}

	// Other users and tenants see none of it.
	for _, c := range []chat.Caller{bob, eve} {
		reply, _ := a.List(ctx, c, json.RawMessage(`{"action":"conversation.list"}`))
		if items := frame(t, reply)["items"].([]any); len(items) != 0 {
			t.Errorf("%s/%s lists %v", c.TenantID, c.UserID, items)
		}
		if _, err := a.Get(ctx, c, json.RawMessage(`{"action":"conversation.get","conversationId":"`+conv+`"}`)); apperr.KindOf(err) != apperr.NotFound {
			t.Errorf("%s/%s got another user's conversation: %v", c.TenantID, c.UserID, err)
		}
		reply, err := a.Send(ctx, c, json.RawMessage(`{"action":"chat.send","conversationId":"`+conv+`","text":"hi"}`))
		if f := frame(t, reply); err != nil || f["type"] != "chat.error" || !strings.Contains(f["error"].(string), "no conversation") {
			t.Errorf("%s/%s sent into another user's conversation: %v %v", c.TenantID, c.UserID, f, err)
		}
		if _, err := a.Delete(ctx, c, json.RawMessage(`{"action":"conversation.delete","conversationId":"`+conv+`"}`)); apperr.KindOf(err) != apperr.NotFound {
			t.Errorf("%s/%s deleted another user's conversation: %v", c.TenantID, c.UserID, err)
		}
	}

	// Delete removes the conversation and its messages; the running turn
	// then stores nothing.
	reply, err = a.Delete(ctx, alice, json.RawMessage(`{"action":"conversation.delete","conversationId":"`+conv+`","requestId":"x"}`))
	if f := frame(t, reply); err != nil || f["type"] != "conversation.deleted" || f["conversationId"] != conv {
		t.Fatalf("delete %v %v", f, err)
	}
	if _, _, err := s.Get(ctx, chat.Owner{TenantID: "t1", UserID: "alice"}, conv); apperr.KindOf(err) != apperr.NotFound {
		t.Errorf("deleted conversation still there: %v", err)
	}
	if msgs, err := s.Messages(ctx, chat.Owner{TenantID: "t1", UserID: "alice"}, conv); err != nil || len(msgs) != 0 {
		t.Errorf("messages left: %v %v", msgs, err)
	}
	err = s.FinishTurn(ctx, chat.Owner{TenantID: "t1", UserID: "alice"}, chat.Turn{ConversationID: conv, MessageID: second.MessageID, At: second.At}, chat.Message{Text: "late"})
	if apperr.KindOf(err) != apperr.Conflict {
		t.Errorf("finishing a deleted conversation's turn: %v", err)
	}
	if msgs, _ := s.Messages(ctx, chat.Owner{TenantID: "t1", UserID: "alice"}, conv); len(msgs) != 0 {
		t.Errorf("a late answer resurrected messages: %v", msgs)
	}
}

func TestTurnLeaseExpires(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	a, _, q, _ := newActions(t, &clock)
	if _, err := a.Send(ctx, alice, json.RawMessage(`{"action":"chat.send","text":"hi"}`)); err != nil {
		t.Fatal(err)
	}
	conv := q.last(t).ConversationID
	// The chat function died; after the lease the conversation is free.
	clock = clock.Add(chat.TurnLease + time.Second)
	if reply, err := a.Send(ctx, alice, json.RawMessage(`{"action":"chat.send","conversationId":"`+conv+`","text":"again"}`)); err != nil || reply != nil {
		t.Fatalf("after the lease: %v %v", reply, err)
	}
}

func TestSendRefusesAndRejects(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	a, s, q, _ := newActions(t, &clock)
	long := strings.Repeat("é", chat.MaxText+1)
	for _, tc := range []struct {
		caller chat.Caller
		body   string
		kind   apperr.Kind // malformed: an error; 0 with chatError: a chat.error frame
		msg    string
	}{
		{alice, `{"action":"chat.send"}`, apperr.Invalid, `chat.send needs a "text"`},
		{alice, `{"action":"chat.send","text":"   "}`, apperr.Invalid, `chat.send needs a "text"`},
		{alice, `{"action":"chat.send","text":"` + long + `"}`, apperr.Invalid, "text is 4001 characters; at most 4000"},
		{alice, `{"action":"chat.send","text":"hi","conversationId":"T#x#"}`, apperr.Invalid, "is not a conversation id"},
		{alice, `{"action":"chat.send","text":7}`, apperr.Invalid, "cannot unmarshal number"},
		{alice, `{"action":"chat.send","text":"hi","model":"gpt-5"}`, apperr.Invalid, `unknown field "model"`},
		{alice, `{"action":"conversation.get"}`, apperr.Invalid, `"conversationId" is required`},
	} {
		var err error
		if strings.Contains(tc.body, "conversation.get") {
			_, err = a.Get(ctx, tc.caller, json.RawMessage(tc.body))
		} else {
			_, err = a.Send(ctx, tc.caller, json.RawMessage(tc.body))
		}
		if apperr.KindOf(err) != tc.kind || !strings.Contains(apperr.Message(err), tc.msg) {
			t.Errorf("%.60s: %v, want %v %q", tc.body, err, tc.kind, tc.msg)
		}
	}
	// Roles without chat:use and anonymous connections get a chat.error.
	for c, want := range map[chat.Caller]string{
		{ConnectionID: "v", TenantID: "t1", UserID: "v", Role: "viewer"}: "the viewer role may not use the copilot",
		{ConnectionID: "anon"}: "this connection is not signed in: connect with ?token=<accessToken>",
	} {
		reply, err := a.Send(ctx, c, json.RawMessage(`{"action":"chat.send","text":"hi"}`))
		if f := frame(t, reply); err != nil || f["type"] != "chat.error" || f["error"] != want {
			t.Errorf("%+v: %v %v", c, f, err)
		}
		if _, err := a.List(ctx, c, json.RawMessage(`{"action":"conversation.list"}`)); apperr.KindOf(err) == apperr.Internal {
			t.Errorf("%+v list: %v", c, err)
		}
	}
	if len(q.jobs) != 0 {
		t.Fatalf("refused messages were queued: %+v", q.jobs)
	}
	// A failed enqueue frees the conversation again and is an error.
	q.err = apperr.E(apperr.Transient, "sqs down")
	if _, err := a.Send(ctx, alice, json.RawMessage(`{"action":"chat.send","text":"hi"}`)); apperr.KindOf(err) != apperr.Transient {
		t.Fatalf("enqueue failure: %v", err)
	}
	list, _ := s.List(ctx, chat.Owner{TenantID: "t1", UserID: "alice"})
	if len(list) != 1 {
		t.Fatalf("conversations %+v", list)
	}
	q.err = nil
	if reply, err := a.Send(ctx, alice, json.RawMessage(`{"action":"chat.send","conversationId":"`+list[0].ID+`","text":"again"}`)); err != nil || reply != nil {
		t.Fatalf("conversation left held after a failed enqueue: %v %v", reply, err)
	}
}

// sink records frames per connection, like the gateway, checking each
// against docs/api/websocket.schema.json.
type sink struct {
	t      *testing.T
	mu     sync.Mutex
	frames []map[string]any
	gone   bool
	fail   int // fail the next n posts with a transient error
	posts  int
}

func (s *sink) Send(_ context.Context, _ string, msg any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.posts++
	if s.gone {
		return fmt.Errorf("post: %w", wsapi.ErrGone)
	}
	if s.fail > 0 {
		s.fail--
		return apperr.E(apperr.Transient, "management API failed")
	}
	b, _ := json.Marshal(msg)
	if s.t != nil {
		apitest.Frames(s.t).CheckServer(s.t, b)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	s.frames = append(s.frames, m)
	return nil
}

// scripted answers with pieces separated by pauses.
type scripted struct {
	pieces []string
	pause  time.Duration
	err    error
	seen   copilot.Question
}

func (s *scripted) Answer(_ context.Context, q copilot.Question, emit copilot.Emit) (copilot.Answer, error) {
	s.seen = q
	var b strings.Builder
	for _, p := range s.pieces {
		if p == "|" {
			time.Sleep(s.pause)
			continue
		}
		b.WriteString(p)
		emit(p)
	}
	return copilot.Answer{Text: b.String(), Engine: copilot.EngineOffline}, s.err
}

type drops struct{ ids []string }

func (d *drops) Delete(_ context.Context, id string) error { d.ids = append(d.ids, id); return nil }

func TestWorkerStreamsCoalescedOrderedDeltas(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	a, s, q, _ := newActions(t, &clock)
	if _, err := a.Send(ctx, alice, json.RawMessage(`{"action":"chat.send","requestId":"r1","text":"first question"}`)); err != nil {
		t.Fatal(err)
	}
	job := q.last(t)
	// The answer: a first token, then 100 one-letter tokens in a burst
	// (coalesced by size), a pause (the waiting tokens go out by time),
	// and a tail.
	pieces := []string{"Hello"}
	for i := range 100 {
		pieces = append(pieces, string(rune('a'+i%26)))
	}
	pieces = append(pieces, "|", "x", "y", "|", "tail")
	ans := &scripted{pieces: pieces, pause: 3 * chat.CoalesceDelay}
	out := &sink{t: t}
	w := chat.NewWorker(s, ans, out, &drops{}, slog.New(slog.DiscardHandler), func() time.Time { return clock.Add(time.Second) })
	body, _ := json.Marshal(job)
	if err := w.Process(ctx, events.SQSMessage{Body: string(body), Attributes: map[string]string{"ApproximateReceiveCount": "1"}}); err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	var deltas []string
	for i, f := range out.frames {
		if f["seq"].(float64) != float64(i+1) || f["requestId"] != "r1" || f["conversationId"] != job.ConversationID || f["messageId"] != job.MessageID {
			t.Fatalf("frame %d: %v", i, f)
		}
		if i < len(out.frames)-1 {
			if f["type"] != "chat.delta" {
				t.Fatalf("frame %d: %v", i, f)
			}
			deltas = append(deltas, f["delta"].(string))
			text.WriteString(f["delta"].(string))
		}
	}
	done := out.frames[len(out.frames)-1]
	if done["type"] != "chat.done" || done["text"] != text.String() || done["engine"] != "offline" || done["title"] != "first question" {
		t.Fatalf("done %v (deltas %q)", done, deltas)
	}
	// "Hello" at once; the burst in 64-byte deltas; "xy" and "tail" by time.
	if deltas[0] != "Hello" || len(deltas[1]) != 64 || deltas[len(deltas)-2] != "xy" || deltas[len(deltas)-1] != "tail" || len(deltas) != 5 {
		t.Errorf("deltas %q", deltas)
	}
	msgs, _ := s.Messages(ctx, chat.Owner{TenantID: "t1", UserID: "alice"}, job.ConversationID)
	if len(msgs) != 2 || msgs[1].Text != text.String() || msgs[1].Engine != "offline" {
		t.Errorf("stored %+v", msgs)
	}
	// The next turn sends the history (without its own question) and the
	// caller from the job.
	clock = clock.Add(2 * time.Second)
	if _, err := a.Send(ctx, alice, json.RawMessage(`{"action":"chat.send","conversationId":"`+job.ConversationID+`","text":"second"}`)); err != nil {
		t.Fatal(err)
	}
	body, _ = json.Marshal(q.last(t))
	ans.pieces = []string{"ok"}
	if err := w.Process(ctx, events.SQSMessage{Body: string(body)}); err != nil {
		t.Fatal(err)
	}
	if h := ans.seen.History; len(h) != 2 || h[0].Text != "first question" || h[1].Role != "assistant" || ans.seen.Text != "second" ||
		ans.seen.Caller.TenantID != "t1" || ans.seen.Caller.Role != "marketer" {
		t.Errorf("question %+v", ans.seen)
	}
}

func TestWorkerNeverEndsInSilence(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	a, s, q, _ := newActions(t, &clock)
	send := func() chat.Job {
		if _, err := a.Send(ctx, alice, json.RawMessage(`{"action":"chat.send","text":"hi"}`)); err != nil {
			t.Fatal(err)
		}
		return q.last(t)
	}
	run := func(job chat.Job, ans chat.Answerer, out *sink, receive string) *drops {
		d := &drops{}
		body, _ := json.Marshal(job)
		w := chat.NewWorker(s, ans, out, d, slog.New(slog.DiscardHandler), nil)
		if err := w.Process(ctx, events.SQSMessage{Body: string(body), Attributes: map[string]string{"ApproximateReceiveCount": receive}}); err != nil {
			t.Fatal(err)
		}
		return d
	}

	// The engine fails after a delta: chat.error follows, the conversation is free.
	job := send()
	out := &sink{t: t}
	run(job, &scripted{pieces: []string{"partial"}, err: errors.New("boom")}, out, "1")
	if len(out.frames) != 2 || out.frames[1]["type"] != "chat.error" || out.frames[1]["seq"].(float64) != 2 ||
		out.frames[1]["error"] != "the copilot could not answer: internal error" {
		t.Fatalf("frames %v", out.frames)
	}
	if reply, _ := a.Send(ctx, alice, json.RawMessage(`{"action":"chat.send","conversationId":"`+job.ConversationID+`","text":"again"}`)); reply != nil {
		t.Fatalf("conversation still held after a failure: %v", reply)
	}

	// A redelivered turn (the first attempt died) is answered with chat.error.
	job = send()
	out = &sink{t: t}
	ans := &scripted{pieces: []string{"never"}}
	run(job, ans, out, "2")
	if len(out.frames) != 1 || out.frames[0]["type"] != "chat.error" || !strings.Contains(out.frames[0]["error"].(string), "previous attempt") || ans.seen.Text != "" {
		t.Fatalf("redelivery: %v", out.frames)
	}

	// A transient post failure is retried: nothing lost.
	job = send()
	out = &sink{t: t, fail: 2}
	run(job, &scripted{pieces: []string{"one"}}, out, "1")
	if len(out.frames) != 2 || out.frames[0]["delta"] != "one" || out.frames[1]["type"] != "chat.done" {
		t.Fatalf("after transient failures: %v", out.frames)
	}

	// The client left: nothing more is posted, the connection record goes,
	// and the answer is still stored.
	job = send()
	out = &sink{t: t, gone: true}
	d := run(job, &scripted{pieces: []string{"a", "|", "b"}, pause: 10 * time.Millisecond}, out, "1")
	if out.posts != 1 || len(d.ids) != 1 || d.ids[0] != "conn-a" {
		t.Fatalf("gone: %d posts, dropped %v", out.posts, d.ids)
	}
	msgs, _ := s.Messages(ctx, chat.Owner{TenantID: "t1", UserID: "alice"}, job.ConversationID)
	if len(msgs) != 2 || msgs[1].Text != "ab" {
		t.Fatalf("stored %+v", msgs)
	}

	// A malformed job is poison (dead-lettered by the batch handler).
	w := chat.NewWorker(s, &scripted{}, &sink{}, &drops{}, slog.New(slog.DiscardHandler), nil)
	if err := w.Process(ctx, events.SQSMessage{Body: `{"text":"no tenant"}`}); apperr.KindOf(err) != apperr.Invalid {
		t.Fatalf("malformed job: %v", err)
	}
}

func TestTitle(t *testing.T) {
	for in, want := range map[string]string{
		"short":                     "short",
		"  two\nlines ":             "two",
		"spaces   collapse   here":  "spaces collapse here",
		strings.Repeat("word ", 30): strings.TrimSpace(strings.Repeat("word ", 12)) + "…",
		strings.Repeat("x", 100):    strings.Repeat("x", 60) + "…",
	} {
		if got := chat.Title(in); got != want {
			t.Errorf("Title(%q) = %q, want %q", in, got, want)
		}
	}
}
