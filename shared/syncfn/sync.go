package syncfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/gtm"
	"github.com/pulsehub/pulsehub/shared/ingest"
	"github.com/pulsehub/pulsehub/shared/integration"
	"github.com/pulsehub/pulsehub/shared/logging"
	"github.com/pulsehub/pulsehub/shared/meta"
	"github.com/pulsehub/pulsehub/shared/queue"
	"github.com/pulsehub/pulsehub/shared/shopify"
	"github.com/pulsehub/pulsehub/shared/store"
)

// Settings reads a tenant's integration settings (integration.Store).
type Settings interface {
	Get(ctx context.Context, tenant, name string) (integration.Settings, error)
}

// Enqueuer sends messages to a queue (queue.Sender).
type Enqueuer interface {
	SendBatch(ctx context.Context, url string, msgs []queue.Message) error
}

// Page sizes chosen so one request stays well under Shopify's 1,000-point
// single-query limit (see shopify.OrdersQuery).
const (
	ordersPage    = 10
	customersPage = 100
	// stopMargin is kept free before the Lambda deadline to save the cursor.
	stopMargin = 20 * time.Second
)

// Syncer does the work; the Lambda handler routes events to it.
type Syncer struct {
	table    *store.Table
	settings Settings
	queue    Enqueuer
	queueURL string
	urls     map[string]string // provider base URL overrides (sandbox)
	http     *http.Client
	log      *slog.Logger
	now      func() time.Time
	// SleepShopify, when set, replaces the Shopify client's wait (tests).
	SleepShopify func(ctx context.Context, d time.Duration) error
}

// New returns a Syncer.
func New(table *store.Table, settings Settings, q Enqueuer, queueURL string, providerURLs map[string]string, hc *http.Client, log *slog.Logger) *Syncer {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Syncer{table: table, settings: settings, queue: q, queueURL: queueURL, urls: providerURLs, http: hc, log: log, now: time.Now}
}

// ConnectedDetail is the detail of an integration.connected event.
type ConnectedDetail struct {
	Tenant      string `json:"tenant"`
	TenantID    string `json:"tenantId"`
	Integration string `json:"integration"`
	Name        string `json:"name"`
}

// Handle is the Lambda handler: EventBridge schedule or domain event.
func (s *Syncer) Handle(ctx context.Context, ev events.EventBridgeEvent) error {
	if ev.DetailType == catalog.EventIntegrationConnected {
		var d ConnectedDetail
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			return apperr.Wrap(apperr.Invalid, err, "sync: integration.connected detail is not JSON")
		}
		tenant, name := cmp(d.Tenant, d.TenantID), cmp(d.Integration, d.Name)
		if tenant == "" || name == "" {
			return apperr.E(apperr.Invalid, "sync: integration.connected needs tenant and integration, got %s", ev.Detail)
		}
		return s.Connected(ctx, tenant, name)
	}
	return s.RunAll(ctx)
}

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Connected registers the tenant and runs the first sync of that integration
// (the Shopify backfill, the first CAPI flush, the first GTM check).
func (s *Syncer) Connected(ctx context.Context, tenant, name string) error {
	switch name {
	case integration.Shopify, integration.Meta, integration.GTM:
	default:
		return nil // not ours
	}
	if err := s.Register(ctx, tenant, name); err != nil {
		return err
	}
	ctx = logging.With(ctx, logging.Tenant(tenant))
	var err error
	switch name {
	case integration.Shopify:
		_, err = s.ReconcileShopify(ctx, tenant)
	case integration.Meta:
		_, err = s.ForwardMeta(ctx, tenant)
	default:
		_, err = s.CheckGTM(ctx, tenant)
	}
	if s.skipped(ctx, err) {
		return nil // retrying cannot help; the next save publishes integration.connected again
	}
	return err
}

// NotConfiguredError says an integration lacks what a sync run needs: it
// was never saved (Missing empty) or saved without some settings, e.g. a
// Shopify shop without an Admin API access token (webhooks only, or after
// app/uninstalled) or a Meta integration without pixelId or accessToken.
// Runs skip it: it is wrapped in apperr.NotFound, never retried.
type NotConfiguredError struct {
	Integration string
	Missing     []string
}

func (e *NotConfiguredError) Error() string {
	if len(e.Missing) == 0 {
		return e.Integration + " is not connected"
	}
	return e.Integration + " integration has no " + strings.Join(e.Missing, ", ")
}

// settingsFor reads the tenant's settings of name and checks that the
// config and secret keys a run needs are set.
func (s *Syncer) settingsFor(ctx context.Context, tenant, name string, config, secrets []string) (integration.Settings, error) {
	st, err := s.settings.Get(ctx, tenant, name)
	if apperr.KindOf(err) == apperr.NotFound {
		nc := &NotConfiguredError{Integration: name}
		return st, apperr.Wrap(apperr.NotFound, nc, "sync: %s", nc.Error())
	}
	if err != nil {
		return st, err
	}
	var missing []string
	for _, k := range config {
		if st.Config[k] == "" {
			missing = append(missing, k)
		}
	}
	for _, k := range secrets {
		if st.Secrets[k] == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		nc := &NotConfiguredError{Integration: name, Missing: missing}
		return st, apperr.Wrap(apperr.NotFound, nc, "sync: %s", nc.Error())
	}
	return st, nil
}

// skipped reports whether err means there is nothing to sync, logging one
// info line when the integration is saved but incomplete (a never-saved
// integration is the normal case for most tenants and stays quiet).
func (s *Syncer) skipped(ctx context.Context, err error) bool {
	var nc *NotConfiguredError
	if !errors.As(err, &nc) {
		return false
	}
	if len(nc.Missing) > 0 {
		s.log.InfoContext(ctx, "sync skipped: integration not configured for sync", "integration", nc.Integration, "missing", strings.Join(nc.Missing, ","))
	}
	return true
}

// RunAll visits every registered tenant; one tenant's failure does not stop
// the others, and is reported at the end.
func (s *Syncer) RunAll(ctx context.Context) error {
	tenants, err := s.tenants(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, t := range tenants {
		if stopSoon(ctx) {
			s.log.WarnContext(ctx, "sync: deadline near; remaining tenants wait for the next run")
			break
		}
		tctx := logging.With(ctx, logging.Tenant(t))
		if _, err := s.ReconcileShopify(tctx, t); err != nil && !s.skipped(tctx, err) {
			errs = append(errs, fmt.Errorf("tenant %s shopify: %w", t, err))
		}
		if _, err := s.ForwardMeta(tctx, t); err != nil && !s.skipped(tctx, err) {
			errs = append(errs, fmt.Errorf("tenant %s meta: %w", t, err))
		}
		if _, err := s.CheckGTM(tctx, t); err != nil && !s.skipped(tctx, err) {
			errs = append(errs, fmt.Errorf("tenant %s gtm: %w", t, err))
		}
	}
	for _, e := range errs {
		s.log.ErrorContext(ctx, "sync failed for a tenant", "err", e)
	}
	return errors.Join(errs...)
}

func stopSoon(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < stopMargin
}

// Counts says what one reconciliation enqueued.
type Counts struct {
	Customers, Orders int
	Done              bool // false when stopped early; the cursor resumes it
}

// ReconcileShopify enqueues the customers and orders updated since the
// tenant's cursors. A *NotConfiguredError (apperr.NotFound) when Shopify
// has no shop domain or access token.
func (s *Syncer) ReconcileShopify(ctx context.Context, tenant string) (Counts, error) {
	st, err := s.settingsFor(ctx, tenant, integration.Shopify, []string{"shopDomain"}, []string{"accessToken"})
	if err != nil {
		return Counts{}, err
	}
	shop, token := st.Config["shopDomain"], st.Secrets["accessToken"]
	c := shopify.NewClient(s.http, shopify.Endpoint(s.urls["shopify"], shop, st.Config["apiVersion"]), token)
	if s.SleepShopify != nil {
		c.Sleep = s.SleepShopify
	}
	var counts Counts
	n, done, err := s.reconcile(ctx, tenant, "customers", func(since time.Time, after string) ([]envelopeSource, shopify.PageInfo, error) {
		p, err := c.Customers(ctx, since, after, customersPage)
		out := make([]envelopeSource, len(p.Customers))
		for i, cu := range p.Customers {
			var at time.Time
			if cu.UpdatedAt != nil {
				at = *cu.UpdatedAt
			}
			out[i] = envelopeSource{kind: "customer", topic: shopify.TopicCustomersUpdate, id: cu.ID, updated: at, body: cu}
		}
		return out, p.PageInfo, err
	})
	counts.Customers = n
	if err != nil || !done {
		return counts, err
	}
	n, done, err = s.reconcile(ctx, tenant, "orders", func(since time.Time, after string) ([]envelopeSource, shopify.PageInfo, error) {
		p, err := c.Orders(ctx, since, after, ordersPage)
		out := make([]envelopeSource, len(p.Orders))
		for i, o := range p.Orders {
			out[i] = envelopeSource{kind: "order", topic: shopify.TopicOrdersUpdated, id: o.ID, updated: o.UpdatedAt, body: o}
		}
		return out, p.PageInfo, err
	})
	counts.Orders, counts.Done = n, done
	s.log.InfoContext(ctx, "shopify reconciled", "customers", counts.Customers, "orders", counts.Orders, "done", done)
	return counts, err
}

type envelopeSource struct {
	kind, topic string
	id          int64
	updated     time.Time
	body        any
}

// reconcile pages through one resource from its cursor, enqueuing each page
// and saving the cursor after it, so an interrupted run resumes at the next
// page. Records with the same updated_at as the cursor are read again on
// the next run (the search is >=); their dedupe ids are equal, so ingest
// drops the repeats.
func (s *Syncer) reconcile(ctx context.Context, tenant, resource string, page func(since time.Time, after string) ([]envelopeSource, shopify.PageInfo, error)) (int, bool, error) {
	cur, err := s.loadCursor(ctx, tenant, resource)
	if err != nil {
		return 0, false, err
	}
	total := 0
	for {
		if stopSoon(ctx) {
			return total, false, nil
		}
		recs, info, err := page(cur.Since, cur.After)
		if err != nil {
			return total, false, err
		}
		if err := s.enqueue(ctx, tenant, recs); err != nil {
			return total, false, err
		}
		for _, r := range recs {
			if r.updated.After(cur.MaxSeen) {
				cur.MaxSeen = r.updated
			}
		}
		total += len(recs)
		cur.Enqueued += len(recs)
		if !info.HasNextPage || info.EndCursor == "" {
			cur.After = ""
			if !cur.MaxSeen.IsZero() {
				cur.Since = cur.MaxSeen
			}
			return total, true, s.saveCursor(ctx, cur)
		}
		cur.After = info.EndCursor
		if err := s.saveCursor(ctx, cur); err != nil {
			return total, false, err
		}
	}
}

func (s *Syncer) enqueue(ctx context.Context, tenant string, recs []envelopeSource) error {
	if len(recs) == 0 {
		return nil
	}
	now := s.now().UTC()
	msgs := make([]queue.Message, 0, len(recs))
	for _, r := range recs {
		body, err := json.Marshal(r.body)
		if err != nil {
			return fmt.Errorf("sync: encode %s %d: %w", r.kind, r.id, err)
		}
		b, err := ingest.Encode(ingest.Envelope{
			V: ingest.Version, Source: ingest.SourceSync, Tenant: tenant, Topic: r.topic,
			ID:          "sync:" + r.kind + ":" + strconv.FormatInt(r.id, 10) + ":" + r.updated.UTC().Format(time.RFC3339Nano),
			TriggeredAt: r.updated, ReceivedAt: now, Body: body,
		})
		if err != nil {
			return err
		}
		msgs = append(msgs, queue.Message{Body: b})
	}
	if err := s.queue.SendBatch(ctx, s.queueURL, msgs); err != nil {
		return fmt.Errorf("sync: enqueue %d records: %w", len(msgs), err)
	}
	return nil
}

// ForwardMeta sends the tenant's queued Conversions API events.
// A *NotConfiguredError (apperr.NotFound) when Meta has no pixel id or
// access token.
func (s *Syncer) ForwardMeta(ctx context.Context, tenant string) (meta.Result, error) {
	st, err := s.settingsFor(ctx, tenant, integration.Meta, []string{"pixelId"}, []string{"accessToken"})
	if err != nil {
		return meta.Result{}, err
	}
	pixel, token := st.Config["pixelId"], st.Secrets["accessToken"]
	client := meta.NewClient(s.http, s.urls["meta"], st.Config["graphApiVersion"], pixel, token, st.Secrets["appSecret"])
	ob := meta.NewOutbox(s.table)
	var total meta.Result
	for !stopSoon(ctx) {
		pending, err := ob.Next(ctx, tenant, meta.MaxBatch)
		if err != nil {
			return total, err
		}
		if len(pending) == 0 {
			break
		}
		evs := make([]meta.Event, len(pending))
		keys := make([]store.Key, len(pending))
		for i, p := range pending {
			evs[i], keys[i] = p.Event, p.Key
		}
		res, err := client.Send(ctx, evs)
		total.Received += res.Received
		total.Stale += res.Stale
		total.Batches += res.Batches
		if err != nil {
			return total, err
		}
		// Sent and stale events alike leave the outbox.
		if err := ob.Remove(ctx, keys); err != nil {
			return total, err
		}
		if len(pending) < meta.MaxBatch {
			break
		}
	}
	if total.Received+total.Stale > 0 {
		s.log.InfoContext(ctx, "conversions forwarded to meta", "received", total.Received, "stale", total.Stale, "batches", total.Batches)
	}
	return total, nil
}

// CheckGTM checks that the PulseHub tag is live in the tenant's container
// and records the result. A *NotConfiguredError (apperr.NotFound) when GTM
// has no account id, container id or API token.
func (s *Syncer) CheckGTM(ctx context.Context, tenant string) (gtm.Status, error) {
	st, err := s.settingsFor(ctx, tenant, integration.GTM, []string{"accountId", "containerId"}, []string{"apiToken"})
	if err != nil {
		return gtm.Status{}, err
	}
	res, err := gtm.NewChecker(s.http, s.urls["gtm"]).Check(ctx, st.Secrets["apiToken"], st.Config["accountId"], st.Config["containerId"], st.Secrets["writeKey"])
	if err != nil {
		return gtm.Status{}, err
	}
	k := GTMStatusKey(tenant)
	item := GTMStatus{PK: k.PK, SK: k.SK, Published: res.Published, VersionID: res.VersionID, TagName: res.TagName, Reason: res.Reason, CheckedAt: s.now().UTC()}
	if err := s.table.Put(ctx, item); err != nil {
		return res, fmt.Errorf("sync: save gtm status: %w", err)
	}
	return res, nil
}
