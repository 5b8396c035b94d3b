package profile

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/pii"
	"github.com/pulsehub/pulsehub/shared/store"
)

// Identity resolution: which customer an email, phone, Shopify id or
// anonymous id belongs to (the identity index), creating and attaching
// profiles as identifiers arrive; and the profile's own fields.

// Identity is what a payload tells about who it concerns.
type Identity struct {
	ShopifyID   string
	Email       string
	Phone       string
	AnonymousID string
	UserID      string // the storefront's own customer id (collect userId)
}

// Index kinds.
const (
	KindShopify   = "shopify"
	KindEmail     = pii.KindEmail
	KindPhone     = pii.KindPhone
	KindAnonymous = "anon"
	KindUser      = "user"
)

type idxKey struct{ kind, pk string }

func (s *Store) indexKeys(ctx context.Context, tenant string, id Identity) ([]idxKey, error) {
	var keys []idxKey
	add := func(kind, value string) error {
		if strings.TrimSpace(value) == "" {
			return nil
		}
		v := strings.TrimSpace(value)
		if kind != KindShopify {
			h, err := s.pii.BlindIndex(ctx, tenant, kind, value)
			if apperr.KindOf(err) == apperr.Invalid {
				return nil // e.g. a phone without a country code: not an identity
			}
			if err != nil {
				return fmt.Errorf("blind index %s: %w", kind, err)
			}
			v = h
		}
		keys = append(keys, idxKey{kind, idxPK(tenant, kind, v)})
		return nil
	}
	for _, kv := range [][2]string{{KindShopify, id.ShopifyID}, {KindEmail, id.Email}, {KindPhone, id.Phone}, {KindUser, id.UserID}, {KindAnonymous, id.AnonymousID}} {
		if err := add(kv[0], kv[1]); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// NewID returns a time-ordered customer id, so listings run oldest first.
func NewID(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli()))
	rand.Read(b[8:])
	return "c_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[2:]))
}

// Resolved is the outcome of Resolve.
type Resolved struct {
	CustomerID string
	Created    bool
	Merged     []string // profiles merged into CustomerID by this call
}

// Resolve finds the customer the identity belongs to, creating one when
// none matches, attaching identifiers not yet indexed, and merging profiles
// when the identifiers point at several. The survivor of a merge is the
// profile holding the Shopify id, else the oldest.
func (s *Store) Resolve(ctx context.Context, tenant string, id Identity) (Resolved, error) {
	keys, err := s.indexKeys(ctx, tenant, id)
	if err != nil {
		return Resolved{}, fmt.Errorf("profile.Resolve: %w", err)
	}
	if len(keys) == 0 {
		return Resolved{}, apperr.E(apperr.Invalid, "payload identifies no customer (no customer id, email, phone or anonymous id)")
	}
	var out Resolved
	for range attempts {
		sk := make([]store.Key, len(keys))
		for i, k := range keys {
			sk[i] = store.Key{PK: k.pk, SK: skIndex}
		}
		found, err := store.BatchGet[IndexItem](ctx, s.t, sk)
		if err != nil {
			return Resolved{}, fmt.Errorf("profile.Resolve: %w", err)
		}
		owner := map[string]string{} // index pk → customer
		var ids []string
		for _, it := range found {
			owner[it.PK] = it.CustomerID
			if !slices.Contains(ids, it.CustomerID) {
				ids = append(ids, it.CustomerID)
			}
		}
		var missing []idxKey
		for _, k := range keys {
			if _, ok := owner[k.pk]; !ok {
				missing = append(missing, k)
			}
		}
		switch len(ids) {
		case 0:
			cid := NewID(s.now())
			err = s.create(ctx, tenant, cid, keys, id)
			if err == nil {
				out.CustomerID, out.Created = cid, true
				return out, nil
			}
		default:
			cid := ids[0]
			if len(ids) > 1 {
				cid, err = s.survivor(ctx, tenant, ids, owner, keys)
				if err != nil {
					return Resolved{}, err
				}
				for _, other := range ids {
					if other == cid {
						continue
					}
					if err := s.Merge(ctx, tenant, cid, other, "identity match"); err != nil {
						return Resolved{}, err
					}
					out.Merged = append(out.Merged, other)
				}
			}
			if len(missing) == 0 {
				out.CustomerID = cid
				return out, nil
			}
			err = s.attach(ctx, tenant, cid, missing, id)
			if err == nil {
				out.CustomerID = cid
				return out, nil
			}
		}
		if apperr.KindOf(err) != apperr.Conflict {
			return Resolved{}, fmt.Errorf("profile.Resolve: %w", err)
		}
		// Someone else claimed an identifier or changed the profile: look again.
	}
	return Resolved{}, apperr.E(apperr.Transient, "profile.Resolve: too much contention on one customer; retry")
}

func (s *Store) survivor(ctx context.Context, tenant string, ids []string, owner map[string]string, keys []idxKey) (string, error) {
	for _, k := range keys {
		if k.kind == KindShopify && owner[k.pk] != "" {
			return owner[k.pk], nil
		}
	}
	ps := make([]Profile, len(ids))
	for i, id := range ids {
		p, err := s.profile(ctx, tenant, id)
		if err != nil {
			return "", err
		}
		ps[i] = p
	}
	return survivorOf(ps), nil
}

func (s *Store) create(ctx context.Context, tenant, cid string, keys []idxKey, id Identity) error {
	now := ts(s.now())
	p := Profile{
		PK: custPK(tenant, cid), SK: skProfile, GSI1PK: listPK(tenant, Shard(cid)), GSI1SK: cid,
		ID: cid, ShopifyID: id.ShopifyID, CreatedAt: now, UpdatedAt: now, Version: 1,
		Anonymous: id.ShopifyID == "" && id.Email == "" && id.Phone == "" && id.UserID == "",
	}
	if err := s.sealIdentity(ctx, tenant, &p, id); err != nil {
		return err
	}
	ops := []store.TxOp{}
	for _, k := range keys {
		p.IndexKeys = append(p.IndexKeys, k.pk)
		ops = append(ops, s.t.TxPut(IndexItem{PK: k.pk, SK: skIndex, CustomerID: cid, Kind: k.kind, At: now}, store.IfAbsent()))
	}
	ops = append(ops, s.t.TxPut(p, store.IfAbsent()))
	return s.t.Transact(ctx, ops...)
}

// sealIdentity fills empty email/phone from the identity.
func (s *Store) sealIdentity(ctx context.Context, tenant string, p *Profile, id Identity) error {
	var err error
	if p.Email == "" && id.Email != "" {
		if p.Email, err = s.pii.Seal(ctx, tenant, pii.NormalizeEmail(id.Email)); err != nil {
			return err
		}
	}
	if p.Phone == "" && id.Phone != "" {
		if ph, perr := pii.NormalizePhone(id.Phone); perr == nil {
			if p.Phone, err = s.pii.Seal(ctx, tenant, ph); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Store) attach(ctx context.Context, tenant, cid string, missing []idxKey, id Identity) error {
	p, err := s.profile(ctx, tenant, cid)
	if err != nil {
		return err
	}
	now := ts(s.now())
	old := p.Version
	ops := []store.TxOp{}
	for _, k := range missing {
		if !slices.Contains(p.IndexKeys, k.pk) {
			p.IndexKeys = append(p.IndexKeys, k.pk)
		}
		if k.kind != KindAnonymous {
			p.Anonymous = false
		}
		ops = append(ops, s.t.TxPut(IndexItem{PK: k.pk, SK: skIndex, CustomerID: cid, Kind: k.kind, At: now}, store.IfAbsent()))
	}
	if p.ShopifyID == "" {
		p.ShopifyID = id.ShopifyID
	}
	if err := s.sealIdentity(ctx, tenant, &p, id); err != nil {
		return err
	}
	p.Version, p.UpdatedAt = old+1, now
	ops = append(ops, s.t.TxPut(p, versionIs(old)))
	return s.t.Transact(ctx, ops...)
}

// Fields are profile attributes a provider sends (plaintext; sealed here).
type Fields struct {
	Email, Phone, FirstName, LastName, Address, Tags, Currency string
}

// UpdateFields sets non-empty fields as of the provider time at. A payload
// older than the newest one applied changes nothing (reports false).
func (s *Store) UpdateFields(ctx context.Context, tenant, cid string, f Fields, at time.Time) (bool, error) {
	sealed, err := s.sealFields(ctx, tenant, f)
	if err != nil {
		return false, fmt.Errorf("profile.UpdateFields %s: %w", cid, err)
	}
	_, changed, err := s.mutate(ctx, tenant, cid, func(p *Profile) (bool, []store.TxOp, error) {
		return applyFields(p, sealed, at), nil, nil
	})
	if err != nil {
		return false, fmt.Errorf("profile.UpdateFields %s: %w", cid, err)
	}
	return changed, nil
}

// sealFields normalises and seals the personal fields of f.
func (s *Store) sealFields(ctx context.Context, tenant string, f Fields) (Fields, error) {
	sealed := Fields{Tags: f.Tags, Currency: f.Currency}
	for _, v := range []struct {
		in  string
		out *string
	}{{f.Email, &sealed.Email}, {f.Phone, &sealed.Phone}, {f.FirstName, &sealed.FirstName}, {f.LastName, &sealed.LastName}, {f.Address, &sealed.Address}} {
		in := v.in
		if v.out == &sealed.Email {
			in = pii.NormalizeEmail(in)
		}
		if v.out == &sealed.Phone && in != "" {
			if n, perr := pii.NormalizePhone(in); perr == nil {
				in = n
			}
		}
		var err error
		if *v.out, err = s.pii.Seal(ctx, tenant, in); err != nil {
			return Fields{}, err
		}
	}
	return sealed, nil
}
