package chat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"unicode/utf8"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/auth"
)

// Caller is who sent a WebSocket message: the connection and the user it
// was opened for (from the connection record), with the request id to echo.
type Caller struct {
	ConnectionID string
	TenantID     string
	UserID       string
	Role         string
	RequestID    string
}

func (c Caller) owner() Owner { return Owner{TenantID: c.TenantID, UserID: c.UserID} }

// Enqueuer sends a message to a queue (queue.Sender).
type Enqueuer interface {
	Send(ctx context.Context, url string, body []byte, attrs map[string]string) error
}

// Actions are the chat's WebSocket actions, run by ws-message: chat.send
// stores the question and queues the turn for the chat function; the
// conversation actions answer at once.
type Actions struct {
	store    *Store
	queue    Enqueuer
	queueURL string
	log      *slog.Logger
}

// NewActions returns the actions; turns go to the queue at queueURL.
func NewActions(s *Store, q Enqueuer, queueURL string, log *slog.Logger) *Actions {
	return &Actions{store: s, queue: q, queueURL: queueURL, log: log}
}

// Reply frames of the conversation actions.
type (
	// ListFrame answers conversation.list.
	ListFrame struct {
		Type      string         `json:"type"` // conversation.list
		Items     []Conversation `json:"items"`
		RequestID string         `json:"requestId,omitempty"`
	}
	// ConversationFrame answers conversation.get.
	ConversationFrame struct {
		Type           string    `json:"type"` // conversation
		ConversationID string    `json:"conversationId"`
		Title          string    `json:"title"`
		Messages       []Message `json:"messages"`
		RequestID      string    `json:"requestId,omitempty"`
	}
	// DeletedFrame answers conversation.delete.
	DeletedFrame struct {
		Type           string `json:"type"` // conversation.deleted
		ConversationID string `json:"conversationId"`
		RequestID      string `json:"requestId,omitempty"`
	}
)

// decode reads an action's fields strictly (unknown fields are a mistake
// worth telling the client about).
func decode(body json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return apperr.Wrap(apperr.Invalid, err, "%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// allowed checks that the caller's role may use the copilot.
func allowed(c Caller) error {
	if c.TenantID == "" || c.UserID == "" {
		return apperr.E(apperr.Unauthorized, "this connection is not signed in: connect with ?token=<accessToken>")
	}
	if !auth.Allowed(auth.Role(c.Role), auth.ChatUse) {
		return apperr.E(apperr.Forbidden, "the %s role may not use the copilot", c.Role)
	}
	return nil
}

// Send handles {"action":"chat.send","conversationId"?,"text"}. A
// malformed frame is an error (the {"type":"error"} reply); a refusal
// (role, unknown conversation, a turn still running) is a chat.error.
func (a *Actions) Send(ctx context.Context, c Caller, body json.RawMessage) (any, error) {
	var in struct {
		Action         string `json:"action"`
		RequestID      string `json:"requestId"`
		ConversationID string `json:"conversationId"`
		Text           string `json:"text"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	text := strings.TrimSpace(in.Text)
	switch {
	case text == "":
		return nil, &apperr.Error{Kind: apperr.Invalid, Field: "text", Message: `chat.send needs a "text": the question to ask`}
	case utf8.RuneCountInString(text) > MaxText:
		return nil, &apperr.Error{Kind: apperr.Invalid, Field: "text", Message: fmt.Sprintf("text is %d characters; at most %d", utf8.RuneCountInString(text), MaxText)}
	}
	if in.ConversationID != "" {
		if err := CheckID(in.ConversationID); err != nil {
			return nil, err
		}
	}
	refuse := func(err error) (any, error) {
		return ErrorFrame{Type: TypeError, ConversationID: in.ConversationID, Error: apperr.Message(err), RequestID: c.RequestID}, nil
	}
	if err := allowed(c); err != nil {
		return refuse(err)
	}
	tr, err := a.store.StartTurn(ctx, c.owner(), in.ConversationID, text)
	switch k := apperr.KindOf(err); {
	case err == nil:
	case k == apperr.NotFound || k == apperr.Conflict:
		return refuse(err)
	default:
		return nil, err
	}
	job := Job{TenantID: c.TenantID, UserID: c.UserID, Role: c.Role, ConnectionID: c.ConnectionID,
		ConversationID: tr.ConversationID, MessageID: tr.MessageID, RequestID: c.RequestID, Title: tr.Title, Text: text, At: tr.At}
	b, err := json.Marshal(job)
	if err != nil {
		return nil, fmt.Errorf("chat.Send: encode job: %w", err)
	}
	if err := a.queue.Send(ctx, a.queueURL, b, nil); err != nil {
		if rerr := a.store.ReleaseTurn(ctx, c.owner(), tr); rerr != nil {
			a.log.ErrorContext(ctx, "chat: release after a failed enqueue", "err", rerr)
		}
		return nil, fmt.Errorf("chat.Send: enqueue turn: %w", err)
	}
	// Nothing to answer now: the chat function streams the reply.
	return nil, nil
}

// List handles {"action":"conversation.list"}.
func (a *Actions) List(ctx context.Context, c Caller, body json.RawMessage) (any, error) {
	var in struct {
		Action    string `json:"action"`
		RequestID string `json:"requestId"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := allowed(c); err != nil {
		return nil, err
	}
	items, err := a.store.List(ctx, c.owner())
	if err != nil {
		return nil, err
	}
	return ListFrame{Type: "conversation.list", Items: items, RequestID: c.RequestID}, nil
}

// idFrame is the body of conversation.get and conversation.delete.
type idFrame struct {
	Action         string `json:"action"`
	RequestID      string `json:"requestId"`
	ConversationID string `json:"conversationId"`
}

func (a *Actions) conversationID(c Caller, body json.RawMessage) (string, error) {
	var in idFrame
	if err := decode(body, &in); err != nil {
		return "", err
	}
	if in.ConversationID == "" {
		return "", &apperr.Error{Kind: apperr.Invalid, Field: "conversationId", Message: `"conversationId" is required`}
	}
	if err := CheckID(in.ConversationID); err != nil {
		return "", err
	}
	return in.ConversationID, allowed(c)
}

// Get handles {"action":"conversation.get","conversationId"}.
func (a *Actions) Get(ctx context.Context, c Caller, body json.RawMessage) (any, error) {
	id, err := a.conversationID(c, body)
	if err != nil {
		return nil, err
	}
	conv, msgs, err := a.store.Get(ctx, c.owner(), id)
	if err != nil {
		return nil, err
	}
	return ConversationFrame{Type: "conversation", ConversationID: id, Title: conv.Title, Messages: msgs, RequestID: c.RequestID}, nil
}

// Delete handles {"action":"conversation.delete","conversationId"}.
func (a *Actions) Delete(ctx context.Context, c Caller, body json.RawMessage) (any, error) {
	id, err := a.conversationID(c, body)
	if err != nil {
		return nil, err
	}
	if err := a.store.Delete(ctx, c.owner(), id); err != nil {
		return nil, err
	}
	return DeletedFrame{Type: "conversation.deleted", ConversationID: id, RequestID: c.RequestID}, nil
}
