package wsconnect_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/pulsehub/pulsehub/shared/api"
	"github.com/pulsehub/pulsehub/shared/auth"
	"github.com/pulsehub/pulsehub/shared/config"
	"github.com/pulsehub/pulsehub/shared/lambdafn"
	"github.com/pulsehub/pulsehub/shared/realtime/wsconnect"
	"github.com/pulsehub/pulsehub/shared/store/storetest"
	"github.com/pulsehub/pulsehub/shared/testenv"
	"github.com/pulsehub/pulsehub/shared/wsapi"
)

// TestConnectFunctionVerifiesTokens runs the production ws-connect
// constructor with access tokens issued by the identity service: only a
// valid token of a live login connects, and the connection is stored with
// the token's tenant, user and role.
func TestConnectFunctionVerifiesTokens(t *testing.T) {
	ctx := context.Background()
	_, name := storetest.Provision(t, "wsconnect")
	dir := t.TempDir()
	d := lambdafn.Deps{
		Config: config.Config{TableName: name, CursorSecret: []byte("test-cursor"), JWTSecretID: "file:" + dir, KMSKeyID: "file:" + dir},
		AWS:    testenv.AWSConfig(t),
		Logger: slog.New(slog.DiscardHandler),
	}
	conns := wsapi.NewConnectionStore(d.Table())
	svc, err := api.NewServices(ctx, d, api.Options{Argon2: auth.Argon2Params{Memory: 1024, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := svc.Auth.Signup(ctx, "ws-shop", "owner@ws.test", "correct-horse-1", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	h, err := wsconnect.NewFunction(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	connect := func(id, token string) events.APIGatewayProxyResponse {
		ev := events.APIGatewayWebsocketProxyRequest{
			QueryStringParameters: map[string]string{"token": token},
			RequestContext:        events.APIGatewayWebsocketProxyRequestContext{RouteKey: "$connect", EventType: "CONNECT", ConnectionID: id, RequestID: "r-" + id},
		}
		if token == "" {
			ev.QueryStringParameters = nil
		}
		out, err := invokeEvent(lambda.NewHandler(h), ev)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for name, tok := range map[string]string{"missing": "", "garbage": "x.y.z", "tampered": pair.AccessToken[:len(pair.AccessToken)-4] + "AAAA"} {
		if r := connect("refused-"+name, tok); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s token: %d %s", name, r.StatusCode, r.Body)
		}
		if _, err := conns.Get(ctx, "refused-"+name); err == nil {
			t.Errorf("%s token: refused connection was stored", name)
		}
	}
	if r := connect("ok", pair.AccessToken); r.StatusCode != 200 {
		t.Fatalf("valid token: %d %s", r.StatusCode, r.Body)
	}
	me, err := svc.Auth.Tokens().Parse(ctx, pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	c, err := conns.Get(ctx, "ok")
	if err != nil || c.TenantID != pair.TenantID || c.UserID != me.UserID || c.Role != "owner" {
		t.Fatalf("stored connection %+v, %v; want tenant %s, user %s, role owner", c, err, pair.TenantID, me.UserID)
	}
	// After logout the same access token is refused.
	if err := svc.Auth.Logout(ctx, pair.RefreshToken, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if r := connect("after-logout", pair.AccessToken); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after logout: %d", r.StatusCode)
	}
}

func invokeEvent(h lambda.Handler, ev any) (events.APIGatewayProxyResponse, error) {
	payload, err := json.Marshal(ev)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	out, err := h.Invoke(context.Background(), payload)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	var resp events.APIGatewayProxyResponse
	err = json.Unmarshal(out, &resp)
	return resp, err
}
