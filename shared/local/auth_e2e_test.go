package local_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/pulsehub/pulsehub/shared/api"
	"github.com/pulsehub/pulsehub/shared/api/apitest"
	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/lambdafn"
	"github.com/pulsehub/pulsehub/shared/local"
	"github.com/pulsehub/pulsehub/shared/ratelimit"
	"github.com/pulsehub/pulsehub/shared/realtime"
	"github.com/pulsehub/pulsehub/shared/realtime/wsconnect"
	"github.com/pulsehub/pulsehub/shared/realtime/wsmessage"
	"github.com/pulsehub/pulsehub/shared/testenv"
)

// authRuntime runs the real api and WebSocket functions in the local runtime.
func authRuntime(t testing.TB, apiFn lambdafn.Constructor) *local.Runtime {
	testenv.AWSConfig(t)
	c := catalog.System()
	c.Functions = slices.DeleteFunc(c.Functions, func(f catalog.Function) bool { return f.Name != "api" && !strings.HasPrefix(f.Name, "ws-") })
	rt := local.New(local.Options{
		Addr: "127.0.0.1:0", StateDir: t.TempDir(), Prefix: testenv.Name(t, "auth"), Catalog: c,
		Functions: map[string]lambdafn.Constructor{
			"api": apiFn, "ws-connect": wsconnect.NewFunction,
			"ws-disconnect": realtime.NewDisconnectFunction, "ws-message": wsmessage.NewFunction,
		},
		ReuseEndpoints: true, NoSchedules: true, FunctionLogs: io.Discard, Logger: slogDiscard(),
	})
	t.Cleanup(func() { rt.Close() })
	if err := rt.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return rt
}

func send(t testing.TB, client *http.Client, method, url, token, body string) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out, res.Header
}

func TestAuthEndToEnd(t *testing.T) {
	rt := authRuntime(t, api.NewFunction)
	base := rt.URL()
	c := &http.Client{Transport: apitest.OpenAPI(t).Transport(t, nil)} // checked against docs/api/openapi.yaml
	code, s, _ := send(t, c, "POST", base+"/v1/auth/signup", "", `{"workspace":"e2e shop","email":"owner@e2e.test","password":"correct-horse-1"}`)
	if code != 201 {
		t.Fatalf("signup %d %v", code, s)
	}
	token, _ := s["accessToken"].(string)
	code, me, hdr := send(t, c, "GET", base+"/v1/me", token, "")
	if code != 200 || me["email"] != "owner@e2e.test" || me["role"] != "owner" || hdr.Get("X-Request-Id") == "" {
		t.Fatalf("me %d %v", code, me)
	}
	if code, p, hdr := send(t, c, "GET", base+"/v1/nothing-here", token, ""); code != 404 || hdr.Get("Content-Type") != "application/problem+json" || p["detail"] == "" {
		t.Fatalf("unknown route %d %v", code, p)
	}
	if code, _, _ := send(t, c, "PUT", base+"/v1/integrations/sendgrid", token, `{"apiKey":"`+strings.Repeat("x", 2<<20)+`"}`); code != 413 {
		t.Fatalf("oversized body: %d", code)
	}
	// Saving an integration publishes integration.connected through the local bus.
	if code, p, _ := send(t, c, "PUT", base+"/v1/integrations/shopify", token, `{"shopDomain":"e2e-shop.myshopify.com","webhookSecret":"e2e-secret-value"}`); code != 200 || p["configured"] != true {
		t.Fatalf("put shopify: %d %v", code, p)
	}
	if code, p, _ := send(t, c, "GET", base+"/v1/me", "", ""); code != 401 {
		t.Fatalf("no token: %d %v", code, p)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	wsBase := strings.Replace(base, "http://", "ws://", 1) + "/ws"
	for _, bad := range []string{"", "?token=forged.token.value"} {
		if conn, res, err := websocket.Dial(ctx, wsBase+bad, nil); err == nil {
			conn.CloseNow()
			t.Fatalf("websocket %q accepted", bad)
		} else if res == nil || res.StatusCode != 401 {
			t.Fatalf("websocket %q: %v %v", bad, res, err)
		}
	}
	conn, _, err := websocket.Dial(ctx, wsBase+"?token="+token, nil)
	if err != nil {
		t.Fatal(err)
	}
	ping := []byte(`{"action":"ping","requestId":"r1"}`)
	if err := conn.Write(ctx, websocket.MessageText, ping); err != nil {
		t.Fatal(err)
	}
	_, data, err := conn.Read(ctx)
	if err != nil || !bytes.Contains(data, []byte(`"pong"`)) {
		t.Fatalf("ping: %s %v", data, err)
	}
	apitest.Frames(t).CheckExchange(t, ping, data) // docs/api/websocket.schema.json
	conn.Close(websocket.StatusNormalClosure, "")

	// Logout revokes the login for HTTP and WebSocket alike.
	if code, _, _ := send(t, c, "POST", base+"/v1/auth/logout", "", fmt.Sprintf(`{"refreshToken":%q}`, s["refreshToken"])); code != 204 {
		t.Fatalf("logout %d", code)
	}
	if code, _, _ := send(t, c, "GET", base+"/v1/me", token, ""); code != 401 {
		t.Fatalf("me after logout %d", code)
	}
	if conn, _, err := websocket.Dial(ctx, wsBase+"?token="+token, nil); err == nil {
		conn.CloseNow()
		t.Fatal("websocket accepted a revoked login")
	}
}

// BenchmarkAuthenticatedCall measures GET /v1/me (token verification,
// session check, per-tenant and per-token rate limits, the user) through
// the local runtime at 1 and 100 concurrent clients, reporting p50/p99
// latency of the steady state: each client first makes warmUp untimed
// calls, so connection set-up and first leases are not in the figures.
// Run with -benchtime 20000x or more so each client makes many calls.
func BenchmarkAuthenticatedCall(b *testing.B) {
	for _, clients := range []int{1, 100} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) { benchmarkAuthenticatedCall(b, clients) })
	}
}

func benchmarkAuthenticatedCall(b *testing.B, clients int) {
	const warmUp = 5
	// Limits on, above what this machine can offer (so, as in production,
	// a bucket is leased at most ~10 times a second), never reached.
	unlimited := ratelimit.Rule{Rate: 1e5, Burst: 1e9}
	rt := authRuntime(b, api.NewFunctionWith(api.Options{TenantLimit: unlimited, TokenLimit: unlimited}))
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 2 * clients, MaxIdleConnsPerHost: 2 * clients}}
	_, s, _ := send(b, client, "POST", rt.URL()+"/v1/auth/signup", "", `{"workspace":"bench","email":"owner@bench.test","password":"correct-horse-1"}`)
	token, _ := s["accessToken"].(string)
	call := func() (time.Duration, error) {
		start := time.Now()
		req, _ := http.NewRequest("GET", rt.URL()+"/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			return 0, fmt.Errorf("status %d: %s", res.StatusCode, body)
		}
		return time.Since(start), nil
	}
	per := max(1, b.N/clients)
	lat := make([][]time.Duration, clients)
	var warm, done sync.WaitGroup
	warm.Add(clients)
	start := make(chan struct{})
	for c := range clients {
		done.Go(func() {
			for range warmUp {
				if _, err := call(); err != nil {
					b.Error(err)
				}
			}
			warm.Done()
			<-start
			mine := make([]time.Duration, 0, per)
			for range per {
				d, err := call()
				if err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, d)
			}
			lat[c] = mine
		})
	}
	warm.Wait()
	b.ResetTimer()
	close(start)
	done.Wait()
	b.StopTimer()
	all := slices.Concat(lat...)
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
}
