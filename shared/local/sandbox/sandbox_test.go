package sandbox

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeSMS is a minimal provider: POST /Messages records one SMS and calls back.
type fakeSMS struct{}

func (fakeSMS) Name() string { return "fakesms" }
func (fakeSMS) Handler(env Env) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /Messages", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		id := "SM" + r.Form.Get("To")
		_ = env.Outbox.Add(Message{Channel: "sms", To: r.Form.Get("To"), Body: r.Form.Get("Body"), CampaignID: r.Form.Get("campaign"), ProviderMessageID: id})
		env.Callbacks.Go(0, "/webhooks/fakesms", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
			[]byte("MessageSid="+id+"&MessageStatus=delivered"), hmacSigner("secret"))
		fmt.Fprintf(w, `{"sid":%q,"base":%q}`, id, env.BaseURL)
	})
	return mux
}

func hmacSigner(secret string) Signer {
	return func(req *http.Request, body []byte) error {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		req.Header.Set("X-Signature", hex.EncodeToString(m.Sum(nil)))
		return nil
	}
}

func TestSandboxProviderOutboxAndCallbacks(t *testing.T) {
	var mu sync.Mutex
	var callbacks []string
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	sb, err := New(Options{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.Register(fakeSMS{}); err != nil {
		t.Fatal(err)
	}
	if err := sb.Register(fakeSMS{}); err == nil {
		t.Fatal("registered a provider twice")
	}
	mux.Handle("/sandbox/", sb)
	mux.Handle("/dev/outbox", sb.Outbox)
	mux.HandleFunc("POST /webhooks/fakesms", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		m := hmac.New(sha256.New, []byte("secret"))
		m.Write(body)
		if r.Header.Get("X-Signature") != hex.EncodeToString(m.Sum(nil)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		mu.Lock()
		callbacks = append(callbacks, string(body))
		mu.Unlock()
	})

	for _, to := range []string{"+15550001", "+15550002"} {
		res, err := http.PostForm(srv.URL+"/sandbox/fakesms/Messages", map[string][]string{"To": {to}, "Body": {"hi"}, "campaign": {"c1"}})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(body), srv.URL+"/sandbox/fakesms") {
			t.Fatalf("send: %d %s", res.StatusCode, body)
		}
	}
	sb.Callbacks.Wait()
	if len(callbacks) != 2 || !strings.Contains(callbacks[0], "MessageStatus=delivered") {
		t.Fatalf("callbacks: %v", callbacks)
	}

	get := func(query string) (int, []Message) {
		res, err := http.Get(srv.URL + "/dev/outbox" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out struct{ Items []Message }
		_ = json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out.Items
	}
	if code, items := get("?channel=sms&campaignId=c1"); code != 200 || len(items) != 2 || items[0].To != "+15550001" || items[0].ProviderMessageID != "SM+15550001" || items[0].At.IsZero() {
		t.Fatalf("outbox: %d %+v", code, items)
	}
	if _, items := get("?channel=email"); len(items) != 0 {
		t.Fatalf("email filter: %+v", items)
	}
	if _, items := get("?campaignId=other"); len(items) != 0 {
		t.Fatalf("campaign filter: %+v", items)
	}
	if code, _ := get("?channel=fax"); code != 400 {
		t.Fatalf("bad channel: %d", code)
	}
	req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/dev/outbox", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 204 {
		t.Fatalf("delete: %v %v", res, err)
	}
	if _, items := get(""); len(items) != 0 {
		t.Fatalf("after delete: %+v", items)
	}

	res, err = http.Get(srv.URL + "/sandbox/nope/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 404 || res.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(string(body), "fakesms") {
		t.Fatalf("unknown provider: %d %s", res.StatusCode, body)
	}
}

func TestCallbackErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "signature mismatch", http.StatusUnauthorized)
	}))
	defer srv.Close()
	c := NewCallbacks(srv.URL, nil, nil)
	err := c.Post(context.Background(), "/webhooks/x", nil, []byte("{}"), nil)
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "signature mismatch") {
		t.Fatalf("err %v", err)
	}
	if err := c.Post(context.Background(), "webhooks/x", nil, nil, nil); err == nil {
		t.Fatal("relative path accepted")
	}
}

func TestOutboxBoundAndPersistence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.jsonl")
	o, err := NewOutbox(3, path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := o.Add(Message{Channel: "email", To: fmt.Sprint(i), At: time.Unix(int64(i), 0).UTC()}); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"7", "8", "9"}
	check := func(o *Outbox) {
		t.Helper()
		got := o.List(Filter{})
		if len(got) != 3 {
			t.Fatalf("len %d", len(got))
		}
		for i, m := range got {
			if m.To != want[i] {
				t.Fatalf("item %d = %s, want %s", i, m.To, want[i])
			}
		}
	}
	check(o)
	reopened, err := NewOutbox(3, path)
	if err != nil {
		t.Fatal(err)
	}
	check(reopened)
	if err := reopened.Clear(); err != nil {
		t.Fatal(err)
	}
	again, _ := NewOutbox(3, path)
	if n := len(again.List(Filter{})); n != 0 {
		t.Fatalf("after clear: %d", n)
	}
}

func TestOutboxConcurrentAdds(t *testing.T) {
	o, _ := NewOutbox(0, "")
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() { defer wg.Done(); _ = o.Add(Message{Channel: "push", To: fmt.Sprint(i)}) }()
	}
	wg.Wait()
	if n := len(o.List(Filter{Channel: "push"})); n != 50 {
		t.Fatalf("got %d", n)
	}
}
