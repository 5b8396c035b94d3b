package gdpr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/audit"
	"github.com/pulsehub/pulsehub/shared/pii"
	"github.com/pulsehub/pulsehub/shared/store"
)

// Auditor records exports and erasures.
type Auditor interface {
	Record(ctx context.Context, tenant string, e audit.Entry) error
}

// Service exports and erases customers.
type Service struct {
	table  *store.Table
	cipher *pii.Cipher
	audit  Auditor
	now    func() time.Time
}

// New returns a Service.
func New(t *store.Table, c *pii.Cipher, a Auditor, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{table: t, cipher: c, audit: a, now: now}
}

// shards mirrors the data model's S = 16 (profile.Shard).
const shards = 16

func shard(id string) string {
	h := fnv.New32a()
	h.Write([]byte(id))
	return fmt.Sprintf("%02x", h.Sum32()%shards)
}

// maxMergeDepth bounds how far merge records are followed.
const maxMergeDepth = 8

type item = map[string]any

// Export is everything held about a customer.
type Export struct {
	CustomerID  string            `json:"customerId"`
	ExportedAt  time.Time         `json:"exportedAt"`
	Profile     item              `json:"profile,omitempty"`
	Orders      []item            `json:"orders"`
	Events      []item            `json:"events"`
	Messages    []item            `json:"messages"`
	Consents    []item            `json:"consents"`
	Merges      []item            `json:"merges"`
	Other       []item            `json:"other"`
	Merged      map[string]Export `json:"mergedProfiles,omitempty"`
	Segments    []string          `json:"segments"`
	Deliveries  []item            `json:"deliveries"`
	Identifiers []string          `json:"identifierKinds"`
}

func custPK(tenant, id string) string { return "T#" + tenant + "#CUST#" + id }

func validID(id string) error {
	ok := id != "" && len(id) <= 128
	for _, r := range id {
		ok = ok && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}
	if !ok {
		return apperr.E(apperr.NotFound, "customer %q not found", id)
	}
	return nil
}

// partition reads a customer's raw partition.
func (s *Service) partition(ctx context.Context, tenant, id string) ([]item, error) {
	items, err := store.QueryAll[item](ctx, s.table, store.Query{PK: custPK(tenant, id), Consistent: true}, 0)
	if err != nil {
		return nil, fmt.Errorf("gdpr: read customer %s: %w", id, err)
	}
	return items, nil
}

func str(it item, k string) string { s, _ := it[k].(string); return s }

// Export returns everything held about customer id, with sealed values
// opened, and audits the export.
func (s *Service) Export(ctx context.Context, tenant, id, actorID, ip string) (Export, error) {
	if err := validID(id); err != nil {
		return Export{}, err
	}
	out, err := s.export(ctx, tenant, id, 0)
	if err != nil {
		return Export{}, err
	}
	if out.Segments, err = s.segments(ctx, tenant, id); err != nil {
		return Export{}, err
	}
	deliveries, err := s.deliveries(ctx, tenant, id)
	if err != nil {
		return Export{}, err
	}
	for _, d := range deliveries {
		clean, err := s.open(ctx, tenant, d)
		if err != nil {
			return Export{}, err
		}
		out.Deliveries = append(out.Deliveries, clean)
	}
	if err := s.audit.Record(ctx, tenant, audit.Entry{Action: audit.CustomerExported, ActorID: actorID, Target: id, IP: ip}); err != nil {
		return Export{}, err
	}
	return out, nil
}

func (s *Service) export(ctx context.Context, tenant, id string, depth int) (Export, error) {
	items, err := s.partition(ctx, tenant, id)
	if err != nil {
		return Export{}, err
	}
	if len(items) == 0 {
		return Export{}, apperr.E(apperr.NotFound, "customer %s not found", id)
	}
	out := Export{CustomerID: id, ExportedAt: s.now().UTC(), Orders: []item{}, Events: []item{}, Messages: []item{}, Consents: []item{}, Merges: []item{}, Other: []item{}, Segments: []string{}, Deliveries: []item{}}
	for _, raw := range items {
		sk := str(raw, "SK")
		it, err := s.open(ctx, tenant, raw)
		if err != nil {
			return Export{}, err
		}
		switch {
		case sk == "PROFILE":
			out.Profile = it
			for _, k := range indexKeys(raw) {
				// The key names the kind; the value is a keyed hash, not data.
				parts := strings.SplitN(strings.TrimPrefix(k, "T#"+tenant+"#IDX#"), "#", 2)
				out.Identifiers = append(out.Identifiers, parts[0])
			}
		case strings.HasPrefix(sk, "ORDER#"):
			out.Orders = append(out.Orders, it)
		case strings.HasPrefix(sk, "EVENT#"):
			out.Events = append(out.Events, it)
		case strings.HasPrefix(sk, "MSG#"):
			out.Messages = append(out.Messages, it)
		case strings.HasPrefix(sk, "CONSENT#"):
			out.Consents = append(out.Consents, it)
		case strings.HasPrefix(sk, "MERGE#"):
			out.Merges = append(out.Merges, it)
			if mid := mergedID(sk); mid != "" && depth < maxMergeDepth {
				m, err := s.export(ctx, tenant, mid, depth+1)
				if err != nil && apperr.KindOf(err) != apperr.NotFound {
					return Export{}, err
				}
				if err == nil {
					if out.Merged == nil {
						out.Merged = map[string]Export{}
					}
					out.Merged[mid] = m
				}
			}
		default:
			out.Other = append(out.Other, it)
		}
	}
	sort.Strings(out.Identifiers)
	return out, nil
}

// mergedID reads MERGE#<at>#<mergedId>.
func mergedID(sk string) string {
	i := strings.LastIndexByte(sk, '#')
	if i < 0 || i == len(sk)-1 {
		return ""
	}
	return sk[i+1:]
}

func indexKeys(profile item) []string {
	var out []string
	if list, ok := profile["indexKeys"].([]any); ok {
		for _, v := range list {
			if s, ok := v.(string); ok && s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// internal attributes are storage mechanics, not data about the person.
var internal = map[string]bool{"PK": true, "GSI1PK": true, "GSI1SK": true, "GSI2PK": true, "GSI2SK": true, "ttl": true, "version": true}

// open copies an item without storage keys, opening sealed values (and
// decoding sealed JSON such as addresses).
func (s *Service) open(ctx context.Context, tenant string, raw item) (item, error) {
	out := make(item, len(raw))
	for k, v := range raw {
		if internal[k] {
			continue
		}
		ov, err := s.openValue(ctx, tenant, v)
		if err != nil {
			return nil, fmt.Errorf("gdpr: open %s: %w", k, err)
		}
		out[k] = ov
	}
	return out, nil
}

func (s *Service) openValue(ctx context.Context, tenant string, v any) (any, error) {
	switch x := v.(type) {
	case string:
		if !pii.IsSealed(x) {
			return x, nil
		}
		plain, err := s.cipher.Open(ctx, tenant, x)
		if err != nil {
			return nil, err
		}
		var obj map[string]any
		if strings.HasPrefix(plain, "{") && json.Unmarshal([]byte(plain), &obj) == nil {
			return obj, nil
		}
		return plain, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			ov, err := s.openValue(ctx, tenant, e)
			if err != nil {
				return nil, err
			}
			out[k] = ov
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			ov, err := s.openValue(ctx, tenant, e)
			if err != nil {
				return nil, err
			}
			out[i] = ov
		}
		return out, nil
	}
	return v, nil
}

// segmentIDs lists the tenant's segment definitions (T#<t> / SEG#<id>).
func (s *Service) ids(ctx context.Context, tenant, prefix string) ([]string, error) {
	keys, err := store.QueryAll[store.Key](ctx, s.table, store.Query{PK: "T#" + tenant, SKPrefix: prefix}, 0)
	if err != nil {
		return nil, fmt.Errorf("gdpr: list %s: %w", prefix, err)
	}
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		if id := strings.TrimPrefix(k.SK, prefix); id != "" && !strings.Contains(id, "#") {
			out = append(out, id)
		}
	}
	return out, nil
}

func (s *Service) membershipKeys(ctx context.Context, tenant, id string) ([]store.Key, error) {
	segs, err := s.ids(ctx, tenant, "SEG#")
	if err != nil {
		return nil, err
	}
	keys := make([]store.Key, len(segs))
	for i, seg := range segs {
		keys[i] = store.Key{PK: "T#" + tenant + "#SEG#" + seg + "#" + shard(id), SK: "C#" + id}
	}
	found, err := store.BatchGet[store.Key](ctx, s.table, keys)
	if err != nil {
		return nil, fmt.Errorf("gdpr: segment memberships: %w", err)
	}
	return found, nil
}

func (s *Service) segments(ctx context.Context, tenant, id string) ([]string, error) {
	keys, err := s.membershipKeys(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, k := range keys {
		seg := strings.TrimPrefix(k.PK, "T#"+tenant+"#SEG#")
		out = append(out, seg[:strings.LastIndexByte(seg, '#')])
	}
	sort.Strings(out)
	return out, nil
}

// deliveries reads the customer's delivery records of every campaign.
func (s *Service) deliveries(ctx context.Context, tenant, id string) ([]item, error) {
	camps, err := s.ids(ctx, tenant, "CAMP#")
	if err != nil {
		return nil, err
	}
	var out []item
	for _, c := range camps {
		items, err := store.QueryAll[item](ctx, s.table, store.Query{PK: "T#" + tenant + "#CAMP#" + c + "#" + shard(id), SKPrefix: "D#" + id + "#", Consistent: true}, 0)
		if err != nil {
			return nil, fmt.Errorf("gdpr: deliveries of campaign %s: %w", c, err)
		}
		out = append(out, items...)
	}
	return out, nil
}

// Erasure reports what Erase did.
type Erasure struct {
	CustomerID         string   `json:"customerId"`
	Erased             bool     `json:"erased"`
	ItemsDeleted       int      `json:"itemsDeleted"`
	DeliveriesRedacted int      `json:"deliveriesRedacted"`
	MergedProfiles     []string `json:"mergedProfiles"`
}

// personal names delivery-record attributes that identify a recipient.
var personal = map[string]bool{"to": true, "email": true, "phone": true, "address": true, "firstName": true, "lastName": true,
	"name": true, "recipient": true, "deviceToken": true, "token": true, "body": true, "subject": true, "text": true}

// Erase deletes every item about customer id (and the profiles merged into
// it), redacts its delivery records and records the erasure. It is
// idempotent in effect: erasing an erased customer is NotFound.
func (s *Service) Erase(ctx context.Context, tenant, id, actorID, ip string) (Erasure, error) {
	if err := validID(id); err != nil {
		return Erasure{}, err
	}
	rep := Erasure{CustomerID: id, MergedProfiles: []string{}}
	var keys []store.Key
	pending := []string{id}
	seen := map[string]bool{}
	for len(pending) > 0 && len(seen) <= maxMergeDepth*4 {
		cid := pending[0]
		pending = pending[1:]
		if seen[cid] {
			continue
		}
		seen[cid] = true
		items, err := s.partition(ctx, tenant, cid)
		if err != nil {
			return Erasure{}, err
		}
		if cid == id && len(items) == 0 {
			return Erasure{}, apperr.E(apperr.NotFound, "customer %s not found", id)
		}
		if cid != id && len(items) > 0 {
			rep.MergedProfiles = append(rep.MergedProfiles, cid)
		}
		for _, it := range items {
			sk := str(it, "SK")
			keys = append(keys, store.Key{PK: str(it, "PK"), SK: sk})
			if sk == "PROFILE" {
				for _, k := range indexKeys(it) {
					keys = append(keys, store.Key{PK: k, SK: "IDX"})
				}
			}
			if strings.HasPrefix(sk, "MERGE#") {
				pending = append(pending, mergedID(sk))
			}
		}
		members, err := s.membershipKeys(ctx, tenant, cid)
		if err != nil {
			return Erasure{}, err
		}
		keys = append(keys, members...)
		deliveries, err := s.deliveries(ctx, tenant, cid)
		if err != nil {
			return Erasure{}, err
		}
		for _, d := range deliveries {
			if err := s.redact(ctx, d); err != nil {
				return Erasure{}, err
			}
			rep.DeliveriesRedacted++
		}
	}
	if err := s.deleteAll(ctx, keys); err != nil {
		return Erasure{}, err
	}
	rep.ItemsDeleted, rep.Erased = len(keys), true
	err := s.audit.Record(ctx, tenant, audit.Entry{Action: audit.CustomerErased, ActorID: actorID, Target: id, IP: ip, Detail: map[string]string{
		"itemsDeleted": strconv.Itoa(rep.ItemsDeleted), "deliveriesRedacted": strconv.Itoa(rep.DeliveriesRedacted), "mergedProfiles": strings.Join(rep.MergedProfiles, ","),
	}})
	if err != nil {
		return Erasure{}, err
	}
	return rep, nil
}

// redact removes personal and sealed attributes from a delivery record.
func (s *Service) redact(ctx context.Context, d item) error {
	var remove []string
	names := map[string]string{}
	for k, v := range d {
		sv, _ := v.(string)
		if personal[k] || pii.IsSealed(sv) {
			ph := "#a" + strconv.Itoa(len(remove))
			names[ph] = k
			remove = append(remove, ph)
		}
	}
	expr := "SET erased = :t"
	if len(remove) > 0 {
		expr += " REMOVE " + strings.Join(remove, ", ")
	}
	in := &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table.Name()),
		Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: str(d, "PK")}, "SK": &types.AttributeValueMemberS{Value: str(d, "SK")},
		},
		UpdateExpression:          aws.String(expr),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}},
	}
	if len(names) > 0 {
		in.ExpressionAttributeNames = names
	}
	if _, err := s.table.Client().UpdateItem(ctx, in); err != nil {
		return apperr.Wrap(apperr.Transient, err, "gdpr: redact delivery %s", str(d, "SK"))
	}
	return nil
}

// deleteAll deletes keys (each once); keys without a PK or SK (a
// malformed index entry) are left out.
func (s *Service) deleteAll(ctx context.Context, keys []store.Key) error {
	valid := make([]store.Key, 0, len(keys))
	for _, k := range keys {
		if k.PK != "" && k.SK != "" {
			valid = append(valid, k)
		}
	}
	if err := s.table.BatchDelete(ctx, valid); err != nil {
		return fmt.Errorf("gdpr: delete items: %w", err)
	}
	return nil
}

// ShredTenant destroys a workspace's data keys: every sealed value and
// blind index of the workspace becomes unreadable at once (crypto-shredding,
// e.g. for Shopify's shop/redact). The erasure is recorded first, so the
// audit entry itself stays readable.
func (s *Service) ShredTenant(ctx context.Context, tenant, actorID string) error {
	if err := s.audit.Record(ctx, tenant, audit.Entry{Action: audit.TenantShredded, ActorID: actorID, Target: tenant}); err != nil {
		return err
	}
	if err := s.cipher.Shred(ctx, tenant); err != nil {
		return errors.Join(fmt.Errorf("gdpr.ShredTenant %s", tenant), err)
	}
	return nil
}
