package idem

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/pulsehub/pulsehub/shared/retry"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/store"
)

// Record states.
const (
	InProgress = "INPROGRESS"
	Completed  = "COMPLETED"
)

// MaxResult is the largest result Do stores: DynamoDB items are at most
// 400 KB, and the record needs room for its key and bookkeeping.
const MaxResult = 350 << 10

// maxKey keeps the partition key well under DynamoDB's 2,048-byte limit;
// longer keys are hashed.
const maxKey = 1024

// Record is the item IDEM#<scope>#<key> / IDEM.
type Record struct {
	PK          string `dynamodbav:"PK"`
	SK          string `dynamodbav:"SK"`
	Status      string `dynamodbav:"status"`
	Result      []byte `dynamodbav:"result,omitempty"`
	CompletedAt string `dynamodbav:"completedAt,omitempty"`
	// Owner holds an INPROGRESS record while LeaseUntil (Unix ms) is ahead.
	Owner      string `dynamodbav:"owner,omitempty"`
	LeaseUntil int64  `dynamodbav:"leaseUntil,omitempty"`
	TTL        int64  `dynamodbav:"ttl"`
}

// Store runs work once per (scope, key).
type Store struct {
	t       *store.Table
	now     func() time.Time
	ttlAttr string
	lease   time.Duration
	pollMin time.Duration
	pollMax time.Duration
}

// Option changes a Store's defaults.
type Option func(*Store)

// WithLease sets how long an INPROGRESS claim lasts without renewal
// (default 30 s). While fn runs the claim is renewed every third of it, so
// only a crashed worker's claim expires; a duplicate then takes it over.
func WithLease(d time.Duration) Option { return func(s *Store) { s.lease = d } }

// WithPoll sets the backoff of duplicates waiting for an INPROGRESS record
// (default 20 ms doubling to 1 s).
func WithPoll(first, max time.Duration) Option {
	return func(s *Store) { s.pollMin, s.pollMax = first, max }
}

// New returns a Store over t. now is the clock (time.Now in production).
func New(t *store.Table, now func() time.Time, opts ...Option) *Store {
	s := &Store{t: t, now: now, ttlAttr: catalog.System().Table.TTLAttribute,
		lease: 30 * time.Second, pollMin: 20 * time.Millisecond, pollMax: time.Second}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Key returns the record key for scope and key.
func Key(scope, key string) store.Key {
	pk := "IDEM#" + scope + "#" + key
	if len(pk) > maxKey {
		sum := sha256.Sum256([]byte(key))
		pk = "IDEM#" + scope + "#sha256:" + hex.EncodeToString(sum[:])
	}
	return store.Key{PK: pk, SK: "IDEM"}
}

func check(scope, key string, ttl time.Duration) error {
	switch {
	case scope == "" || key == "":
		return apperr.E(apperr.Invalid, "idempotency scope and key are required")
	case len(scope) > 100:
		return apperr.E(apperr.Invalid, "idempotency scope %.20q… is longer than 100 bytes", scope)
	case ttl <= 0:
		return apperr.E(apperr.Invalid, "idempotency ttl must be positive, got %s", ttl)
	}
	return nil
}

// Do runs fn once for (scope, key) within ttl and returns its result.
//
// The first caller claims the key with a conditional write and runs fn; its
// result is stored as COMPLETED for ttl. A duplicate that finds the result
// returns it with replayed=true; one that finds the work in progress polls
// with backoff until the result is there (bounded by ctx; on timeout it gets
// apperr.Transient so its queue retries later). If fn fails or panics, the
// claim is deleted so a retry runs fn again, and the error is returned. If
// the worker dies, its claim's lease expires and a duplicate takes it over.
//
// A worker whose fn outlives ctx's patience of others is safe: the lease is
// renewed while fn runs. Results are capped at MaxResult bytes.
func (s *Store) Do(ctx context.Context, scope, key string, ttl time.Duration, fn func(ctx context.Context) ([]byte, error)) (result []byte, replayed bool, err error) {
	if err := check(scope, key, ttl); err != nil {
		return nil, false, err
	}
	k := Key(scope, key)
	owner := rand.Text()
	wait := s.pollMin
	for {
		err := s.claim(ctx, k, owner, ttl)
		if err == nil {
			res, err := s.run(ctx, k, owner, ttl, fn)
			if err != nil {
				return nil, false, fmt.Errorf("idem %s/%s: %w", scope, key, err)
			}
			return res, false, nil
		}
		if apperr.KindOf(err) != apperr.Conflict {
			return nil, false, fmt.Errorf("idem %s/%s: claim: %w", scope, key, err)
		}
		var rec Record
		err = s.t.Get(ctx, k, &rec)
		switch {
		case apperr.KindOf(err) == apperr.NotFound:
			continue // the holder failed and let go: claim again
		case err != nil:
			return nil, false, fmt.Errorf("idem %s/%s: read: %w", scope, key, err)
		case rec.Status == Completed && rec.TTL >= s.now().Unix():
			return rec.Result, true, nil
		}
		// In progress elsewhere (or claimable again, which the next claim finds out).
		if err := retry.Sleep(ctx, wait); err != nil {
			return nil, false, apperr.Wrap(apperr.Transient, err, "idem %s/%s: still in progress elsewhere", scope, key)
		}
		wait = min(wait*2, s.pollMax)
	}
}

// claim writes an INPROGRESS record owned by owner, if there is none, the
// one there has expired, or its holder's lease ran out.
func (s *Store) claim(ctx context.Context, k store.Key, owner string, ttl time.Duration) error {
	now := s.now()
	until := now.Add(s.lease)
	upd := expression.Set(expression.Name("status"), expression.Value(InProgress)).
		Set(expression.Name("owner"), expression.Value(owner)).
		Set(expression.Name("leaseUntil"), expression.Value(until.UnixMilli())).
		Set(expression.Name(s.ttlAttr), expression.Value(now.Add(max(ttl, s.lease)).Unix())).
		Remove(expression.Name("result")).Remove(expression.Name("completedAt"))
	free := expression.AttributeNotExists(expression.Name("PK")).
		Or(expression.Name(s.ttlAttr).LessThan(expression.Value(now.Unix()))).
		Or(expression.Name("status").Equal(expression.Value(InProgress)).And(
			expression.Name("leaseUntil").LessThan(expression.Value(now.UnixMilli()))))
	return s.t.Update(ctx, k, upd, nil, store.If(free))
}

func (s *Store) held(owner string) store.Cond {
	return store.If(expression.Name("owner").Equal(expression.Value(owner)).And(
		expression.Name("status").Equal(expression.Value(InProgress))))
}

// run calls fn under the claim, renewing its lease, and records the outcome.
func (s *Store) run(ctx context.Context, k store.Key, owner string, ttl time.Duration, fn func(context.Context) ([]byte, error)) (res []byte, err error) {
	stop := make(chan struct{})
	stopped := make(chan struct{})
	go s.heartbeat(ctx, k, owner, stop, stopped)
	release := func() {
		close(stop)
		<-stopped
	}
	defer func() {
		if p := recover(); p != nil {
			release()
			s.forget(ctx, k, owner)
			panic(p)
		}
	}()
	res, err = fn(ctx)
	release()
	if err == nil && len(res) > MaxResult {
		err = apperr.E(apperr.TooLarge, "result of %d bytes exceeds the %d-byte idempotency limit", len(res), MaxResult)
	}
	if err != nil {
		s.forget(ctx, k, owner)
		return nil, err
	}
	now := s.now()
	upd := expression.Set(expression.Name("status"), expression.Value(Completed)).
		Set(expression.Name("completedAt"), expression.Value(now.UTC().Format(time.RFC3339Nano))).
		Set(expression.Name(s.ttlAttr), expression.Value(now.Add(ttl).Unix())).
		Remove(expression.Name("owner")).Remove(expression.Name("leaseUntil"))
	if len(res) > 0 {
		upd = upd.Set(expression.Name("result"), expression.Value(res))
	}
	err = s.t.Update(context.WithoutCancel(ctx), k, upd, nil, s.held(owner))
	if apperr.KindOf(err) == apperr.Conflict {
		// Our lease expired and another worker took the key over, so fn
		// runs twice; its record will be the one duplicates see. Our work
		// is done and reporting an error would only cause a third run.
		return res, nil
	}
	if err != nil {
		return nil, fmt.Errorf("record result: %w", err)
	}
	return res, nil
}

// heartbeat renews the lease every third of it until stop is closed.
func (s *Store) heartbeat(ctx context.Context, k store.Key, owner string, stop <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	tick := time.NewTicker(s.lease / 3)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
			upd := expression.Set(expression.Name("leaseUntil"), expression.Value(s.now().Add(s.lease).UnixMilli()))
			if err := s.t.Update(ctx, k, upd, nil, s.held(owner)); apperr.KindOf(err) == apperr.Conflict {
				return // taken over; nothing left to renew
			}
		}
	}
}

// forget deletes our claim so that a retry runs fn again. If this fails the
// lease still expires and the key becomes claimable then.
func (s *Store) forget(ctx context.Context, k store.Key, owner string) {
	_ = s.t.Delete(context.WithoutCancel(ctx), k, s.held(owner))
}

// Seen marks (scope, key) for ttl and reports whether this call was the
// first to do so: a cheap dedupe for webhooks and events whose handling is
// itself safe to lose (it is enqueued right after). Unlike Do, a failure
// after Seen does not un-mark the key.
func (s *Store) Seen(ctx context.Context, scope, key string, ttl time.Duration) (first bool, err error) {
	if err := check(scope, key, ttl); err != nil {
		return false, err
	}
	now := s.now()
	upd := expression.Set(expression.Name("status"), expression.Value(Completed)).
		Set(expression.Name("completedAt"), expression.Value(now.UTC().Format(time.RFC3339Nano))).
		Set(expression.Name(s.ttlAttr), expression.Value(now.Add(ttl).Unix()))
	free := expression.AttributeNotExists(expression.Name("PK")).
		Or(expression.Name(s.ttlAttr).LessThan(expression.Value(now.Unix())))
	err = s.t.Update(ctx, Key(scope, key), upd, nil, store.If(free))
	switch {
	case err == nil:
		return true, nil
	case apperr.KindOf(err) == apperr.Conflict:
		return false, nil
	}
	return false, fmt.Errorf("idem.Seen %s/%s: %w", scope, key, err)
}

// Hold is a claim on (scope, key) that the caller writes in the same
// DynamoDB transaction as its own effect, instead of Do's separate claim:
// the effect and the claim commit together, so a redelivery finds the claim
// (or fails its condition) and never applies the effect twice. Result is
// kept with the claim and handed back to a redelivery; Complete marks the
// work that follows the transaction (side effects outside the table) done.
// If the holder dies first, the lease runs out and a redelivery sees the
// claim as Abandoned, so it runs those side effects again.
type Hold struct {
	Record Record
	Free   store.Cond // the claim's write condition: no live record there
}

// Hold returns a claim on (scope, key) owned by a fresh owner id, carrying result.
func (s *Store) Hold(scope, key string, ttl time.Duration, result []byte) (Hold, error) {
	if err := check(scope, key, ttl); err != nil {
		return Hold{}, err
	}
	now := s.now()
	k := Key(scope, key)
	rec := Record{PK: k.PK, SK: k.SK, Status: InProgress, Result: result, Owner: rand.Text(),
		LeaseUntil: now.Add(s.lease).UnixMilli(), TTL: now.Add(max(ttl, s.lease)).Unix()}
	free := expression.AttributeNotExists(expression.Name("PK")).
		Or(expression.Name(s.ttlAttr).LessThan(expression.Value(now.Unix()))).
		Or(expression.Name("status").Equal(expression.Value(InProgress)).And(
			expression.Name("leaseUntil").LessThan(expression.Value(now.UnixMilli()))))
	return Hold{Record: rec, Free: store.If(free)}, nil
}

// Outcome is what a record read back says about the work under its key.
type Outcome int

// Outcomes of State.
const (
	Free      Outcome = iota // no live record: the work has not been done
	Done                     // completed
	Busy                     // claimed and its holder's lease is running
	Abandoned                // claimed by a holder whose lease ran out: its effect may be committed, its follow-up not
)

// State says what r (read from the table; the zero Record when absent) means now.
func (s *Store) State(r Record) Outcome {
	now := s.now()
	switch {
	case r.PK == "" || r.TTL < now.Unix():
		return Free
	case r.Status == Completed:
		return Done
	case r.LeaseUntil >= now.UnixMilli():
		return Busy
	}
	return Abandoned
}

// Complete marks a held claim done for ttl, keeping its result. A claim
// already taken over by another owner is left to that owner.
func (s *Store) Complete(ctx context.Context, h Hold, ttl time.Duration) error {
	now := s.now()
	upd := expression.Set(expression.Name("status"), expression.Value(Completed)).
		Set(expression.Name("completedAt"), expression.Value(now.UTC().Format(time.RFC3339Nano))).
		Set(expression.Name(s.ttlAttr), expression.Value(now.Add(ttl).Unix())).
		Remove(expression.Name("owner")).Remove(expression.Name("leaseUntil"))
	err := s.t.Update(context.WithoutCancel(ctx), store.Key{PK: h.Record.PK, SK: h.Record.SK}, upd, nil, s.held(h.Record.Owner))
	if err != nil && apperr.KindOf(err) != apperr.Conflict {
		return fmt.Errorf("idem.Complete %s: %w", h.Record.PK, err)
	}
	return nil
}

// CompleteAll marks many held claims done for ttl in batch writes (one
// request per 25 instead of one each), for a consumer that finishes a whole
// queue batch before completing it. Unlike Complete the writes carry no
// condition. The claims are this holder's, written with its effects; if a
// lease ran out first and a redelivery re-held the claim to redo the
// follow-up work, marking it done only spares that redelivery work this
// holder has already finished.
func (s *Store) CompleteAll(ctx context.Context, holds []Hold, ttl time.Duration) error {
	if len(holds) == 0 {
		return nil
	}
	now := s.now()
	items := make([]any, len(holds))
	for i, h := range holds {
		r := h.Record
		r.Status, r.CompletedAt, r.TTL = Completed, now.UTC().Format(time.RFC3339Nano), now.Add(ttl).Unix()
		r.Owner, r.LeaseUntil = "", 0
		items[i] = r
	}
	if err := s.t.BatchPut(context.WithoutCancel(ctx), items); err != nil {
		return fmt.Errorf("idem.CompleteAll (%d claims): %w", len(holds), err)
	}
	return nil
}
