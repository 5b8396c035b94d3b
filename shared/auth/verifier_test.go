package auth

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/store"
	"github.com/pulsehub/pulsehub/shared/testenv"
)

// readCounter counts the reads that reach DynamoDB.
type readCounter struct {
	store.DynamoDB
	reads atomic.Int32
}

func (r *readCounter) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	r.reads.Add(1)
	return r.DynamoDB.GetItem(ctx, in, o...)
}

// TestSessionCacheRevocation: three instances over one table — a, which
// caches valid logins for SessionCacheTTL; b, which handles the logout;
// and ws, the uncached $connect verifier. The revoking instance and ws
// refuse at once; a refuses once SessionCacheTTL has passed (an injected
// clock, no sleeping), and from then on without reading.
func TestSessionCacheRevocation(t *testing.T) {
	ctx := context.Background()
	db := testenv.DynamoDB(t)
	name := testenv.Name(t, "auth")
	if err := store.Provision(ctx, db, catalog.System().Table, name); err != nil {
		t.Fatal(err)
	}
	counted := &readCounter{DynamoDB: db}
	table := store.New(counted, name, nil)
	var nowMu atomic.Int64
	nowMu.Store(time.Now().UnixNano())
	clock := func() time.Time { return time.Unix(0, nowMu.Load()) }
	advance := func(d time.Duration) { nowMu.Add(int64(d)) }
	tok := newTestTokens(t, clock)

	fk := familyKey("t1", "f1")
	exp := clock().Add(time.Hour)
	if err := table.Put(ctx, familyItem{PK: fk.PK, SK: fk.SK, Tenant: "t1", UserID: "u1", ExpiresAt: exp, TTL: store.TTL(exp)}); err != nil {
		t.Fatal(err)
	}
	token, _, err := tok.Issue(Principal{TenantID: "t1", UserID: "u1", Role: Viewer}, "f1")
	if err != nil {
		t.Fatal(err)
	}
	a := NewVerifier(tok, table, SessionCacheTTL)
	b := NewVerifier(tok, table, SessionCacheTTL)
	ws := NewVerifier(tok, table, 0)
	accepts := func(v *Verifier) bool {
		t.Helper()
		_, err := v.Verify(ctx, token)
		if err != nil && apperr.KindOf(err) != apperr.Unauthorized {
			t.Fatal(err)
		}
		return err == nil
	}

	for _, v := range []*Verifier{a, b, ws} {
		if !accepts(v) {
			t.Fatal("valid login refused")
		}
	}
	before := counted.reads.Load()
	for range 100 {
		accepts(a)
	}
	if n := counted.reads.Load() - before; n != 0 {
		t.Fatalf("%d reads for 100 checks within the cache lifetime, want 0", n)
	}

	svc := &Service{table: table, verifier: b}
	if err := svc.revokeFamily(ctx, "t1", "f1", "logout"); err != nil {
		t.Fatal(err)
	}
	if accepts(b) {
		t.Fatal("the instance that revoked the login still accepts it")
	}
	if accepts(ws) {
		t.Fatal("the uncached verifier accepts a revoked login")
	}
	advance(SessionCacheTTL - time.Millisecond)
	if !accepts(a) {
		t.Fatal("a refused before its cache expired: the test no longer measures the documented delay")
	}
	advance(time.Millisecond)
	if accepts(a) {
		t.Fatalf("a still accepts a revoked login after SessionCacheTTL (%v)", SessionCacheTTL)
	}
	before = counted.reads.Load()
	advance(time.Hour)
	if accepts(a) || counted.reads.Load() != before {
		t.Fatal("a revoked login must stay refused, without reading again")
	}
}

func TestVerifierRefusals(t *testing.T) {
	ctx := context.Background()
	db := testenv.DynamoDB(t)
	name := testenv.Name(t, "auth")
	if err := store.Provision(ctx, db, catalog.System().Table, name); err != nil {
		t.Fatal(err)
	}
	table := store.New(db, name, nil)
	tok := newTestTokens(t, nil)
	fk := familyKey("t1", "f1")
	if err := table.Put(ctx, familyItem{PK: fk.PK, SK: fk.SK, Tenant: "t1", UserID: "u1"}); err != nil {
		t.Fatal(err)
	}
	v := NewVerifier(tok, table, SessionCacheTTL)
	for _, tc := range []struct {
		name string
		p    Principal
		sid  string
	}{
		{"unknown session", Principal{TenantID: "t1", UserID: "u1", Role: Viewer}, "f-none"},
		{"session of another user", Principal{TenantID: "t1", UserID: "u2", Role: Viewer}, "f1"},
		{"session of another tenant", Principal{TenantID: "t2", UserID: "u1", Role: Viewer}, "f1"},
	} {
		token, _, _ := tok.Issue(tc.p, tc.sid)
		for i := range 2 { // the second time from the cache, if any
			if _, err := v.Verify(ctx, token); apperr.KindOf(err) != apperr.Unauthorized {
				t.Errorf("%s (call %d): %v, want Unauthorized", tc.name, i+1, err)
			}
		}
	}
}
