package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

// DynamoDB is the subset of the DynamoDB client the store uses.
type DynamoDB interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	BatchWriteItem(context.Context, *dynamodb.BatchWriteItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
}

// Key is an item's primary key.
type Key struct {
	PK string `dynamodbav:"PK"`
	SK string `dynamodbav:"SK"`
}

func (k Key) av() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: k.PK},
		"SK": &types.AttributeValueMemberS{Value: k.SK},
	}
}

// Table is a handle on the single table.
type Table struct {
	db     DynamoDB
	name   string
	cursor cursorCodec
}

// New returns a Table. cursorSecret signs pagination cursors.
func New(db DynamoDB, name string, cursorSecret []byte) *Table {
	return &Table{db: db, name: name, cursor: cursorCodec{secret: cursorSecret}}
}

// Name is the physical table name.
func (t *Table) Name() string { return t.name }

// Client exposes the underlying client for the few callers (provisioning,
// migrations) that need raw operations.
func (t *Table) Client() DynamoDB { return t.db }

// Cond is an optional condition on a write.
type Cond struct{ b *expression.ConditionBuilder }

// IfAbsent makes a put fail with apperr.Conflict when the item exists.
func IfAbsent() Cond {
	c := expression.AttributeNotExists(expression.Name("PK"))
	return Cond{&c}
}

// IfExists makes a write fail with apperr.NotFound-like Conflict when the item is missing.
func IfExists() Cond {
	c := expression.AttributeExists(expression.Name("PK"))
	return Cond{&c}
}

// If wraps any condition built with the expression package.
func If(c expression.ConditionBuilder) Cond { return Cond{&c} }

// Get reads one item into out. A missing item is apperr.NotFound.
func (t *Table) Get(ctx context.Context, key Key, out any) error {
	res, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &t.name, Key: key.av(), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return classify(err, "get %s/%s", key.PK, key.SK)
	}
	if res.Item == nil {
		return apperr.E(apperr.NotFound, "not found")
	}
	if err := attributevalue.UnmarshalMap(res.Item, out); err != nil {
		return fmt.Errorf("store: decode %s/%s: %w", key.PK, key.SK, err)
	}
	return nil
}

// Put writes item (a struct with PK and SK fields), optionally under a condition.
// A failed condition is apperr.Conflict.
func (t *Table) Put(ctx context.Context, item any, cond ...Cond) error {
	av, err := attributevalue.MarshalMap(item)
	if err != nil {
		return fmt.Errorf("store: encode %T: %w", item, err)
	}
	in := &dynamodb.PutItemInput{TableName: &t.name, Item: av}
	c, err := conditionOf(cond)
	if err != nil {
		return err
	}
	in.ConditionExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues = c.expr, c.names, c.values
	if _, err := t.db.PutItem(ctx, in); err != nil {
		return classify(err, "put %T", item)
	}
	return nil
}

// Update applies an update expression and, when out is non-nil, decodes the
// item as it is after the update.
func (t *Table) Update(ctx context.Context, key Key, upd expression.UpdateBuilder, out any, cond ...Cond) error {
	b := expression.NewBuilder().WithUpdate(upd)
	if c := combine(cond); c != nil {
		b = b.WithCondition(*c)
	}
	expr, err := b.Build()
	if err != nil {
		return fmt.Errorf("store: update expression: %w", err)
	}
	in := &dynamodb.UpdateItemInput{
		TableName: &t.name, Key: key.av(),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}
	if out != nil {
		in.ReturnValues = types.ReturnValueAllNew
	}
	res, err := t.db.UpdateItem(ctx, in)
	if err != nil {
		return classify(err, "update %s/%s", key.PK, key.SK)
	}
	if out != nil {
		if err := attributevalue.UnmarshalMap(res.Attributes, out); err != nil {
			return fmt.Errorf("store: decode %s/%s: %w", key.PK, key.SK, err)
		}
	}
	return nil
}

// Delete removes an item; deleting a missing item is not an error unless a
// condition says so.
func (t *Table) Delete(ctx context.Context, key Key, cond ...Cond) error {
	c, err := conditionOf(cond)
	if err != nil {
		return err
	}
	in := &dynamodb.DeleteItemInput{TableName: &t.name, Key: key.av(),
		ConditionExpression: c.expr, ExpressionAttributeNames: c.names, ExpressionAttributeValues: c.values}
	if _, err := t.db.DeleteItem(ctx, in); err != nil {
		return classify(err, "delete %s/%s", key.PK, key.SK)
	}
	return nil
}

func combine(conds []Cond) *expression.ConditionBuilder {
	var out *expression.ConditionBuilder
	for _, c := range conds {
		if c.b == nil {
			continue
		}
		if out == nil {
			v := *c.b
			out = &v
			continue
		}
		v := out.And(*c.b)
		out = &v
	}
	return out
}

// condition is a built condition expression; all fields are nil without one.
type condition struct {
	expr   *string
	names  map[string]string
	values map[string]types.AttributeValue
}

// conditionOf builds the AND of conds, shared by every conditional write.
func conditionOf(conds []Cond) (condition, error) {
	c := combine(conds)
	if c == nil {
		return condition{}, nil
	}
	expr, err := expression.NewBuilder().WithCondition(*c).Build()
	if err != nil {
		return condition{}, fmt.Errorf("store: condition: %w", err)
	}
	return condition{expr.Condition(), expr.Names(), expr.Values()}, nil
}

// classify turns SDK errors into apperr kinds once, here.
func classify(err error, format string, args ...any) error {
	op := fmt.Sprintf(format, args...)
	var ccf *types.ConditionalCheckFailedException
	var tce *types.TransactionCanceledException
	var tput *types.ProvisionedThroughputExceededException
	var rle *types.RequestLimitExceeded
	var rnf *types.ResourceNotFoundException
	var apiErr smithy.APIError
	switch {
	case errors.As(err, &ccf):
		return apperr.Wrap(apperr.Conflict, err, "condition failed")
	case errors.As(err, &tce):
		for _, r := range tce.CancellationReasons {
			if aws.ToString(r.Code) == "ConditionalCheckFailed" {
				return apperr.Wrap(apperr.Conflict, err, "condition failed")
			}
		}
		return apperr.Wrap(apperr.Transient, err, "store: %s: transaction cancelled", op)
	case errors.As(err, &tput), errors.As(err, &rle):
		return apperr.Wrap(apperr.Transient, err, "store: %s: throttled", op)
	case errors.As(err, &rnf):
		return fmt.Errorf("store: %s: table missing (provision it first): %w", op, err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return apperr.Wrap(apperr.Transient, err, "store: %s", op)
	case errors.As(err, &apiErr) && apiErr.ErrorFault() == smithy.FaultServer:
		return apperr.Wrap(apperr.Transient, err, "store: %s", op)
	}
	return fmt.Errorf("store: %s: %w", op, err)
}
