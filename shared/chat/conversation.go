package chat

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/store"
)

// Retention is how long conversations and messages are kept after their
// last activity (a message's own time, a conversation's last turn): the
// table's TTL removes them.
const Retention = 90 * 24 * time.Hour

// TurnLease is how long a turn holds its conversation: longer than the
// chat function's 60 s timeout plus queueing, so a turn that crashed frees
// the conversation by itself.
const TurnLease = 3 * time.Minute

// Limits on what a client sends and lists.
const (
	MaxText     = 4000 // characters of one chat.send text
	titleLength = 60
	maxMessages = 500 // messages conversation.get returns (the newest)
	maxListed   = 50  // conversations conversation.list returns (the latest)
)

// Owner is whose conversations these are: the user, in the tenant.
type Owner struct {
	TenantID string
	UserID   string
}

func (o Owner) pk() string { return "T#" + o.TenantID + "#U#" + o.UserID }

// listPK is the GSI1 partition listing the owner's conversations by the
// time of their last turn.
func (o Owner) listPK() string { return o.pk() + "#CONVS" }

// Conversation is one conversation as conversation.list shows it.
type Conversation struct {
	ID        string    `json:"conversationId"`
	Title     string    `json:"title"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Message is one message of a conversation.
type Message struct {
	// TurnID is the turn the message belongs to: the question and its
	// answer share it (the answer's messageId).
	TurnID string    `json:"-"`
	Role   string    `json:"role"` // user | assistant
	Text   string    `json:"text"`
	At     time.Time `json:"at"`
	Engine string    `json:"engine,omitempty"` // which engine wrote an assistant message
}

type convItem struct {
	PK        string `dynamodbav:"PK"`
	SK        string `dynamodbav:"SK"`
	GSI1PK    string `dynamodbav:"GSI1PK"`
	GSI1SK    string `dynamodbav:"GSI1SK"`
	ID        string `dynamodbav:"conversationId"`
	Title     string `dynamodbav:"title"`
	CreatedAt string `dynamodbav:"createdAt"`
	UpdatedAt string `dynamodbav:"updatedAt"`
	TurnID    string `dynamodbav:"turnId,omitempty"`
	TurnUntil int64  `dynamodbav:"turnUntil,omitempty"` // Unix ms
	TTL       int64  `dynamodbav:"ttl"`
}

type msgItem struct {
	PK        string `dynamodbav:"PK"`
	SK        string `dynamodbav:"SK"`
	MessageID string `dynamodbav:"messageId"`
	Role      string `dynamodbav:"role"`
	Text      string `dynamodbav:"text"`
	Engine    string `dynamodbav:"engine,omitempty"`
	At        string `dynamodbav:"at"`
	TTL       int64  `dynamodbav:"ttl"`
}

func convSK(id string) string    { return "CONV#" + id }
func msgPrefix(id string) string { return "CONV#" + id + "#MSG#" }

// msgSK orders a conversation's messages by time; the turn id and q|r
// (question, reply) keep two messages of one millisecond apart.
func msgSK(id string, at time.Time, turnID, qa string) string {
	return msgPrefix(id) + stamp(at) + "#" + turnID + "#" + qa
}

// stamp is a sortable UTC time with milliseconds.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// Store keeps conversations (docs/data-model.md: T#<t>#U#<u> / CONV#<id>
// and CONV#<id>#MSG#<at>).
type Store struct {
	t   *store.Table
	now func() time.Time
}

// NewStore returns the store over t; now may be nil.
func NewStore(t *store.Table, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{t: t, now: now}
}

// NewID returns a random id with a prefix ("cv_" conversations, "m_"
// messages).
func NewID(prefix string) string { return prefix + strings.ToLower(rand.Text()[:20]) }

// Turn is a chat turn the conversation is held for.
type Turn struct {
	ConversationID string
	MessageID      string // the answer's id; the user's message is stored under it too
	Text           string
	At             time.Time
	Title          string // set when the turn started the conversation
}

// ErrBusy is answered to a second message while a turn runs.
var ErrBusy = apperr.E(apperr.Conflict, "a reply is still being written in this conversation: send your next message after chat.done")

// StartTurn stores the user's message and holds the conversation for the
// turn: a new conversation when conversationID is empty, else the owner's
// existing one, refused with ErrBusy while another turn holds it and
// NotFound when it is not the owner's.
func (s *Store) StartTurn(ctx context.Context, o Owner, conversationID, text string) (Turn, error) {
	now := s.now().UTC()
	tr := Turn{ConversationID: conversationID, MessageID: NewID("m_"), Text: text, At: now}
	if conversationID == "" {
		tr.ConversationID, tr.Title = NewID("cv_"), Title(text)
	}
	msg := msgItem{PK: o.pk(), SK: msgSK(tr.ConversationID, now, tr.MessageID, "q"), MessageID: tr.MessageID, Role: "user", Text: text, At: stamp(now), TTL: store.TTL(now.Add(Retention))}
	if conversationID == "" {
		conv := convItem{
			PK: o.pk(), SK: convSK(tr.ConversationID), GSI1PK: o.listPK(), GSI1SK: stamp(now) + "#" + tr.ConversationID,
			ID: tr.ConversationID, Title: tr.Title, CreatedAt: stamp(now), UpdatedAt: stamp(now),
			TurnID: tr.MessageID, TurnUntil: now.Add(TurnLease).UnixMilli(), TTL: store.TTL(now.Add(Retention)),
		}
		if err := s.t.Transact(ctx, s.t.TxPut(conv, store.IfAbsent()), s.t.TxPut(msg)); err != nil {
			return Turn{}, fmt.Errorf("chat.StartTurn: %w", err)
		}
		return tr, nil
	}
	free := expression.Or(expression.AttributeNotExists(expression.Name("turnUntil")),
		expression.Name("turnUntil").LessThan(expression.Value(now.UnixMilli())))
	upd := expression.Set(expression.Name("turnId"), expression.Value(tr.MessageID)).
		Set(expression.Name("turnUntil"), expression.Value(now.Add(TurnLease).UnixMilli())).
		Set(expression.Name("updatedAt"), expression.Value(stamp(now))).
		Set(expression.Name("GSI1SK"), expression.Value(stamp(now)+"#"+conversationID)).
		Set(expression.Name("ttl"), expression.Value(store.TTL(now.Add(Retention))))
	key := store.Key{PK: o.pk(), SK: convSK(conversationID)}
	err := s.t.Transact(ctx, s.t.TxUpdate(key, upd, store.IfExists(), store.If(free)), s.t.TxPut(msg))
	if apperr.KindOf(err) == apperr.Conflict {
		var it convItem
		if gerr := s.t.Get(ctx, key, &it); apperr.KindOf(gerr) == apperr.NotFound {
			return Turn{}, notFound(conversationID)
		}
		return Turn{}, ErrBusy
	}
	if err != nil {
		return Turn{}, fmt.Errorf("chat.StartTurn %s: %w", conversationID, err)
	}
	return tr, nil
}

func notFound(id string) error {
	return &apperr.Error{Kind: apperr.NotFound, Field: "conversationId", Message: fmt.Sprintf("no conversation %q", id)}
}

// held is the condition that the turn still holds the conversation.
func held(messageID string) store.Cond {
	return store.If(expression.Name("turnId").Equal(expression.Value(messageID)))
}

// release is the update that frees the conversation after a turn.
func release(at time.Time, conversationID string) expression.UpdateBuilder {
	return expression.Remove(expression.Name("turnId")).Remove(expression.Name("turnUntil")).
		Set(expression.Name("updatedAt"), expression.Value(stamp(at))).
		Set(expression.Name("GSI1SK"), expression.Value(stamp(at)+"#"+conversationID))
}

// FinishTurn stores the answer and frees the conversation, together. It
// fails with Conflict when the turn no longer holds it (the conversation
// was deleted meanwhile), and then stores nothing.
func (s *Store) FinishTurn(ctx context.Context, o Owner, tr Turn, answer Message) error {
	at := answer.At.UTC()
	if !at.After(tr.At) {
		at = tr.At.Add(time.Millisecond) // the answer sorts after its question
	}
	msg := msgItem{PK: o.pk(), SK: msgSK(tr.ConversationID, at, tr.MessageID, "r"), MessageID: tr.MessageID, Role: "assistant",
		Text: answer.Text, Engine: answer.Engine, At: stamp(at), TTL: store.TTL(at.Add(Retention))}
	key := store.Key{PK: o.pk(), SK: convSK(tr.ConversationID)}
	if err := s.t.Transact(ctx, s.t.TxPut(msg), s.t.TxUpdate(key, release(at, tr.ConversationID), held(tr.MessageID))); err != nil {
		return fmt.Errorf("chat.FinishTurn %s: %w", tr.ConversationID, err)
	}
	return nil
}

// ReleaseTurn frees the conversation after a failed turn (the user's
// message stays). A conversation no longer held by the turn is left alone.
func (s *Store) ReleaseTurn(ctx context.Context, o Owner, tr Turn) error {
	err := s.t.Update(ctx, store.Key{PK: o.pk(), SK: convSK(tr.ConversationID)}, release(s.now(), tr.ConversationID), nil, held(tr.MessageID))
	if err != nil && apperr.KindOf(err) != apperr.Conflict {
		return fmt.Errorf("chat.ReleaseTurn %s: %w", tr.ConversationID, err)
	}
	return nil
}

// List returns the owner's latest conversations, most recent first.
func (s *Store) List(ctx context.Context, o Owner) ([]Conversation, error) {
	items, err := store.QueryAll[convItem](ctx, s.t, store.Query{Index: "GSI1", PK: o.listPK(), Desc: true, Limit: maxListed}, maxListed)
	if err != nil {
		return nil, fmt.Errorf("chat.List: %w", err)
	}
	out := make([]Conversation, 0, len(items))
	now := s.now().Unix()
	for _, it := range items {
		if it.TTL > 0 && now >= it.TTL {
			continue // expired, not yet swept
		}
		out = append(out, it.conversation())
	}
	return out, nil
}

func (it convItem) conversation() Conversation {
	at, _ := time.Parse(time.RFC3339Nano, it.UpdatedAt)
	return Conversation{ID: it.ID, Title: it.Title, UpdatedAt: at}
}

// Get returns the conversation and its messages, oldest first (the newest
// maxMessages).
func (s *Store) Get(ctx context.Context, o Owner, id string) (Conversation, []Message, error) {
	var it convItem
	if err := s.t.Get(ctx, store.Key{PK: o.pk(), SK: convSK(id)}, &it); err != nil {
		if apperr.KindOf(err) == apperr.NotFound {
			return Conversation{}, nil, notFound(id)
		}
		return Conversation{}, nil, fmt.Errorf("chat.Get %s: %w", id, err)
	}
	if it.TTL > 0 && s.now().Unix() >= it.TTL {
		return Conversation{}, nil, notFound(id) // expired, not yet swept
	}
	msgs, err := s.Messages(ctx, o, id)
	return it.conversation(), msgs, err
}

// Messages returns a conversation's messages, oldest first (the newest
// maxMessages).
func (s *Store) Messages(ctx context.Context, o Owner, id string) ([]Message, error) {
	items, err := store.QueryAll[msgItem](ctx, s.t, store.Query{PK: o.pk(), SKPrefix: msgPrefix(id), Desc: true, Consistent: true, Limit: 100}, maxMessages)
	if err != nil {
		return nil, fmt.Errorf("chat.Messages %s: %w", id, err)
	}
	out := make([]Message, len(items))
	for i, it := range items {
		at, _ := time.Parse(time.RFC3339Nano, it.At)
		out[len(items)-1-i] = Message{TurnID: it.MessageID, Role: it.Role, Text: it.Text, At: at, Engine: it.Engine}
	}
	return out, nil
}

// Delete removes the conversation and its messages; NotFound when the
// owner has no such conversation. A turn still running finds it gone and
// stores nothing.
func (s *Store) Delete(ctx context.Context, o Owner, id string) error {
	key := store.Key{PK: o.pk(), SK: convSK(id)}
	if err := s.t.Delete(ctx, key, store.IfExists()); err != nil {
		if apperr.KindOf(err) == apperr.Conflict {
			return notFound(id)
		}
		return fmt.Errorf("chat.Delete %s: %w", id, err)
	}
	q := store.Query{PK: o.pk(), SKPrefix: msgPrefix(id), Consistent: true, Limit: 100}
	for {
		page, err := store.QueryPage[store.Key](ctx, s.t, q)
		if err != nil {
			return fmt.Errorf("chat.Delete %s: %w", id, err)
		}
		if err := s.t.BatchDelete(ctx, page.Items); err != nil {
			return fmt.Errorf("chat.Delete %s: %w", id, err)
		}
		if page.Next == "" {
			return nil
		}
		q.Cursor = page.Next
	}
}

// Title is a conversation's title: the first line of its first message,
// cut at a word near titleLength characters.
func Title(text string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(text), "\n")
	line = strings.Join(strings.Fields(line), " ")
	if utf8.RuneCountInString(line) <= titleLength {
		return line
	}
	r := []rune(line)[:titleLength]
	cut := string(r)
	if i := strings.LastIndexByte(cut, ' '); i > titleLength/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,.;:") + "…"
}

// CheckID validates a conversation id from a client.
func CheckID(id string) error {
	if !strings.HasPrefix(id, "cv_") || len(id) > 64 || strings.ContainsAny(id, "#\x00") {
		return &apperr.Error{Kind: apperr.Invalid, Field: "conversationId", Message: fmt.Sprintf("conversationId %q is not a conversation id", id)}
	}
	return nil
}
