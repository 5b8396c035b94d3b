package wsapi_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/coder/websocket"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/local/gateway"
	"github.com/pulsehub/pulsehub/shared/store"
	"github.com/pulsehub/pulsehub/shared/store/storetest"
	"github.com/pulsehub/pulsehub/shared/wsapi"
)

func newTable(t *testing.T) *store.Table {
	t.Helper()
	return storetest.Table(t, "wsapi")
}

func TestConnectionStore(t *testing.T) {
	ctx := context.Background()
	s := wsapi.NewConnectionStore(newTable(t))
	now := time.Now().UTC().Truncate(time.Millisecond)
	conns := []wsapi.Connection{
		{ID: "AAAAAAAAAAAAAAA=", TenantID: "t1", UserID: "u1", Role: "owner", ConnectedAt: now, SourceIP: "192.0.2.1", UserAgent: "ua"},
		{ID: "BBBBBBBBBBBBBBB=", TenantID: "t1", UserID: "u2", Role: "viewer", ConnectedAt: now},
		{ID: "CCCCCCCCCCCCCCC=", TenantID: "t2", UserID: "u3", Role: "owner", ConnectedAt: now},
		{ID: "DDDDDDDDDDDDDDD=", ConnectedAt: now},                                                   // anonymous
		{ID: "EEEEEEEEEEEEEEE=", TenantID: "t1", UserID: "u4", ConnectedAt: now.Add(-3 * time.Hour)}, // expired, not yet swept
	}
	for _, c := range conns {
		if err := s.Put(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Get(ctx, conns[0].ID)
	if err != nil || got != conns[0] {
		t.Fatalf("Get = %+v, %v; want %+v", got, err, conns[0])
	}
	if _, err := s.Get(ctx, conns[4].ID); apperr.KindOf(err) != apperr.NotFound {
		t.Errorf("Get expired: %v, want NotFound", err)
	}
	list, err := s.ListByTenant(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range list {
		ids = append(ids, c.ID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{conns[0].ID, conns[1].ID}) {
		t.Errorf("ListByTenant(t1) = %v", ids)
	}
	if err := s.Delete(ctx, conns[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, conns[0].ID); err != nil {
		t.Errorf("second delete: %v", err)
	}
	if _, err := s.Get(ctx, conns[0].ID); apperr.KindOf(err) != apperr.NotFound {
		t.Errorf("Get after delete: %v, want NotFound", err)
	}
	if err := s.Put(ctx, wsapi.Connection{ID: "x"}); apperr.KindOf(err) != apperr.Invalid {
		t.Errorf("Put without connectedAt: %v, want Invalid", err)
	}
	if _, err := s.ListByTenant(ctx, ""); apperr.KindOf(err) != apperr.Invalid {
		t.Errorf("ListByTenant(\"\"): %v, want Invalid", err)
	}
}

// connInvoker records the connection id of every $connect.
type connInvoker struct{ ids chan string }

func (i connInvoker) Invoke(_ context.Context, fn string, payload []byte) ([]byte, error) {
	if fn == "ws-connect" {
		s := string(payload)
		start := strings.Index(s, `"connectionId":"`) + len(`"connectionId":"`)
		i.ids <- s[start : start+strings.IndexByte(s[start:], '"')]
	}
	return []byte(`{"statusCode":200}`), nil
}

func TestClientAgainstTheGateway(t *testing.T) {
	ctx := context.Background()
	inv := connInvoker{ids: make(chan string, 1)}
	g := gateway.New(catalog.System(), inv, gateway.Options{})
	srv := httptest.NewServer(g)
	defer srv.Close()
	defer g.Close(ctx)

	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")}
	client, err := wsapi.NewClient(cfg, srv.URL+"/ws")
	if err != nil {
		t.Fatal(err)
	}
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	id := <-inv.ids

	if err := client.Send(ctx, id, map[string]string{"type": "pong"}); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, msg, err := ws.Read(rctx)
	if err != nil || string(msg) != `{"type":"pong"}` {
		t.Fatalf("read %q, %v", msg, err)
	}
	err = client.Send(ctx, id, map[string]string{"big": strings.Repeat("x", 129<<10)})
	if apperr.KindOf(err) != apperr.TooLarge {
		t.Errorf("oversized send: %v, want TooLarge", err)
	}
	if err := client.Close(ctx, id); err != nil {
		t.Fatal(err)
	}
	_, _, _ = ws.Read(rctx) // completes the close handshake
	err = client.Send(ctx, id, map[string]string{"type": "pong"})
	if !errors.Is(err, wsapi.ErrGone) || apperr.KindOf(err) != apperr.NotFound {
		t.Errorf("send after close: %v, want ErrGone (NotFound)", err)
	}
	if err := client.Close(ctx, id); !errors.Is(err, wsapi.ErrGone) {
		t.Errorf("close after close: %v, want ErrGone", err)
	}
	if _, err := wsapi.NewClient(cfg, ""); err == nil {
		t.Error("NewClient with no endpoint succeeded")
	}
}
