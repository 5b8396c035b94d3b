package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/store"
)

// Rule is a bucket of Burst tokens refilled at Rate tokens per second.
type Rule struct {
	Rate  float64
	Burst int
}

// Lease sizing. An instance leases at most LeaseWindow's worth of the rate
// (and at most half the burst, so two instances can share a small bucket);
// leased tokens not spent within LeaseLifetime are dropped.
const (
	LeaseWindow   = 100 * time.Millisecond
	LeaseLifetime = time.Second
)

// MaxLease is the most tokens one instance takes from the shared bucket in
// one write: Rate × LeaseWindow, at most Burst/2, at least 1.
func (r Rule) MaxLease() int {
	n := min(int(r.Rate*LeaseWindow.Seconds()), r.Burst/2)
	return max(n, 1)
}

func (r Rule) check() error {
	if r.Rate <= 0 || r.Burst < 1 {
		return fmt.Errorf("ratelimit: rule %+v needs a positive rate and burst", r)
	}
	return nil
}

// maxBuckets bounds the buckets an instance remembers; beyond it, idle
// ones are forgotten (dropping leased tokens only makes limits stricter).
const maxBuckets = 4096

// Limiter takes tokens from buckets in the table, through local leases.
// It is safe for concurrent use.
type Limiter struct {
	db    store.DynamoDB
	table string
	now   func() time.Time

	mu     sync.Mutex
	leases map[string]*lease
}

// lease is this instance's share of one bucket.
type lease struct {
	tokens  int       // leased and not yet spent
	expires time.Time // tokens are dropped after this
	size    int       // tokens to ask for next time
	tat     int64     // last seen arrival time (µs): the shared value is at least this
	// limitedUntil: the shared bucket has no token before this time. It is
	// exact, not a guess: other instances only move the arrival time later.
	limitedUntil time.Time
	leasing      chan struct{} // closed when the lease in flight returns; nil if none
}

// New returns a Limiter over the table.
func New(t *store.Table, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{db: t.Client(), table: t.Name(), now: now, leases: map[string]*lease{}}
}

// Take takes one token from bucket scope/key. It returns 0 when allowed, or
// how long to wait until a token is available.
//
// Most calls spend a token this instance already leased and touch no
// table. When none is left, one conditional write leases a batch (see
// MaxLease; it starts at 1 and doubles while the instance uses up its
// leases) while concurrent callers for the same bucket wait for it.
func (l *Limiter) Take(ctx context.Context, scope, key string, r Rule) (time.Duration, error) {
	if err := r.check(); err != nil {
		return 0, err
	}
	id := scope + "#" + key
	for {
		l.mu.Lock()
		ls := l.bucket(id)
		now := l.now()
		if ls.tokens > 0 && now.Before(ls.expires) {
			ls.tokens--
			l.mu.Unlock()
			return 0, nil
		}
		if now.Before(ls.limitedUntil) {
			l.mu.Unlock()
			return ls.limitedUntil.Sub(now), nil
		}
		if ch := ls.leasing; ch != nil {
			l.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return 0, apperr.Wrap(apperr.Transient, ctx.Err(), "ratelimit: %s", scope)
			}
		}
		switch {
		case ls.tokens > 0: // expired unspent: this instance asked for too many
			ls.size = max(1, ls.size/2)
		case now.Before(ls.expires): // spent within its lifetime: ask for more
			ls.size = min(2*ls.size, r.MaxLease())
		}
		ls.tokens = 0
		ls.size = min(ls.size, r.MaxLease())
		ch := make(chan struct{})
		ls.leasing = ch
		size, hint := ls.size, ls.tat
		l.mu.Unlock()

		got, tat, wait, err := l.lease(ctx, scope, id, r, size, now.UnixMicro(), hint)

		l.mu.Lock()
		ls.leasing = nil
		close(ch)
		if err != nil {
			l.mu.Unlock()
			return 0, err
		}
		ls.tat = tat
		if got == 0 {
			ls.limitedUntil = now.Add(wait)
			l.mu.Unlock()
			return wait, nil
		}
		ls.tokens = got - 1
		ls.expires = now.Add(LeaseLifetime)
		l.mu.Unlock()
		return 0, nil
	}
}

// bucket returns the lease state for id, forgetting idle buckets when
// there are too many. l.mu is held.
func (l *Limiter) bucket(id string) *lease {
	if ls := l.leases[id]; ls != nil {
		return ls
	}
	if len(l.leases) >= maxBuckets {
		now := l.now()
		for k, ls := range l.leases {
			if ls.leasing == nil && !now.Before(ls.expires) && !now.Before(ls.limitedUntil) {
				delete(l.leases, k)
			}
		}
		for k, ls := range l.leases {
			if len(l.leases) < maxBuckets {
				break
			}
			if ls.leasing == nil {
				delete(l.leases, k)
			}
		}
	}
	ls := &lease{size: 1}
	l.leases[id] = ls
	return ls
}

// lease takes up to n tokens from the shared bucket with GCRA: the bucket
// is one number, tat (the theoretical arrival time, µs); taking k tokens
// moves it to max(tat, now) + k·T and is allowed while that stays within
// τ = Burst·T of now. It returns the tokens taken (fewer than n when fewer
// are left, 0 when none), the arrival time it saw or set, and when none
// were taken, how long until one is.
func (l *Limiter) lease(ctx context.Context, scope, id string, r Rule, n int, now, hint int64) (int, int64, time.Duration, error) {
	interval := max(1, int64(1e6/r.Rate)) // µs per token
	tau := interval * int64(r.Burst)
	k := map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: "RL#" + id},
		"SK": &types.AttributeValueMemberS{Value: "RL"},
	}
	num := func(v int64) types.AttributeValue {
		return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
	}
	ttl := num((now+tau)/1e6 + 60) // idle (full) by then: the item may go
	busy := hint > now
	for attempt := 0; attempt < 5; attempt++ {
		take := interval * int64(n)
		if !busy {
			// Idle (or new) bucket: it is full.
			_, err := l.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName: aws.String(l.table), Key: k,
				UpdateExpression:          aws.String("SET tat = :next, #ttl = :ttl"),
				ConditionExpression:       aws.String("attribute_not_exists(tat) OR tat <= :now"),
				ExpressionAttributeNames:  map[string]string{"#ttl": "ttl"},
				ExpressionAttributeValues: map[string]types.AttributeValue{":next": num(now + take), ":now": num(now), ":ttl": ttl},
			})
			if err == nil {
				return n, now + take, 0, nil
			}
			if !conditionFailed(err) {
				return 0, 0, 0, apperr.Wrap(apperr.Transient, err, "ratelimit: %s", scope)
			}
			busy = true
			continue
		}
		res, err := l.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(l.table), Key: k,
			UpdateExpression:                    aws.String("SET tat = tat + :take, #ttl = :ttl"),
			ConditionExpression:                 aws.String("tat > :now AND tat <= :limit"),
			ExpressionAttributeNames:            map[string]string{"#ttl": "ttl"},
			ExpressionAttributeValues:           map[string]types.AttributeValue{":take": num(take), ":now": num(now), ":limit": num(now + tau - take), ":ttl": ttl},
			ReturnValues:                        types.ReturnValueUpdatedNew,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		if err == nil {
			tat, _ := tatOf(res.Attributes)
			return n, tat, 0, nil
		}
		var ccf *types.ConditionalCheckFailedException
		if !errors.As(err, &ccf) {
			return 0, 0, 0, apperr.Wrap(apperr.Transient, err, "ratelimit: %s", scope)
		}
		tat, ok := tatOf(ccf.Item)
		if !ok {
			// Some emulators omit the item; read it.
			got, err := l.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(l.table), Key: k, ConsistentRead: aws.Bool(true)})
			if err != nil {
				return 0, 0, 0, apperr.Wrap(apperr.Transient, err, "ratelimit: %s", scope)
			}
			tat, _ = tatOf(got.Item)
		}
		if tat <= now { // refilled (or gone) meanwhile
			busy = false
			continue
		}
		left := (now + tau - tat) / interval
		if left < 1 {
			return 0, tat, time.Duration(tat+interval-tau-now) * time.Microsecond, nil
		}
		n = min(n, int(left))
	}
	return 0, 0, 0, apperr.E(apperr.Transient, "ratelimit: %s bucket contended", scope)
}

func conditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

func tatOf(item map[string]types.AttributeValue) (int64, bool) {
	v, ok := item["tat"].(*types.AttributeValueMemberN)
	if !ok {
		return 0, false
	}
	t, err := strconv.ParseInt(v.Value, 10, 64)
	return t, err == nil
}
