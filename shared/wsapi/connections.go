package wsapi

import (
	"context"
	"fmt"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/store"
)

// MaxConnectionAge is API Gateway's maximum WebSocket connection duration;
// connection records expire (TTL) after it.
const MaxConnectionAge = 2 * time.Hour

// Connection is one open WebSocket connection and who opened it. TenantID
// and UserID are empty for an anonymous connection.
type Connection struct {
	ID          string
	TenantID    string
	UserID      string
	Role        string
	ConnectedAt time.Time
	SourceIP    string
	UserAgent   string
}

// connectionItem is the stored form (docs/data-model.md).
type connectionItem struct {
	PK          string    `dynamodbav:"PK"`
	SK          string    `dynamodbav:"SK"`
	GSI1PK      string    `dynamodbav:"GSI1PK,omitempty"`
	GSI1SK      string    `dynamodbav:"GSI1SK,omitempty"`
	ID          string    `dynamodbav:"connectionId"`
	TenantID    string    `dynamodbav:"tenantId,omitempty"`
	UserID      string    `dynamodbav:"userId,omitempty"`
	Role        string    `dynamodbav:"role,omitempty"`
	ConnectedAt time.Time `dynamodbav:"connectedAt"`
	SourceIP    string    `dynamodbav:"sourceIp,omitempty"`
	UserAgent   string    `dynamodbav:"userAgent,omitempty"`
	TTL         int64     `dynamodbav:"ttl"`
}

func connKey(id string) store.Key { return store.Key{PK: "CONN#" + id, SK: "CONN"} }

func tenantConnsPK(tenantID string) string { return "T#" + tenantID + "#CONNS" }

// ConnectionStore keeps connection records in the single table.
type ConnectionStore struct {
	table *store.Table
}

// NewConnectionStore returns a store over table.
func NewConnectionStore(table *store.Table) *ConnectionStore {
	return &ConnectionStore{table: table}
}

// Put stores c; it expires MaxConnectionAge after c.ConnectedAt.
func (s *ConnectionStore) Put(ctx context.Context, c Connection) error {
	if c.ID == "" {
		return apperr.E(apperr.Invalid, "connection id is empty")
	}
	if c.ConnectedAt.IsZero() {
		return apperr.E(apperr.Invalid, "connection %s has no connectedAt", c.ID)
	}
	k := connKey(c.ID)
	item := connectionItem{
		PK: k.PK, SK: k.SK,
		ID: c.ID, TenantID: c.TenantID, UserID: c.UserID, Role: c.Role,
		ConnectedAt: c.ConnectedAt.UTC(), SourceIP: c.SourceIP, UserAgent: c.UserAgent,
		TTL: store.TTL(c.ConnectedAt.Add(MaxConnectionAge)),
	}
	if c.TenantID != "" {
		item.GSI1PK, item.GSI1SK = tenantConnsPK(c.TenantID), c.ID
	}
	if err := s.table.Put(ctx, item); err != nil {
		return fmt.Errorf("wsapi.Put %s: %w", c.ID, err)
	}
	return nil
}

// Get returns the connection; a missing or expired record is apperr.NotFound.
func (s *ConnectionStore) Get(ctx context.Context, id string) (Connection, error) {
	var item connectionItem
	if err := s.table.Get(ctx, connKey(id), &item); err != nil {
		return Connection{}, fmt.Errorf("wsapi.Get %s: %w", id, err)
	}
	// DynamoDB deletes expired items lazily (up to days later).
	if item.TTL > 0 && time.Now().Unix() >= item.TTL {
		return Connection{}, fmt.Errorf("wsapi.Get %s: %w", id, apperr.E(apperr.NotFound, "connection expired"))
	}
	return item.connection(), nil
}

// Delete removes the record; deleting a missing record is not an error.
func (s *ConnectionStore) Delete(ctx context.Context, id string) error {
	if err := s.table.Delete(ctx, connKey(id)); err != nil {
		return fmt.Errorf("wsapi.Delete %s: %w", id, err)
	}
	return nil
}

// ListByTenant returns the tenant's live connections (at most a few per
// user, so the whole partition is read).
func (s *ConnectionStore) ListByTenant(ctx context.Context, tenantID string) ([]Connection, error) {
	if tenantID == "" {
		return nil, apperr.E(apperr.Invalid, "tenant id is empty")
	}
	items, err := store.QueryAll[connectionItem](ctx, s.table, store.Query{Index: "GSI1", PK: tenantConnsPK(tenantID)}, 0)
	if err != nil {
		return nil, fmt.Errorf("wsapi.ListByTenant %s: %w", tenantID, err)
	}
	now := time.Now().Unix()
	out := make([]Connection, 0, len(items))
	for _, it := range items {
		if it.TTL > 0 && now >= it.TTL {
			continue
		}
		out = append(out, it.connection())
	}
	return out, nil
}

func (it connectionItem) connection() Connection {
	return Connection{
		ID: it.ID, TenantID: it.TenantID, UserID: it.UserID, Role: it.Role,
		ConnectedAt: it.ConnectedAt, SourceIP: it.SourceIP, UserAgent: it.UserAgent,
	}
}
