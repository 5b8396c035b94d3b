// Package wsmessage is the ws-message function's wiring: realtime's message
// handler with the actions of the other domains (the copilot's chat and
// conversation actions) added to its table. Add a domain's actions in
// Actions.
package wsmessage

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/chat"
	"github.com/pulsehub/pulsehub/shared/lambdafn"
	"github.com/pulsehub/pulsehub/shared/queue"
	"github.com/pulsehub/pulsehub/shared/realtime"
	"github.com/pulsehub/pulsehub/shared/wsapi"
)

// NewFunction builds the ws-message handler (lambdafn.Constructor).
func NewFunction(ctx context.Context, d lambdafn.Deps) (any, error) {
	client, err := wsapi.NewClient(d.AWS, d.Config.WSEndpoint)
	if err != nil {
		return nil, fmt.Errorf("ws-message: %w", err)
	}
	table := d.Table()
	chats := chat.NewActions(chat.NewStore(table, nil), queue.New(sqs.NewFromConfig(d.AWS)), d.Config.QueueURL(catalog.QueueChat), d.Logger)
	return realtime.NewMessageHandler(wsapi.NewConnectionStore(table), client, d.Logger, Actions(chats)).Handle, nil
}

// Actions is the action table beyond ping, one line per action.
func Actions(chats *chat.Actions) map[string]realtime.Action {
	return map[string]realtime.Action{
		"chat.send":           asChat(chats.Send),
		"conversation.list":   asChat(chats.List),
		"conversation.get":    asChat(chats.Get),
		"conversation.delete": asChat(chats.Delete),
	}
}

// asChat passes the connection's user to a chat action.
func asChat(fn func(ctx context.Context, c chat.Caller, body json.RawMessage) (any, error)) realtime.Action {
	return func(ctx context.Context, req realtime.Request) (any, error) {
		p, err := req.Principal(ctx)
		if err != nil {
			return nil, err
		}
		return fn(ctx, chat.Caller{ConnectionID: req.ConnectionID, TenantID: p.TenantID, UserID: p.UserID, Role: p.Role, RequestID: req.RequestID}, req.Body)
	}
}
