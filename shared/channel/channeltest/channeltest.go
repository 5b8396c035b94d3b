// Package channeltest runs the messaging provider sandbox for the channel
// senders' tests: an HTTP server with the four emulators under
// /sandbox/<name>, the outbox, and a recorder for the callbacks they send
// to /webhooks/... and /unsubscribe/..., plus a workspace connected to
// the sandbox accounts.
package channeltest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/channel"
	"github.com/pulsehub/pulsehub/shared/integration"
	"github.com/pulsehub/pulsehub/shared/local/sandbox"
)

// Env is a running sandbox with one connected workspace.
type Env struct {
	URL       string // the server: providers at URL/sandbox/<name>
	Tenant    string
	Sandbox   *sandbox.Sandbox
	Messaging *sandbox.Messaging
	// Integrations are the workspace's settings (name → settings), as
	// PUT /v1/integrations would have saved them.
	Integrations map[string]integration.Settings
	Settings     *channel.Settings

	mu        sync.Mutex
	callbacks []Callback
}

// Callback is one request the sandbox sent back to the platform.
type Callback struct {
	Path   string // with the query
	Header http.Header
	Body   []byte
}

// Start runs the sandbox with cfg (nil: no delays, and the default rates)
// until the test ends, and connects workspace "t-test".
func Start(t testing.TB, cfg *sandbox.Config) *Env {
	t.Helper()
	if cfg == nil {
		c := sandbox.DefaultConfig()
		for ch, m := range c.Engagement {
			m.Delay = 0
			c.Engagement[ch] = m
		}
		cfg = &c
	}
	e := &Env{Tenant: "t-test"}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	e.URL = srv.URL
	sb, err := sandbox.New(sandbox.Options{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := sandbox.NewMessaging(sandbox.MessagingOptions{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range msg.Providers() {
		if err := sb.Register(p); err != nil {
			t.Fatal(err)
		}
	}
	e.Sandbox, e.Messaging = sb, msg
	mux.Handle("/sandbox/", sb)
	mux.Handle("/dev/outbox", sb.Outbox)
	mux.Handle("/dev/sandbox", msg)
	mux.Handle("/dev/sandbox/", msg)
	record := func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		e.callbacks = append(e.callbacks, Callback{Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body})
		e.mu.Unlock()
	}
	mux.HandleFunc("/webhooks/", record)
	mux.HandleFunc("/unsubscribe/", record)
	t.Cleanup(func() {
		sb.Callbacks.Wait()
		srv.Close()
	})

	raw, err := msg.Connect(e.Tenant)
	if err != nil {
		t.Fatal(err)
	}
	e.Integrations = map[string]integration.Settings{}
	for name, kv := range raw {
		s := integration.Settings{Name: name, Config: map[string]string{}, Secrets: map[string]string{}}
		for k, v := range kv {
			if integration.IsSecret(name, k) {
				s.Secrets[k] = v
			} else {
				s.Config[k] = v
			}
		}
		e.Integrations[name] = s
	}
	// Practically no caching, so Set takes effect on the next message.
	e.Settings = channel.NewSettings(e, time.Nanosecond, nil)
	return e
}

// Get implements channel.SettingsSource over Integrations.
func (e *Env) Get(_ context.Context, tenant, name string) (integration.Settings, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.Integrations[name]
	if !ok || tenant != e.Tenant {
		return integration.Settings{}, apperr.E(apperr.NotFound, "no %s settings", name)
	}
	return s, nil
}

// Set changes one setting of the workspace.
func (e *Env) Set(name, key, value string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.Integrations[name]
	if integration.IsSecret(name, key) {
		s.Secrets[key] = value
	} else {
		s.Config[key] = value
	}
}

// ProviderURL is the base URL of a provider's emulator (PROVIDER_URL_<NAME>).
func (e *Env) ProviderURL(name string) string { return e.Sandbox.URL(name) }

// Callbacks waits for the sandbox's pending callbacks and returns all so far.
func (e *Env) Callbacks() []Callback {
	e.Sandbox.Callbacks.Wait()
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Callback(nil), e.callbacks...)
}

// Keys signs unsubscribe links with a fixed key per workspace
// (unsubscribe.Keys), standing in for pii.Cipher.
type Keys struct{}

func (Keys) BlindIndex(_ context.Context, tenant, kind, value string) (string, error) {
	m := hmac.New(sha256.New, []byte("test-key-"+tenant))
	m.Write([]byte(kind + "\x00" + value))
	return hex.EncodeToString(m.Sum(nil)), nil
}
