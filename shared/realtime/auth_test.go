package realtime_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pulsehub/pulsehub/shared/api"
	"github.com/pulsehub/pulsehub/shared/auth"
	"github.com/pulsehub/pulsehub/shared/lambdafn"
	"github.com/pulsehub/pulsehub/shared/realtime"
	"github.com/pulsehub/pulsehub/shared/realtime/wsconnect"
	"github.com/pulsehub/pulsehub/shared/store"
	"github.com/pulsehub/pulsehub/shared/wsapi"
)

// anyTokenConnect is a $connect constructor whose verifier accepts any
// non-empty token as an anonymous principal, for tests of the connection
// mechanics; TestConnectFunctionVerifiesTokens covers the real verifier.
func anyTokenConnect(_ context.Context, d lambdafn.Deps) (any, error) {
	conns := newConnStore(d)
	return realtime.NewConnectHandler(conns, anyToken{}, d.Logger).Handle, nil
}

type anyToken struct{}

func (anyToken) Verify(context.Context, string) (realtime.Principal, error) {
	return realtime.Principal{}, nil
}

// TestConnectFunctionVerifiesTokens runs the production ws-connect
// constructor with access tokens issued by the identity service.
func TestConnectFunctionVerifiesTokens(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "")
	dir := t.TempDir()
	e.deps.Config.JWTSecretID = "file:" + dir
	e.deps.Config.KMSKeyID = "file:" + dir
	svc, err := api.NewServices(ctx, e.deps, api.Options{Argon2: auth.Argon2Params{Memory: 1024, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := svc.Auth.Signup(ctx, "ws-shop", "owner@ws.test", "correct-horse-1", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	h, err := wsconnect.NewFunction(ctx, e.deps)
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
		if _, err := e.conns.Get(ctx, "refused-"+name); err == nil {
			t.Errorf("%s token: refused connection was stored", name)
		}
	}
	if r := connect("ok", pair.AccessToken); r.StatusCode != 200 {
		t.Fatalf("valid token: %d %s", r.StatusCode, r.Body)
	}
	c, err := e.conns.Get(ctx, "ok")
	if err != nil || c.TenantID != pair.TenantID || c.UserID == "" || c.Role != "owner" {
		t.Fatalf("stored connection %+v, %v", c, err)
	}
	// After logout the same access token is refused.
	if err := svc.Auth.Logout(ctx, pair.RefreshToken, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if r := connect("after-logout", pair.AccessToken); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after logout: %d", r.StatusCode)
	}
}

func newConnStore(d lambdafn.Deps) *wsapi.ConnectionStore {
	return wsapi.NewConnectionStore(store.New(dynamodb.NewFromConfig(d.AWS), d.Config.TableName, d.Config.CursorSecret))
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
