package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Provider is one provider emulator.
type Provider interface {
	// Name is the path segment under /sandbox/ and the PROVIDER_URL_<NAME> key, e.g. "sendgrid".
	Name() string
	// Handler serves the provider's API; requests arrive with the
	// /sandbox/<name> prefix stripped, so paths look like the real API's.
	Handler(env Env) http.Handler
}

// Env is what a provider emulator can use.
type Env struct {
	Outbox    *Outbox
	Callbacks *Callbacks
	Logger    *slog.Logger
	BaseURL   string // the provider's own base URL, e.g. http://127.0.0.1:8080/sandbox/sendgrid
}

// Sandbox mounts providers and the outbox.
type Sandbox struct {
	Outbox    *Outbox
	Callbacks *Callbacks
	baseURL   string
	log       *slog.Logger
	mu        sync.RWMutex
	handlers  map[string]http.Handler
}

// Options configure a Sandbox.
type Options struct {
	BaseURL    string // the runtime's URL, e.g. http://127.0.0.1:8080
	Logger     *slog.Logger
	OutboxPath string // "" keeps the outbox in memory
	Limit      int    // outbox bound; 0 = DefaultOutboxLimit
	HTTPClient *http.Client
}

// New returns an empty sandbox; Register adds providers.
func New(opts Options) (*Sandbox, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ob, err := NewOutbox(opts.Limit, opts.OutboxPath)
	if err != nil {
		return nil, err
	}
	log := opts.Logger.With("component", "sandbox")
	return &Sandbox{
		Outbox:    ob,
		Callbacks: NewCallbacks(opts.BaseURL, opts.HTTPClient, log),
		baseURL:   strings.TrimRight(opts.BaseURL, "/"),
		log:       log,
		handlers:  map[string]http.Handler{},
	}, nil
}

var validName = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// Register mounts p under /sandbox/<name>/.
func (s *Sandbox) Register(p Provider) error {
	name := p.Name()
	if !validName.MatchString(name) {
		return fmt.Errorf("sandbox: provider name %q: want lower-case letters, digits and dashes", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.handlers[name]; dup {
		return fmt.Errorf("sandbox: provider %q registered twice", name)
	}
	h := p.Handler(Env{Outbox: s.Outbox, Callbacks: s.Callbacks, Logger: s.log.With("provider", name), BaseURL: s.URL(name)})
	s.handlers[name] = http.StripPrefix("/sandbox/"+name, h)
	return nil
}

// URL is the base URL of a provider's emulator.
func (s *Sandbox) URL(name string) string { return s.baseURL + "/sandbox/" + name }

// Names lists the registered providers.
func (s *Sandbox) Names() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.handlers))
	for n := range s.handlers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ServeHTTP routes /sandbox/<name>/... to the provider.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/sandbox/")
	if !ok {
		Problem(w, http.StatusNotFound, "not a sandbox path")
		return
	}
	name, _, _ := strings.Cut(rest, "/")
	s.mu.RLock()
	h := s.handlers[name]
	s.mu.RUnlock()
	if h == nil {
		Problem(w, http.StatusNotFound, fmt.Sprintf("no sandbox provider %q is registered (have: %s)", name, strings.Join(s.Names(), ", ")))
		return
	}
	h.ServeHTTP(w, r)
}

// Signer signs a callback the way the provider does, e.g. by setting
// X-Twilio-Signature from the URL and form body.
type Signer func(req *http.Request, body []byte) error

// Callbacks posts provider callbacks to the runtime's /webhooks/... routes.
type Callbacks struct {
	base   string
	client *http.Client
	log    *slog.Logger
	wg     sync.WaitGroup
}

// NewCallbacks returns a poster for base (the runtime's URL).
func NewCallbacks(base string, client *http.Client, log *slog.Logger) *Callbacks {
	if client == nil {
		// Callbacks come in bursts during a campaign: keep connections.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		client = &http.Client{Timeout: 30 * time.Second, Transport: t}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Callbacks{base: strings.TrimRight(base, "/"), client: client, log: log}
}

// Post sends body to path (e.g. "/webhooks/twilio/t1") with the given
// headers, signed by sign, and returns an error unless the answer is 2xx.
func (c *Callbacks) Post(ctx context.Context, path string, header http.Header, body []byte, sign Signer) error {
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("sandbox: callback path %q must start with /", path)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("sandbox: callback %s: %w", path, err)
	}
	for k, vs := range header {
		req.Header[k] = append([]string(nil), vs...)
	}
	if sign != nil {
		if err := sign(req, body); err != nil {
			return fmt.Errorf("sandbox: sign callback %s: %w", path, err)
		}
	}
	res, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("sandbox: callback %s: %w", path, err)
	}
	defer res.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("sandbox: callback %s: status %d: %s", path, res.StatusCode, bytes.TrimSpace(msg))
	}
	return nil
}

// Go posts in the background after delay (providers call back a moment
// after accepting a message), logging a failure. Wait waits for all of them.
func (c *Callbacks) Go(delay time.Duration, path string, header http.Header, body []byte, sign Signer) {
	c.After(delay, func() (string, http.Header, []byte, Signer) { return path, header, body, sign })
}

// After is Go with the request made when it is due, for callbacks that
// gather what happened until then (SendGrid's event batches). A call that
// returns an empty path posts nothing.
func (c *Callbacks) After(delay time.Duration, build func() (path string, header http.Header, body []byte, sign Signer)) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		time.Sleep(delay)
		path, header, body, sign := build()
		if path == "" {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.Post(ctx, path, header, body, sign); err != nil {
			c.log.Warn("provider callback failed", "path", path, "err", err)
		}
	}()
}

// Wait blocks until every callback started with Go has finished.
func (c *Callbacks) Wait() { c.wg.Wait() }
