package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/pulsehub/pulsehub/shared/importer"
	"github.com/pulsehub/pulsehub/shared/local/sandbox"
	"github.com/pulsehub/pulsehub/shared/retry"
	"github.com/pulsehub/pulsehub/shared/shopify"
)

// Seeder seeds the demo workspace of a running PulseHub at BaseURL.
type Seeder struct {
	BaseURL string
	HTTP    *http.Client
	Log     *slog.Logger
	Now     func() time.Time
	// Shop and TagManager, when set, are the sandbox emulators to load with
	// the demo shop's data and the published GTM tag (pulsehub dev).
	Shop       *sandbox.ShopifyAdmin
	TagManager *sandbox.TagManager
	// Messaging, when set, gives the workspace its sandbox accounts at
	// SendGrid, Twilio, FCM and WhatsApp (saved as its integrations).
	Messaging *sandbox.Messaging
	// Drained reports whether ingest has nothing left to process (queue
	// empty); nil relies on the customer count alone.
	Drained func(ctx context.Context) (bool, error)
	// Concurrency bounds parallel webhook posts (16 if 0).
	Concurrency int
}

// Providers returns the sandbox emulators the demo uses, creating them if
// needed, for local.Options.Providers.
func (s *Seeder) Providers() []sandbox.Provider {
	if s.Shop == nil {
		s.Shop = sandbox.NewShopifyAdmin(nil)
	}
	if s.TagManager == nil {
		s.TagManager = sandbox.NewTagManager()
	}
	return []sandbox.Provider{s.Shop, sandbox.NewMetaGraph(nil), s.TagManager}
}

// Seed makes sure the demo workspace exists, fully seeded and processed.
// A second run against a seeded workspace only logs in and counts.
func (s *Seeder) Seed(ctx context.Context) error {
	if s.HTTP == nil {
		s.HTTP = &http.Client{Timeout: 60 * time.Second}
	}
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	s.BaseURL = strings.TrimRight(s.BaseURL, "/")
	start := s.Now()
	data, err := Build(s.Now().UTC())
	if err != nil {
		return err
	}
	s.loadSandbox(data)

	acct, existed, err := s.account(ctx)
	if err != nil {
		return err
	}
	if err := s.connectMessaging(ctx, acct); err != nil {
		return err
	}
	token := acct.AccessToken
	want := len(data.History.Customers)
	if existed {
		n, err := s.countCustomers(ctx, token)
		if err == nil && n >= want {
			s.Log.InfoContext(ctx, "demo workspace already seeded", "customers", n)
			return nil
		}
		s.Log.InfoContext(ctx, "demo workspace incomplete; sending its data again (duplicates are dropped)", "customers", n)
	}
	if err := s.configure(ctx, token); err != nil {
		return err
	}
	snd := &importer.Sender{URL: s.BaseURL + "/webhooks/shopify", Secret: ShopWebhookSecret, Concurrency: s.Concurrency, HTTP: s.HTTP}
	s.Log.InfoContext(ctx, "seeding demo workspace", "webhooks", len(data.Webhooks), "collectEvents", len(data.Collect))
	// Customers first (the first 2,357 deliveries), then orders, checkouts
	// and on-site events; refunds and cancellations only once those are
	// processed. Ingest handles a refund that overtakes its order (it is
	// retried until the order lands), but on a queue that redelivers after
	// its visibility timeout that costs minutes of start-up.
	nc := len(data.History.Customers)
	if err := snd.Send(ctx, data.Webhooks[:nc]); err != nil {
		return fmt.Errorf("demo: customers: %w", err)
	}
	first, followUps := splitFollowUps(data.Webhooks[nc:])
	if err := snd.Send(ctx, first); err != nil {
		return fmt.Errorf("demo: orders: %w", err)
	}
	if err := s.collect(ctx, data.Collect); err != nil {
		return err
	}
	if err := s.wait(ctx, token, want); err != nil {
		return err
	}
	if err := snd.Send(ctx, followUps); err != nil {
		return fmt.Errorf("demo: refunds and cancellations: %w", err)
	}
	if err := s.wait(ctx, token, want); err != nil {
		return err
	}
	s.Log.InfoContext(ctx, "demo workspace seeded", "webhooks", snd.Sent.Load(), "collectEvents", len(data.Collect), "took", s.Now().Sub(start).Round(time.Millisecond).String())
	return nil
}

// splitFollowUps separates refunds and cancellations, which refer to an
// order, from everything else, keeping each part in order.
func splitFollowUps(ws []shopify.Delivery) (first, followUps []shopify.Delivery) {
	for _, w := range ws {
		switch w.Topic {
		case shopify.TopicRefundsCreate, shopify.TopicOrdersCancelled:
			followUps = append(followUps, w)
		default:
			first = append(first, w)
		}
	}
	return first, followUps
}

func (s *Seeder) loadSandbox(d Dataset) {
	if s.Shop != nil {
		s.Shop.AddShop(ShopDomain, ShopAccessToken)
		_ = s.Shop.Put(ShopAccessToken, d.History.Customers, d.History.Orders)
	}
	if s.TagManager != nil {
		s.TagManager.PublishPulseHubTag(GTMAccountID, GTMContainerID, WriteKey, s.BaseURL+"/collect")
	}
}

type tokens struct {
	TenantID    string `json:"tenantId"`
	AccessToken string `json:"accessToken"`
}

// account logs the owner in, or signs the workspace up.
func (s *Seeder) account(ctx context.Context) (tokens, bool, error) {
	var t tokens
	status, _, err := s.call(ctx, http.MethodPost, "/v1/auth/login", "", map[string]string{"email": OwnerEmail, "password": OwnerPassword, "workspace": Workspace}, &t)
	if err != nil {
		return tokens{}, false, err
	}
	if status == http.StatusOK {
		return t, true, nil
	}
	status, body, err := s.call(ctx, http.MethodPost, "/v1/auth/signup", "", map[string]string{"workspace": Workspace, "email": OwnerEmail, "password": OwnerPassword}, &t)
	if err != nil {
		return tokens{}, false, err
	}
	if status != http.StatusCreated {
		return tokens{}, false, fmt.Errorf("demo: sign-up answered %d: %s", status, body)
	}
	return t, false, nil
}

// connectMessaging saves the workspace's sandbox accounts at SendGrid,
// Twilio, FCM and WhatsApp as its integrations, on every start: the
// sandbox keeps them across restarts, so this changes nothing once done.
func (s *Seeder) connectMessaging(ctx context.Context, t tokens) error {
	if s.Messaging == nil {
		return nil
	}
	settings, err := s.Messaging.Connect(t.TenantID)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if sg := settings["sendgrid"]; sg != nil {
		sg["fromEmail"], sg["fromName"], sg["replyToEmail"] = "news@demo-records.test", "Demo Records", "hello@demo-records.test"
	}
	for _, name := range []string{"sendgrid", "twilio", "fcm", "whatsapp"} {
		if err := s.put(ctx, t.AccessToken, name, settings[name]); err != nil {
			return err
		}
	}
	return nil
}

func (s *Seeder) put(ctx context.Context, token, name string, body map[string]string) error {
	status, resp, err := s.call(ctx, http.MethodPut, "/v1/integrations/"+name, token, body, nil)
	if err != nil {
		return err
	}
	if status/100 != 2 {
		return fmt.Errorf("demo: PUT /v1/integrations/%s answered %d: %s", name, status, resp)
	}
	return nil
}

// configure sets the integrations through PUT /v1/integrations/{name}.
func (s *Seeder) configure(ctx context.Context, token string) error {
	settings := []struct {
		name string
		body map[string]string
	}{
		{"shopify", map[string]string{"shopDomain": ShopDomain, "apiVersion": "2025-01", "shopName": "Demo Records", "webhookSecret": ShopWebhookSecret, "accessToken": ShopAccessToken}},
		{"meta", map[string]string{"appId": MetaAppID, "pixelId": MetaPixelID, "appSecret": MetaAppSecret, "verifyToken": MetaVerifyToken, "accessToken": MetaAccessToken}},
		{"gtm", map[string]string{"accountId": GTMAccountID, "containerId": GTMContainerID, "allowedOrigins": "https://" + ShopDomain, "writeKey": WriteKey, "apiToken": GTMAPIToken}},
	}
	for _, it := range settings {
		if err := s.put(ctx, token, it.name, it.body); err != nil {
			return err
		}
	}
	return nil
}

// collectBackoff paces retried /collect batches.
var collectBackoff = retry.Backoff{Base: 200 * time.Millisecond, Max: 6400 * time.Millisecond}

// collect posts the on-site events in batches, a few at a time.
func (s *Seeder) collect(ctx context.Context, evs []CollectEvent) error {
	const batch = 25
	sem := make(chan struct{}, 4)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for i := 0; i < len(evs); i += batch {
		part := evs[i:min(i+batch, len(evs))]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			for attempt := 0; ; attempt++ {
				status, body, err := s.call(ctx, http.MethodPost, "/collect", "", map[string]any{"writeKey": WriteKey, "events": part}, nil)
				if err == nil && status/100 == 2 {
					return
				}
				if attempt >= 5 || (err == nil && !retry.RetryableStatus(status)) {
					mu.Lock()
					errs = append(errs, fmt.Errorf("demo: POST /collect answered %d: %s (%v)", status, body, err))
					mu.Unlock()
					return
				}
				if err := retry.Sleep(ctx, collectBackoff.Delay(attempt)); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("demo: POST /collect: %w", err))
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// wait polls until ingest has processed everything: the queue is drained
// twice in a row and every customer is visible through the API.
func (s *Seeder) wait(ctx context.Context, token string, want int) error {
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	calm, last := 0, -1
	for {
		n, err := s.countCustomers(ctx, token)
		if err != nil {
			return err
		}
		drained := true
		if s.Drained != nil {
			if drained, err = s.Drained(ctx); err != nil {
				return err
			}
		}
		if drained && n >= want && n == last {
			calm++
		} else {
			calm = 0
		}
		if calm >= 1 {
			return nil
		}
		if n != last {
			s.Log.InfoContext(ctx, "waiting for ingest", "customers", n, "of", want)
		}
		last = n
		select {
		case <-ctx.Done():
			return fmt.Errorf("demo: waiting for ingest (%d of %d customers): %w", n, want, ctx.Err())
		case <-tick.C:
		}
	}
}

func (s *Seeder) countCustomers(ctx context.Context, token string) (int, error) {
	n, cursor := 0, ""
	for {
		var page struct {
			Items      []json.RawMessage `json:"items"`
			NextCursor string            `json:"nextCursor"`
		}
		path := "/v1/customers?limit=100" // the largest page: fewest round trips
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		status, body, err := s.call(ctx, http.MethodGet, path, token, nil, &page)
		if err != nil {
			return 0, err
		}
		if status != http.StatusOK {
			return 0, fmt.Errorf("demo: GET /v1/customers answered %d: %s", status, body)
		}
		n += len(page.Items)
		if page.NextCursor == "" {
			return n, nil
		}
		cursor = page.NextCursor
	}
}

// call sends a JSON request and decodes a 2xx answer into out.
func (s *Seeder) call(ctx context.Context, method, path, token string, in, out any) (int, string, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, "", fmt.Errorf("demo: encode %s: %w", path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.BaseURL+path, body)
	if err != nil {
		return 0, "", fmt.Errorf("demo: %s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := s.HTTP.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("demo: %s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 8<<20))
	if out != nil && res.StatusCode/100 == 2 {
		if err := json.Unmarshal(raw, out); err != nil {
			return res.StatusCode, string(raw), fmt.Errorf("demo: decode %s: %w", path, err)
		}
	}
	return res.StatusCode, strings.TrimSpace(string(raw)), nil
}
