package audit

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/logging"
	"github.com/pulsehub/pulsehub/shared/store"
)

// Actions recorded by PulseHub.
const (
	Signup           = "workspace.created"
	Login            = "login"
	LoginFailed      = "login.failed"
	Logout           = "logout"
	RefreshReuse     = "token.reuse"
	UserInvited      = "user.invited"
	UserRoleChanged  = "user.role_changed"
	CustomerExported = "customer.exported"
	CustomerErased   = "customer.erased"
	CustomerUnmerged = "customer.unmerged"
	// CustomerUnsubscribed: a recipient used a message's unsubscribe link.
	CustomerUnsubscribed = "customer.unsubscribed"
	IntegrationUpdated   = "integration.updated"
	TenantShredded       = "workspace.keys_destroyed"
)

// Retention keeps entries for about 13 months, then DynamoDB TTL drops them.
const Retention = 400 * 24 * time.Hour

// Entry is one audited action.
type Entry struct {
	ID        string            `json:"id" dynamodbav:"id"`
	At        time.Time         `json:"at" dynamodbav:"at"`
	Action    string            `json:"action" dynamodbav:"action"`
	ActorID   string            `json:"actorId,omitempty" dynamodbav:"actorId,omitempty"`
	Target    string            `json:"target,omitempty" dynamodbav:"target,omitempty"`
	IP        string            `json:"ip,omitempty" dynamodbav:"ip,omitempty"`
	RequestID string            `json:"requestId,omitempty" dynamodbav:"requestId,omitempty"`
	Detail    map[string]string `json:"detail,omitempty" dynamodbav:"detail,omitempty"`
}

type item struct {
	PK  string `dynamodbav:"PK"`
	SK  string `dynamodbav:"SK"`
	TTL int64  `dynamodbav:"ttl"`
	Entry
}

// Log writes and reads audit entries.
type Log struct {
	table *store.Table
	now   func() time.Time
	log   *slog.Logger
}

// New returns a Log over the table.
func New(t *store.Table, now func() time.Time, logger *slog.Logger) *Log {
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Log{table: t, now: now, log: logger}
}

func partition(tenant string, at time.Time) string {
	return "T#" + tenant + "#AUDIT#" + at.UTC().Format("2006-01")
}

// Record stores e for tenant, filling id, time and the request id from ctx.
func (l *Log) Record(ctx context.Context, tenant string, e Entry) error {
	if e.At.IsZero() {
		e.At = l.now().UTC()
	}
	e.ID = rand.Text()[:16]
	if e.RequestID == "" {
		for _, a := range logging.Attrs(ctx) {
			if a.Key == logging.KeyRequestID {
				e.RequestID = a.Value.String()
			}
		}
	}
	it := item{PK: partition(tenant, e.At), SK: e.At.UTC().Format(time.RFC3339Nano) + "#" + e.ID, TTL: store.TTL(e.At.Add(Retention)), Entry: e}
	if err := l.table.Put(ctx, it); err != nil {
		// Logged as well: an audit entry that cannot be stored must leave a trace.
		l.log.ErrorContext(ctx, "audit entry not stored", "action", e.Action, "target", e.Target, "err", err)
		return fmt.Errorf("audit.Record %s: %w", e.Action, err)
	}
	return nil
}

// List returns one page of the tenant's entries for month ("yyyy-mm", ""
// for the current month), newest first.
func (l *Log) List(ctx context.Context, tenant, month, cursor string, limit int32) (store.Page[Entry], error) {
	at := l.now()
	if month != "" {
		t, err := time.Parse("2006-01", month)
		if err != nil {
			return store.Page[Entry]{}, &apperr.Error{Kind: apperr.Invalid, Field: "month", Message: "month must be yyyy-mm"}
		}
		at = t
	}
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	page, err := store.QueryPage[item](ctx, l.table, store.Query{PK: partition(tenant, at), Desc: true, Limit: limit, Cursor: cursor})
	if err != nil {
		return store.Page[Entry]{}, fmt.Errorf("audit.List %s: %w", month, err)
	}
	out := store.Page[Entry]{Next: page.Next, Items: make([]Entry, len(page.Items))}
	for i, it := range page.Items {
		out.Items[i] = it.Entry
	}
	return out, nil
}
