package syncfn

import (
	"context"
	"fmt"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/store"
)

// Items this package owns (see docs/data-model.md, "Sync state"):
//
//	SYNC#TENANTS / T#<t>          tenants with a connected shopify, meta or gtm integration
//	T#<t> / SYNC#shopify#orders    reconciliation cursor (one per resource)
//	T#<t> / SYNC#shopify#customers
//	T#<t> / SYNC#gtm               last Tag Manager check
const tenantsPK = "SYNC#TENANTS"

type tenantItem struct {
	PK     string `dynamodbav:"PK"`
	SK     string `dynamodbav:"SK"`
	Tenant string `dynamodbav:"tenant"`
}

// Cursor is where a reconciliation of one resource stands. Since is the
// updated_at the current run started from; After is the GraphQL page cursor
// within that run ("" between runs); MaxSeen is the newest updated_at
// enqueued so far, which becomes the next run's Since.
type Cursor struct {
	PK        string    `dynamodbav:"PK"`
	SK        string    `dynamodbav:"SK"`
	Since     time.Time `dynamodbav:"since"`
	After     string    `dynamodbav:"after,omitempty"`
	MaxSeen   time.Time `dynamodbav:"maxSeen"`
	Enqueued  int       `dynamodbav:"enqueued"`
	UpdatedAt time.Time `dynamodbav:"updatedAt"`
}

func cursorKey(tenant, resource string) store.Key {
	return store.Key{PK: "T#" + tenant, SK: "SYNC#shopify#" + resource}
}

// GTMStatus is the last Tag Manager check of a tenant.
type GTMStatus struct {
	PK        string    `dynamodbav:"PK"`
	SK        string    `dynamodbav:"SK"`
	Published bool      `dynamodbav:"published"`
	VersionID string    `dynamodbav:"versionId,omitempty"`
	TagName   string    `dynamodbav:"tagName,omitempty"`
	Reason    string    `dynamodbav:"reason,omitempty"`
	CheckedAt time.Time `dynamodbav:"checkedAt"`
}

// GTMStatusKey is where the last Tag Manager check is kept (the API can show it).
func GTMStatusKey(tenant string) store.Key { return store.Key{PK: "T#" + tenant, SK: "SYNC#gtm"} }

func (s *Syncer) loadCursor(ctx context.Context, tenant, resource string) (Cursor, error) {
	var c Cursor
	err := s.table.Get(ctx, cursorKey(tenant, resource), &c)
	if apperr.KindOf(err) == apperr.NotFound {
		k := cursorKey(tenant, resource)
		return Cursor{PK: k.PK, SK: k.SK}, nil
	}
	if err != nil {
		return Cursor{}, fmt.Errorf("sync: load %s cursor: %w", resource, err)
	}
	return c, nil
}

func (s *Syncer) saveCursor(ctx context.Context, c Cursor) error {
	c.UpdatedAt = s.now().UTC()
	if err := s.table.Put(ctx, c); err != nil {
		return fmt.Errorf("sync: save cursor %s: %w", c.SK, err)
	}
	return nil
}

// Register records that tenant has integration connected, so the schedule
// visits it.
func (s *Syncer) Register(ctx context.Context, tenant, integration string) error {
	err := s.table.Put(ctx, tenantItem{PK: tenantsPK, SK: "T#" + tenant, Tenant: tenant})
	if err != nil {
		return fmt.Errorf("sync: register %s: %w", tenant, err)
	}
	return nil
}

func (s *Syncer) tenants(ctx context.Context) ([]string, error) {
	items, err := store.QueryAll[tenantItem](ctx, s.table, store.Query{PK: tenantsPK}, 0)
	if err != nil {
		return nil, fmt.Errorf("sync: list tenants: %w", err)
	}
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Tenant
	}
	return out, nil
}
