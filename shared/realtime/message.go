package realtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/logging"
	"github.com/pulsehub/pulsehub/shared/wsapi"
)

// Sender delivers a message to a connection (wsapi.Client). A connection
// that is gone yields an error wrapping wsapi.ErrGone.
type Sender interface {
	Send(ctx context.Context, connectionID string, msg any) error
}

// Request is one client message, parsed.
type Request struct {
	ConnectionID string
	Action       string
	RequestID    string          // echoed in replies when set
	Body         json.RawMessage // the whole message, for action-specific fields
	conns        Connections
}

// Principal is who opened the connection, read from its record: the
// tenant, user and role of the access token it was opened with (empty for
// an anonymous connection). A record that is gone is Unauthorized.
func (r Request) Principal(ctx context.Context) (Principal, error) {
	c, err := r.conns.Get(ctx, r.ConnectionID)
	if apperr.KindOf(err) == apperr.NotFound {
		return Principal{}, apperr.E(apperr.Unauthorized, "this connection is no longer registered: reconnect with a fresh access token")
	}
	if err != nil {
		return Principal{}, fmt.Errorf("realtime: connection %s: %w", r.ConnectionID, err)
	}
	return Principal{TenantID: c.TenantID, UserID: c.UserID, Role: c.Role}, nil
}

// Action handles one client action and returns the reply to send (nil for
// none). A classified error becomes an {"type":"error"} reply.
type Action func(ctx context.Context, req Request) (any, error)

// MessageHandler handles every message route ($default).
type MessageHandler struct {
	conns   Connections
	send    Sender
	log     *slog.Logger
	actions map[string]Action
}

// NewMessageHandler returns the message handler with ping and the given
// actions (name → action), e.g. the copilot's chat.send.
func NewMessageHandler(conns Connections, send Sender, log *slog.Logger, actions map[string]Action) *MessageHandler {
	h := &MessageHandler{conns: conns, send: send, log: log, actions: map[string]Action{"ping": ping}}
	maps.Copy(h.actions, actions)
	return h
}

// pong answers ping.
type pong struct {
	Type      string `json:"type"`
	RequestID string `json:"requestId,omitempty"`
}

func ping(_ context.Context, req Request) (any, error) {
	return pong{Type: "pong", RequestID: req.RequestID}, nil
}

// errorReply is sent for a message the server cannot act on.
type errorReply struct {
	Type      string `json:"type"`
	Error     string `json:"error"`
	RequestID string `json:"requestId,omitempty"`
}

// Handle dispatches one message. Client mistakes are answered with an error
// message and never fail the invocation; the connection stays open.
func (h *MessageHandler) Handle(ctx context.Context, ev events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	rc := ev.RequestContext
	ctx = logging.With(ctx, logging.RequestID(rc.RequestID), slog.String("connectionId", rc.ConnectionID))
	ok := events.APIGatewayProxyResponse{StatusCode: http.StatusOK}
	if rc.ConnectionID == "" {
		return ok, apperr.E(apperr.Invalid, "message event without a connectionId")
	}
	req, err := parseRequest(ev.Body, ev.IsBase64Encoded)
	req.ConnectionID, req.conns = rc.ConnectionID, h.conns
	var reply any
	if err == nil {
		act, known := h.actions[req.Action]
		if !known {
			err = apperr.E(apperr.Invalid, "unknown action %q; known actions: %s", req.Action, strings.Join(slices.Sorted(maps.Keys(h.actions)), ", "))
		} else {
			reply, err = act(ctx, req)
		}
	}
	if err != nil {
		if apperr.KindOf(err) == apperr.Internal {
			h.log.ErrorContext(ctx, "websocket action failed", "action", req.Action, "err", err)
		}
		reply = errorReply{Type: "error", Error: apperr.Message(err), RequestID: req.RequestID}
	}
	if reply == nil {
		return ok, nil
	}
	if err := h.send.Send(ctx, rc.ConnectionID, reply); err != nil {
		if errors.Is(err, wsapi.ErrGone) {
			// The client left while we worked; its record goes with it.
			if derr := h.conns.Delete(ctx, rc.ConnectionID); derr != nil {
				return ok, fmt.Errorf("realtime.Message: drop gone connection: %w", derr)
			}
			return ok, nil
		}
		return ok, fmt.Errorf("realtime.Message %s: reply: %w", req.Action, err)
	}
	return ok, nil
}

// parseRequest reads {"action": "...", "requestId"?: "...", ...}. The
// request id is kept even when the action is missing so errors can echo it.
func parseRequest(body string, base64Encoded bool) (Request, error) {
	if base64Encoded {
		return Request{}, apperr.E(apperr.Invalid, "binary messages are not supported: send a JSON text message such as {\"action\":\"ping\"}")
	}
	raw := []byte(body)
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return Request{}, apperr.E(apperr.Invalid, "message is not a JSON object: send {\"action\":\"...\"}")
	}
	var head struct {
		Action    json.RawMessage `json:"action"`
		RequestID json.RawMessage `json:"requestId"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return Request{}, apperr.Wrap(apperr.Invalid, err, "message is not valid JSON")
	}
	req := Request{Body: json.RawMessage(raw)}
	if len(head.RequestID) > 0 && string(head.RequestID) != "null" {
		if err := json.Unmarshal(head.RequestID, &req.RequestID); err != nil {
			return req, apperr.E(apperr.Invalid, "requestId must be a string")
		}
	}
	if len(head.Action) == 0 || string(head.Action) == "null" {
		return req, apperr.E(apperr.Invalid, "message has no \"action\": send {\"action\":\"ping\"}")
	}
	if err := json.Unmarshal(head.Action, &req.Action); err != nil {
		return req, apperr.E(apperr.Invalid, "action must be a string")
	}
	if req.Action == "" {
		return req, apperr.E(apperr.Invalid, "action is empty")
	}
	return req, nil
}
