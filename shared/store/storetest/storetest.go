// Package storetest gives tests a fresh, provisioned table on the local
// DynamoDB (shared/testenv), so every package's tests start from the same
// catalog definition without repeating the setup.
package storetest

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/store"
	"github.com/pulsehub/pulsehub/shared/testenv"
)

// cursorSecret signs the cursors of tables made here; fixed, so tests are
// repeatable, and never used outside tests.
const cursorSecret = "test-cursor"

// Provision creates a table named after the test (prefix + a random part)
// exactly as the catalog describes it, and returns the client and name for
// tests that need raw DynamoDB access.
func Provision(tb testing.TB, prefix string) (*dynamodb.Client, string) {
	tb.Helper()
	db := testenv.DynamoDB(tb)
	name := testenv.Name(tb, prefix)
	if err := store.Provision(context.Background(), db, catalog.System().Table, name); err != nil {
		tb.Fatalf("storetest: provision %s: %v", name, err)
	}
	return db, name
}

// Table is Provision wrapped in a store.Table.
func Table(tb testing.TB, prefix string) *store.Table {
	tb.Helper()
	db, name := Provision(tb, prefix)
	return store.New(db, name, []byte(cursorSecret))
}
