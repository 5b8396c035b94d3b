package profile

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/store"
)

// Lookup returns the customers an identity points at, without creating or
// attaching anything (privacy requests must not create profiles). Merged
// profiles lead to their survivor; the result has no duplicates.
func (s *Store) Lookup(ctx context.Context, tenant string, id Identity) ([]string, error) {
	keys, err := s.indexKeys(ctx, tenant, id)
	if err != nil {
		return nil, fmt.Errorf("profile.Lookup: %w", err)
	}
	if len(keys) == 0 {
		return nil, nil
	}
	sk := make([]store.Key, len(keys))
	for i, k := range keys {
		sk[i] = store.Key{PK: k.pk, SK: skIndex}
	}
	found, err := store.BatchGet[IndexItem](ctx, s.t, sk)
	if err != nil {
		return nil, fmt.Errorf("profile.Lookup: %w", err)
	}
	var out []string
	for _, it := range found {
		p, err := s.Profile(ctx, tenant, it.CustomerID)
		if apperr.KindOf(err) == apperr.NotFound {
			continue // an index left over by an interrupted erasure
		}
		if err != nil {
			return nil, fmt.Errorf("profile.Lookup: %w", err)
		}
		if !slices.Contains(out, p.ID) {
			out = append(out, p.ID)
		}
	}
	return out, nil
}

// EachID calls fn with the id of every listed (not merged) customer of the
// tenant, shard by shard, reading ids only: it works after the tenant's
// keys are shredded. fn may delete the customer it is given.
func (s *Store) EachID(ctx context.Context, tenant string, fn func(id string) error) error {
	err := eachListed(ctx, s.t, tenant, func(it IndexItemID) error { return fn(it.ID) })
	if err != nil {
		return fmt.Errorf("profile.EachID: %w", err)
	}
	return nil
}

// IndexItemID is the part of a listed profile EachID reads.
type IndexItemID struct {
	ID string `dynamodbav:"id"`
}

// ComplianceRequest is T#<t>#COMPLIANCE / REQ#<id>: a privacy or uninstall
// request a provider sent (Shopify's customers/data_request,
// customers/redact, shop/redact, app/uninstalled) and what PulseHub did.
// A data request keeps the export, sealed, for ComplianceRetention.
type ComplianceRequest struct {
	PK  string `dynamodbav:"PK" json:"-"`
	SK  string `dynamodbav:"SK" json:"-"`
	TTL int64  `dynamodbav:"ttl" json:"-"`

	ID          string   `dynamodbav:"id" json:"id"`
	Source      string   `dynamodbav:"source" json:"source"`
	Topic       string   `dynamodbav:"topic" json:"topic"`
	ProviderID  string   `dynamodbav:"providerId,omitempty" json:"providerId,omitempty"` // e.g. Shopify's data_request.id
	ReceivedAt  string   `dynamodbav:"receivedAt" json:"receivedAt"`
	CompletedAt string   `dynamodbav:"completedAt" json:"completedAt"`
	CustomerIDs []string `dynamodbav:"customerIds,omitempty" json:"customerIds"`
	Outcome     string   `dynamodbav:"outcome" json:"outcome"` // what was done, in words
	Export      string   `dynamodbav:"export,omitempty" json:"-"`
}

// ComplianceRetention is how long a compliance record (and a data
// request's export) is kept: Shopify gives the merchant 30 days to answer.
const ComplianceRetention = 90 * 24 * time.Hour

// maxExport bounds the sealed export kept in the item (DynamoDB items
// are at most 400 KB); a larger one is fetched with GET /v1/customers/{id}/export.
const maxExport = 300 << 10

func compliancePK(tenant string) string { return "T#" + tenant + "#COMPLIANCE" }

// SaveComplianceRequest stores r; export (JSON, may be nil) is sealed when
// it fits in the item, otherwise the outcome says where to fetch it.
func (s *Store) SaveComplianceRequest(ctx context.Context, tenant string, r ComplianceRequest, export []byte) error {
	r.PK, r.SK = compliancePK(tenant), "REQ#"+r.ID
	if r.CompletedAt == "" {
		r.CompletedAt = ts(s.now())
	}
	r.TTL = store.TTL(s.now().Add(ComplianceRetention))
	if len(export) > 0 {
		sealed, err := s.pii.Seal(ctx, tenant, string(export))
		if err != nil {
			return fmt.Errorf("profile.SaveComplianceRequest %s: %w", r.ID, err)
		}
		if len(sealed) <= maxExport {
			r.Export = sealed
		} else {
			r.Outcome += "; the export is too large to keep here: fetch GET /v1/customers/{id}/export for each customer id"
		}
	}
	if err := s.t.Put(ctx, r); err != nil {
		return fmt.Errorf("profile.SaveComplianceRequest %s: %w", r.ID, err)
	}
	return nil
}

// ComplianceRequests lists the tenant's compliance records, newest first.
func (s *Store) ComplianceRequests(ctx context.Context, tenant string) ([]ComplianceRequest, error) {
	out, err := store.QueryAll[ComplianceRequest](ctx, s.t, store.Query{PK: compliancePK(tenant), SKPrefix: "REQ#"}, 1000)
	if err != nil {
		return nil, fmt.Errorf("profile.ComplianceRequests: %w", err)
	}
	slices.SortFunc(out, func(a, b ComplianceRequest) int { return strings.Compare(b.ReceivedAt, a.ReceivedAt) })
	return out, nil
}

// ComplianceRequestWithExport is one record with its export opened.
type ComplianceRequestWithExport struct {
	ComplianceRequest
	Export json.RawMessage `json:"export,omitempty"`
}

// ComplianceRequest returns one record with its export opened.
func (s *Store) ComplianceRequest(ctx context.Context, tenant, id string) (ComplianceRequestWithExport, error) {
	var r ComplianceRequest
	if err := s.t.Get(ctx, store.Key{PK: compliancePK(tenant), SK: "REQ#" + id}, &r); err != nil {
		if apperr.KindOf(err) == apperr.NotFound {
			return ComplianceRequestWithExport{}, apperr.E(apperr.NotFound, "no compliance request with this id in this workspace")
		}
		return ComplianceRequestWithExport{}, fmt.Errorf("profile.ComplianceRequest: %w", err)
	}
	out := ComplianceRequestWithExport{ComplianceRequest: r}
	if r.Export != "" {
		plain, err := s.pii.Open(ctx, tenant, r.Export)
		if err != nil {
			return ComplianceRequestWithExport{}, fmt.Errorf("profile.ComplianceRequest %s: %w", id, err)
		}
		out.Export = json.RawMessage(plain)
	}
	return out, nil
}
