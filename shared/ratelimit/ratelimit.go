package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
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

// Limiter takes tokens from buckets in the table.
type Limiter struct {
	db    store.DynamoDB
	table string
	now   func() time.Time
}

// New returns a Limiter over the table.
func New(t *store.Table, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{db: t.Client(), table: t.Name(), now: now}
}

// Take takes one token from bucket scope/key. It returns 0 when allowed, or
// how long to wait until a token is available.
func (l *Limiter) Take(ctx context.Context, scope, key string, r Rule) (time.Duration, error) {
	if r.Rate <= 0 || r.Burst < 1 {
		return 0, fmt.Errorf("ratelimit: rule %+v needs a positive rate and burst", r)
	}
	interval := int64(float64(time.Second/time.Millisecond) / r.Rate) // ms per token
	tau := interval * int64(r.Burst)                                  // ms of tolerance
	now := l.now().UnixMilli()
	k := map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: "RL#" + scope + "#" + key},
		"SK": &types.AttributeValueMemberS{Value: "RL"},
	}
	n := func(v int64) types.AttributeValue {
		return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
	}
	ttl := n((now+tau)/1e6 + 60)
	for attempt := 0; attempt < 3; attempt++ {
		// Idle (or new) bucket: it is full; the token is granted.
		_, err := l.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(l.table), Key: k,
			UpdateExpression:          aws.String("SET tat = :next, #ttl = :ttl"),
			ConditionExpression:       aws.String("attribute_not_exists(tat) OR tat <= :now"),
			ExpressionAttributeNames:  map[string]string{"#ttl": "ttl"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":next": n(now + interval), ":now": n(now), ":ttl": ttl},
		})
		if err == nil {
			return 0, nil
		}
		if !conditionFailed(err) {
			return 0, apperr.Wrap(apperr.Transient, err, "ratelimit: %s", scope)
		}
		// Busy bucket: grant while the arrival time stays within the burst.
		_, err = l.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(l.table), Key: k,
			UpdateExpression:                    aws.String("SET tat = tat + :interval, #ttl = :ttl"),
			ConditionExpression:                 aws.String("tat > :now AND tat <= :limit"),
			ExpressionAttributeNames:            map[string]string{"#ttl": "ttl"},
			ExpressionAttributeValues:           map[string]types.AttributeValue{":interval": n(interval), ":now": n(now), ":limit": n(now + tau - interval), ":ttl": ttl},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		if err == nil {
			return 0, nil
		}
		var ccf *types.ConditionalCheckFailedException
		if !errors.As(err, &ccf) {
			return 0, apperr.Wrap(apperr.Transient, err, "ratelimit: %s", scope)
		}
		tat, ok := tatOf(ccf.Item)
		if !ok {
			// Older emulators omit the item; read it.
			res, err := l.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(l.table), Key: k, ConsistentRead: aws.Bool(true)})
			if err != nil {
				return 0, apperr.Wrap(apperr.Transient, err, "ratelimit: %s", scope)
			}
			tat, _ = tatOf(res.Item)
		}
		if tat > now { // limited; else the bucket refilled meanwhile: retry
			return time.Duration(tat+interval-tau-now) * time.Microsecond, nil
		}
	}
	return 0, apperr.E(apperr.Transient, "ratelimit: %s bucket contended", scope)
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
