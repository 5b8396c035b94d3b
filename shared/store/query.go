package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Query selects items of one partition, on the table or a GSI.
type Query struct {
	Index    string // "" for the table, or "GSI1"/"GSI2"
	PK       string // partition key value
	SKPrefix string // optional begins_with on the sort key
	// SKFrom/SKTo select a sort-key range (inclusive); used instead of SKPrefix.
	SKFrom, SKTo string
	Filter       *expression.ConditionBuilder
	Limit        int32 // page size; 0 means 100
	Desc         bool
	Cursor       string // from a previous Page.Next
	Consistent   bool   // strongly consistent read (table only)
}

// Page is one page of results. Next is empty on the last page.
type Page[T any] struct {
	Items []T
	Next  string
}

func (q Query) keyNames() (pk, sk string) {
	if q.Index == "" {
		return "PK", "SK"
	}
	return q.Index + "PK", q.Index + "SK"
}

// scope binds a cursor to the query it came from, so a cursor cannot be
// replayed against another partition (another tenant) or index.
func (q Query) scope() string {
	return q.Index + "\x00" + q.PK + "\x00" + q.SKPrefix + "\x00" + q.SKFrom + "\x00" + q.SKTo
}

// QueryPage runs one page of q and decodes items into T.
func QueryPage[T any](ctx context.Context, t *Table, q Query) (Page[T], error) {
	pkName, skName := q.keyNames()
	kc := expression.Key(pkName).Equal(expression.Value(q.PK))
	switch {
	case q.SKPrefix != "":
		kc = kc.And(expression.Key(skName).BeginsWith(q.SKPrefix))
	case q.SKFrom != "" && q.SKTo != "":
		kc = kc.And(expression.Key(skName).Between(expression.Value(q.SKFrom), expression.Value(q.SKTo)))
	case q.SKFrom != "":
		kc = kc.And(expression.Key(skName).GreaterThanEqual(expression.Value(q.SKFrom)))
	case q.SKTo != "":
		kc = kc.And(expression.Key(skName).LessThanEqual(expression.Value(q.SKTo)))
	}
	b := expression.NewBuilder().WithKeyCondition(kc)
	if q.Filter != nil {
		b = b.WithFilter(*q.Filter)
	}
	expr, err := b.Build()
	if err != nil {
		return Page[T]{}, fmt.Errorf("store: query expression: %w", err)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(t.name),
		KeyConditionExpression:    expr.KeyCondition(),
		FilterExpression:          expr.Filter(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		Limit:                     aws.Int32(limit),
		ScanIndexForward:          aws.Bool(!q.Desc),
	}
	if q.Index != "" {
		in.IndexName = aws.String(q.Index)
	} else if q.Consistent {
		in.ConsistentRead = aws.Bool(true)
	}
	if q.Cursor != "" {
		start, err := t.cursor.decode(q.scope(), q.Cursor)
		if err != nil {
			return Page[T]{}, err
		}
		in.ExclusiveStartKey = start
	}
	res, err := t.db.Query(ctx, in)
	if err != nil {
		return Page[T]{}, classify(err, "query %s %s", q.Index, q.PK)
	}
	var page Page[T]
	if err := attributevalue.UnmarshalListOfMaps(res.Items, &page.Items); err != nil {
		return Page[T]{}, fmt.Errorf("store: decode query %s: %w", q.PK, err)
	}
	if len(res.LastEvaluatedKey) > 0 {
		page.Next, err = t.cursor.encode(q.scope(), res.LastEvaluatedKey)
		if err != nil {
			return Page[T]{}, err
		}
	}
	return page, nil
}

// QueryAll follows cursors until the partition (or max items) is exhausted.
// Use it only where the result is known to be small; stream with QueryPage otherwise.
func QueryAll[T any](ctx context.Context, t *Table, q Query, max int) ([]T, error) {
	var all []T
	for {
		p, err := QueryPage[T](ctx, t, q)
		if err != nil {
			return nil, err
		}
		all = append(all, p.Items...)
		if p.Next == "" || (max > 0 && len(all) >= max) {
			if max > 0 && len(all) > max {
				all = all[:max]
			}
			return all, nil
		}
		q.Cursor = p.Next
	}
}
