package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

// TxOp is one write of a transaction.
type TxOp struct {
	item types.TransactWriteItem
	err  error
}

// TxPut puts item under optional conditions.
func (t *Table) TxPut(item any, cond ...Cond) TxOp {
	av, err := attributevalue.MarshalMap(item)
	if err != nil {
		return TxOp{err: fmt.Errorf("store: encode %T: %w", item, err)}
	}
	c, err := conditionOf(cond)
	if err != nil {
		return TxOp{err: err}
	}
	return TxOp{item: types.TransactWriteItem{Put: &types.Put{TableName: &t.name, Item: av,
		ConditionExpression: c.expr, ExpressionAttributeNames: c.names, ExpressionAttributeValues: c.values}}}
}

// TxUpdate applies an update under optional conditions.
func (t *Table) TxUpdate(key Key, upd expression.UpdateBuilder, cond ...Cond) TxOp {
	b := expression.NewBuilder().WithUpdate(upd)
	if c := combine(cond); c != nil {
		b = b.WithCondition(*c)
	}
	expr, err := b.Build()
	if err != nil {
		return TxOp{err: err}
	}
	return TxOp{item: types.TransactWriteItem{Update: &types.Update{
		TableName: &t.name, Key: key.av(), UpdateExpression: expr.Update(),
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}}}
}

// TxDelete deletes key under optional conditions.
func (t *Table) TxDelete(key Key, cond ...Cond) TxOp {
	c, err := conditionOf(cond)
	if err != nil {
		return TxOp{err: err}
	}
	return TxOp{item: types.TransactWriteItem{Delete: &types.Delete{TableName: &t.name, Key: key.av(),
		ConditionExpression: c.expr, ExpressionAttributeNames: c.names, ExpressionAttributeValues: c.values}}}
}

// TxCheck asserts a condition on key without writing it.
func (t *Table) TxCheck(key Key, cond Cond) TxOp {
	c, err := conditionOf([]Cond{cond})
	if err != nil {
		return TxOp{err: err}
	}
	return TxOp{item: types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{TableName: &t.name, Key: key.av(),
		ConditionExpression: c.expr, ExpressionAttributeNames: c.names, ExpressionAttributeValues: c.values}}}
}

// Transact writes all ops atomically (at most 100). A failed condition is
// apperr.Conflict and nothing is written.
func (t *Table) Transact(ctx context.Context, ops ...TxOp) error {
	if len(ops) == 0 {
		return nil
	}
	if len(ops) > 100 {
		return apperr.E(apperr.Invalid, "store: transaction of %d items exceeds DynamoDB's limit of 100", len(ops))
	}
	items := make([]types.TransactWriteItem, len(ops))
	for i, op := range ops {
		if op.err != nil {
			return op.err
		}
		items[i] = op.item
	}
	if _, err := t.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items}); err != nil {
		return classify(err, "transaction of %d", len(ops))
	}
	return nil
}
