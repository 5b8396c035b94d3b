package profile

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/store"
)

// The DynamoDB mechanics every write shares: the Store, and the
// versioned read-modify-write of a profile (mutate) with its retries.

// Cipher seals personal fields and computes blind indexes (pii.Cipher).
type Cipher interface {
	Seal(ctx context.Context, tenant, plaintext string) (string, error)
	Open(ctx context.Context, tenant, sealed string) (string, error)
	BlindIndex(ctx context.Context, tenant, kind, value string) (string, error)
}

// Store reads and writes customer data in the single table.
type Store struct {
	t      *store.Table
	pii    Cipher
	now    func() time.Time
	owners *owners // see ApplyCustomerOrder
}

// NewStore returns a Store.
func NewStore(t *store.Table, c Cipher, now func() time.Time) *Store {
	return &Store{t: t, pii: c, now: now, owners: &owners{m: map[string]string{}}}
}

// attempts bounds optimistic-concurrency retries on one customer; with the
// jittered backoff they span about a second, so a hot customer under load
// is retried in place rather than after the queue's visibility timeout.
const attempts = 16

// backoff waits a little, with jitter, before another optimistic attempt on
// a contended customer, so concurrent writers stop colliding in lockstep.
func backoff(ctx context.Context, attempt int) {
	d := time.Duration(mrand.Int64N(int64(5*time.Millisecond) << min(attempt, 5)))
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func versionIs(v int64) store.Cond {
	return store.If(expression.Name("version").Equal(expression.Value(v)))
}

// profile reads a profile; a missing one is apperr.NotFound.
func (s *Store) profile(ctx context.Context, tenant, cid string) (Profile, error) {
	var p Profile
	if err := s.t.Get(ctx, store.Key{PK: custPK(tenant, cid), SK: skProfile}, &p); err != nil {
		return Profile{}, fmt.Errorf("profile %s: %w", cid, err)
	}
	return p, nil
}

// Profile returns a customer's profile, following a merge to the survivor.
func (s *Store) Profile(ctx context.Context, tenant, cid string) (Profile, error) {
	p, err := s.profile(ctx, tenant, cid)
	for hops := 0; err == nil && p.MergedInto != "" && hops < 5; hops++ {
		p, err = s.profile(ctx, tenant, p.MergedInto)
	}
	return p, err
}

// mutate applies fn to the profile under optimistic concurrency, with extra
// transaction ops built from the profile as read. fn returns false to skip.
func (s *Store) mutate(ctx context.Context, tenant, cid string, fn func(p *Profile) (bool, []store.TxOp, error)) (Profile, bool, error) {
	for attempt := range attempts {
		p, err := s.profile(ctx, tenant, cid)
		if err != nil {
			return Profile{}, false, err
		}
		old := p.Version
		ok, ops, err := fn(&p)
		if err != nil || !ok {
			return p, false, err
		}
		p.Version, p.UpdatedAt = old+1, ts(s.now())
		err = s.t.Transact(ctx, append(ops, s.t.TxPut(p, versionIs(old)))...)
		if err == nil {
			return p, true, nil
		}
		if apperr.KindOf(err) != apperr.Conflict {
			return Profile{}, false, err
		}
		backoff(ctx, attempt)
	}
	return Profile{}, false, apperr.E(apperr.Transient, "customer %s is busy; retry", cid)
}

// decodeItem decodes an item read generically into its struct.
func decodeItem(it map[string]any, out any) error {
	av, err := attributevalue.MarshalMap(it)
	if err == nil {
		err = attributevalue.UnmarshalMap(av, out)
	}
	if err != nil {
		return fmt.Errorf("decode %v/%v: %w", it["PK"], it["SK"], err)
	}
	return nil
}
