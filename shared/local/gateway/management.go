package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
)

// awsTime is the ISO 8601 format of the management API's timestamps.
const awsTime = "2006-01-02T15:04:05.000Z"

// serveManagement is the @connections API (PostToConnection, GetConnection,
// DeleteConnection) on the wire as the apigatewaymanagementapi client
// expects it: errors carry X-Amzn-ErrorType and a JSON {"message"}.
// SigV4 signatures are accepted without verification.
func (g *Gateway) serveManagement(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Amzn-Requestid", newID())
	raw := strings.TrimPrefix(r.URL.EscapedPath(), mgmtPath)
	id, err := url.PathUnescape(raw)
	if err != nil || id == "" || strings.Contains(raw, "/") {
		awsError(w, http.StatusBadRequest, "BadRequestException", fmt.Sprintf("invalid connection id %q in the path /@connections/{connectionId}", raw))
		return
	}
	switch r.Method {
	case http.MethodPost:
		g.postToConnection(w, r, id)
	case http.MethodGet:
		c := g.conn(id)
		if c == nil {
			gone(w, id)
			return
		}
		if <-c.ready; c.ws == nil {
			gone(w, id)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"connectedAt":  c.connectedAt.UTC().Format(awsTime),
			"identity":     map[string]string{"sourceIp": c.sourceIP, "userAgent": c.userAgent},
			"lastActiveAt": time.Unix(0, c.lastActiveAt.Load()).UTC().Format(awsTime),
		})
	case http.MethodDelete:
		c := g.conn(id)
		if c == nil {
			gone(w, id)
			return
		}
		// The closing handshake runs in the background: AWS answers at once.
		go c.close(statusNormal, "")
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		awsError(w, http.StatusMethodNotAllowed, "MethodNotAllowedException", fmt.Sprintf("method %s is not supported on @connections: use POST, GET or DELETE", r.Method))
	}
}

func (g *Gateway) postToConnection(w http.ResponseWriter, r *http.Request, id string) {
	data, err := io.ReadAll(io.LimitReader(r.Body, g.limits.MaxMessage+1))
	if err != nil {
		awsError(w, http.StatusBadRequest, "BadRequestException", "could not read the request body: "+err.Error())
		return
	}
	if int64(len(data)) > g.limits.MaxMessage {
		awsError(w, http.StatusRequestEntityTooLarge, "PayloadTooLargeException", fmt.Sprintf("message exceeds the WebSocket limit of %d bytes", g.limits.MaxMessage))
		return
	}
	c := g.conn(id)
	if c == nil {
		gone(w, id)
		return
	}
	typ := websocket.MessageText
	if !utf8.Valid(data) {
		typ = websocket.MessageBinary // a text frame must be valid UTF-8
	}
	ctx := context.WithoutCancel(r.Context())
	if err := c.send(ctx, typ, data); err != nil {
		g.log.Debug("gateway: post to connection failed", "connectionId", id, "err", err)
		gone(w, id)
		return
	}
	c.touch()
	w.WriteHeader(http.StatusOK)
}

func (g *Gateway) conn(id string) *wsConn {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.conns[id]
}

func gone(w http.ResponseWriter, id string) {
	awsError(w, http.StatusGone, "GoneException", fmt.Sprintf("connection %s is gone", id))
}

// awsError writes an AWS REST-JSON error.
func awsError(w http.ResponseWriter, status int, errorType, message string) {
	w.Header().Set("X-Amzn-Errortype", errorType)
	awsMessage(w, status, message)
}
