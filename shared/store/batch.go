package store

import (
	"context"
	"fmt"
	"time"

	"github.com/pulsehub/pulsehub/shared/retry"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

// DynamoDB's own limits on one BatchWriteItem / BatchGetItem request.
const (
	batchWriteMax = 25
	batchGetMax   = 100
	// batchAttempts bounds the retries of unprocessed items (throttling);
	// after that the caller gets apperr.Transient and its queue retries.
	batchAttempts = 8
)

// BatchPut writes items (structs with PK and SK fields) without conditions,
// in requests of 25, retrying unprocessed items with exponential backoff.
// Two items with the same key keep the last one, as consecutive Puts would;
// DynamoDB itself rejects duplicate keys within one request. BatchPut is not
// atomic: on error some items may have been written. Use Transact for
// all-or-nothing writes.
func (t *Table) BatchPut(ctx context.Context, items []any) error {
	reqs := make([]types.WriteRequest, 0, len(items))
	index := make(map[Key]int, len(items))
	for _, item := range items {
		av, err := attributevalue.MarshalMap(item)
		if err != nil {
			return fmt.Errorf("store: encode %T: %w", item, err)
		}
		k, err := keyOf(av)
		if err != nil {
			return fmt.Errorf("store: batch put %T: %w", item, err)
		}
		req := types.WriteRequest{PutRequest: &types.PutRequest{Item: av}}
		if i, dup := index[k]; dup {
			reqs[i] = req
			continue
		}
		index[k] = len(reqs)
		reqs = append(reqs, req)
	}
	return t.writeAll(ctx, "put", reqs)
}

// BatchDelete deletes the items at keys (each key once; a missing item is
// no error), in requests of 25, retrying unprocessed deletes like BatchPut.
// It is not atomic either.
func (t *Table) BatchDelete(ctx context.Context, keys []Key) error {
	seen := make(map[Key]bool, len(keys))
	reqs := make([]types.WriteRequest, 0, len(keys))
	for _, k := range keys {
		if k.PK == "" || k.SK == "" {
			return fmt.Errorf("store: batch delete: key %+v has an empty PK or SK", k)
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: k.av()}})
	}
	return t.writeAll(ctx, "delete", reqs)
}

// writeAll sends reqs in requests of 25.
func (t *Table) writeAll(ctx context.Context, op string, reqs []types.WriteRequest) error {
	for start := 0; start < len(reqs); start += batchWriteMax {
		chunk := reqs[start:min(start+batchWriteMax, len(reqs))]
		if err := t.batchWrite(ctx, chunk); err != nil {
			return fmt.Errorf("store: batch %s items %d..%d of %d: %w", op, start, start+len(chunk)-1, len(reqs), err)
		}
	}
	return nil
}

func (t *Table) batchWrite(ctx context.Context, reqs []types.WriteRequest) error {
	pending := map[string][]types.WriteRequest{t.name: reqs}
	for attempt := 0; ; attempt++ {
		res, err := t.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
		if err != nil {
			return classify(err, "batch write of %d", len(pending[t.name]))
		}
		if len(res.UnprocessedItems[t.name]) == 0 {
			return nil
		}
		pending = res.UnprocessedItems
		if attempt+1 >= batchAttempts {
			return apperr.E(apperr.Transient, "store: %d items still unprocessed after %d attempts", len(pending[t.name]), batchAttempts)
		}
		if err := retry.Sleep(ctx, batchBackoff.Delay(attempt)); err != nil {
			return apperr.Wrap(apperr.Transient, err, "store: batch write interrupted")
		}
	}
}

// BatchGet reads the items at keys, in requests of 100 (strongly
// consistent), retrying unprocessed keys with backoff. Missing items are
// left out, and the order of the result is not the order of keys; duplicate
// keys are read once.
func BatchGet[T any](ctx context.Context, t *Table, keys []Key) ([]T, error) {
	seen := make(map[Key]bool, len(keys))
	uniq := make([]map[string]types.AttributeValue, 0, len(keys))
	for _, k := range keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		uniq = append(uniq, k.av())
	}
	var out []T
	for start := 0; start < len(uniq); start += batchGetMax {
		chunk := uniq[start:min(start+batchGetMax, len(uniq))]
		items, err := t.batchGet(ctx, chunk)
		if err != nil {
			return nil, fmt.Errorf("store: batch get keys %d..%d of %d: %w", start, start+len(chunk)-1, len(uniq), err)
		}
		var decoded []T
		if err := attributevalue.UnmarshalListOfMaps(items, &decoded); err != nil {
			return nil, fmt.Errorf("store: decode batch get: %w", err)
		}
		out = append(out, decoded...)
	}
	return out, nil
}

func (t *Table) batchGet(ctx context.Context, keys []map[string]types.AttributeValue) ([]map[string]types.AttributeValue, error) {
	consistent := true
	pending := map[string]types.KeysAndAttributes{t.name: {Keys: keys, ConsistentRead: &consistent}}
	var items []map[string]types.AttributeValue
	for attempt := 0; ; attempt++ {
		res, err := t.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pending})
		if err != nil {
			return nil, classify(err, "batch get of %d", len(pending[t.name].Keys))
		}
		items = append(items, res.Responses[t.name]...)
		if len(res.UnprocessedKeys[t.name].Keys) == 0 {
			return items, nil
		}
		pending = res.UnprocessedKeys
		if attempt+1 >= batchAttempts {
			return nil, apperr.E(apperr.Transient, "store: %d keys still unprocessed after %d attempts", len(pending[t.name].Keys), batchAttempts)
		}
		if err := retry.Sleep(ctx, batchBackoff.Delay(attempt)); err != nil {
			return nil, apperr.Wrap(apperr.Transient, err, "store: batch get interrupted")
		}
	}
}

func keyOf(av map[string]types.AttributeValue) (Key, error) {
	pk, ok1 := av["PK"].(*types.AttributeValueMemberS)
	sk, ok2 := av["SK"].(*types.AttributeValueMemberS)
	if !ok1 || !ok2 || pk.Value == "" || sk.Value == "" {
		return Key{}, fmt.Errorf("item has no string PK and SK")
	}
	return Key{PK: pk.Value, SK: sk.Value}, nil
}

// batchBackoff paces retries of unprocessed items: 50 ms doubling, capped at 2 s.
var batchBackoff = retry.Backoff{Base: 50 * time.Millisecond, Max: 2 * time.Second}
