package realtime

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/lambdafn"
	"github.com/pulsehub/pulsehub/shared/logging"
	"github.com/pulsehub/pulsehub/shared/wsapi"
)

// Principal is who opened a connection, from a verified access token.
type Principal struct {
	TenantID string
	UserID   string
	Role     string
}

// TokenVerifier checks an access token. Errors of kind Unauthorized (or
// Invalid) refuse the connection with 401, Forbidden with 403; any other
// error fails the $connect invocation (500).
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (Principal, error)
}

// Connections is the part of wsapi.ConnectionStore the handlers use.
type Connections interface {
	Put(ctx context.Context, c wsapi.Connection) error
	Get(ctx context.Context, id string) (wsapi.Connection, error)
	Delete(ctx context.Context, id string) error
}

// ConnectionStore opens the connection records of the function's table.
func ConnectionStore(d lambdafn.Deps) *wsapi.ConnectionStore {
	return wsapi.NewConnectionStore(d.Table())
}

// ConnectHandler handles $connect.
type ConnectHandler struct {
	conns    Connections
	verifier TokenVerifier // nil: connections are anonymous
	log      *slog.Logger
}

// NewConnectHandler returns a $connect handler; verifier may be nil (open).
func NewConnectHandler(conns Connections, verifier TokenVerifier, log *slog.Logger) *ConnectHandler {
	return &ConnectHandler{conns: conns, verifier: verifier, log: log}
}

// Handle authenticates the handshake and stores the connection. A refusal is
// a non-2xx response, which API Gateway turns into the handshake's status.
func (h *ConnectHandler) Handle(ctx context.Context, ev events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	rc := ev.RequestContext
	ctx = logging.With(ctx, logging.RequestID(rc.RequestID), slog.String("connectionId", rc.ConnectionID))
	if rc.ConnectionID == "" {
		return events.APIGatewayProxyResponse{}, apperr.E(apperr.Invalid, "$connect event without a connectionId")
	}
	var p Principal
	if h.verifier != nil {
		token := ev.QueryStringParameters["token"]
		if token == "" {
			return refuse(http.StatusUnauthorized, "missing access token: connect with ?token=<accessToken>"), nil
		}
		var err error
		p, err = h.verifier.Verify(ctx, token)
		switch k := apperr.KindOf(err); {
		case err == nil:
		case k == apperr.Unauthorized, k == apperr.Invalid, k == apperr.NotFound:
			h.log.InfoContext(ctx, "websocket refused", "err", err)
			return refuse(http.StatusUnauthorized, apperr.Message(err)), nil
		case k == apperr.Forbidden:
			h.log.InfoContext(ctx, "websocket refused", "err", err)
			return refuse(http.StatusForbidden, apperr.Message(err)), nil
		default:
			return events.APIGatewayProxyResponse{}, fmt.Errorf("realtime.Connect %s: verify token: %w", rc.ConnectionID, err)
		}
		ctx = logging.With(ctx, logging.Tenant(p.TenantID))
	}
	connectedAt := time.UnixMilli(rc.ConnectedAt)
	if rc.ConnectedAt == 0 {
		connectedAt = time.Now()
	}
	err := h.conns.Put(ctx, wsapi.Connection{
		ID: rc.ConnectionID, TenantID: p.TenantID, UserID: p.UserID, Role: p.Role,
		ConnectedAt: connectedAt, SourceIP: rc.Identity.SourceIP, UserAgent: rc.Identity.UserAgent,
	})
	if err != nil {
		return events.APIGatewayProxyResponse{}, fmt.Errorf("realtime.Connect: %w", err)
	}
	h.log.InfoContext(ctx, "websocket connected", "anonymous", h.verifier == nil)
	return events.APIGatewayProxyResponse{StatusCode: http.StatusOK}, nil
}

func refuse(status int, message string) events.APIGatewayProxyResponse {
	body, _ := json.Marshal(map[string]string{"message": message})
	return events.APIGatewayProxyResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       string(body),
	}
}

// NewDisconnectFunction builds the ws-disconnect handler.
func NewDisconnectFunction(ctx context.Context, d lambdafn.Deps) (any, error) {
	return NewDisconnectHandler(ConnectionStore(d), d.Logger).Handle, nil
}

// DisconnectHandler handles $disconnect.
type DisconnectHandler struct {
	conns Connections
	log   *slog.Logger
}

// NewDisconnectHandler returns a $disconnect handler.
func NewDisconnectHandler(conns Connections, log *slog.Logger) *DisconnectHandler {
	return &DisconnectHandler{conns: conns, log: log}
}

// Handle deletes the connection record. $disconnect is best effort in AWS
// (it may never arrive); the record's TTL covers that case.
func (h *DisconnectHandler) Handle(ctx context.Context, ev events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	rc := ev.RequestContext
	ctx = logging.With(ctx, logging.RequestID(rc.RequestID), slog.String("connectionId", rc.ConnectionID))
	if rc.ConnectionID == "" {
		return events.APIGatewayProxyResponse{}, apperr.E(apperr.Invalid, "$disconnect event without a connectionId")
	}
	if err := h.conns.Delete(ctx, rc.ConnectionID); err != nil {
		return events.APIGatewayProxyResponse{}, fmt.Errorf("realtime.Disconnect: %w", err)
	}
	h.log.InfoContext(ctx, "websocket disconnected", "status", rc.DisconnectStatusCode)
	return events.APIGatewayProxyResponse{StatusCode: http.StatusOK}, nil
}
