package audit_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/audit"
	"github.com/pulsehub/pulsehub/shared/logging"
	"github.com/pulsehub/pulsehub/shared/store/storetest"
)

func TestRecordList(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 31, 23, 59, 0, 0, time.UTC)
	l := audit.New(storetest.Table(t, "audit"), func() time.Time { return now }, slog.New(slog.DiscardHandler))
	rctx := logging.With(ctx, logging.RequestID("req-1"))
	for i, action := range []string{audit.Login, audit.LoginFailed, audit.CustomerErased} {
		if err := l.Record(rctx, "t1", audit.Entry{Action: action, At: now.Add(time.Duration(i) * time.Second), Target: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Record(ctx, "t2", audit.Entry{Action: audit.Login}); err != nil {
		t.Fatal(err)
	}
	p1, err := l.List(ctx, "t1", "", "", 2)
	if err != nil || len(p1.Items) != 2 || p1.Items[0].Action != audit.CustomerErased || p1.Items[0].RequestID != "req-1" || p1.Next == "" {
		t.Fatalf("page 1 = %+v, %v", p1, err)
	}
	p2, err := l.List(ctx, "t1", "", p1.Next, 2)
	if err != nil || len(p2.Items) != 1 || p2.Items[0].Action != audit.Login {
		t.Fatalf("page 2 = %+v, %v", p2, err)
	}
	if p, _ := l.List(ctx, "t1", "2026-02", "", 10); len(p.Items) != 0 {
		t.Fatalf("other month: %+v", p.Items)
	}
	if _, err := l.List(ctx, "t2", "", p1.Next, 2); apperr.KindOf(err) != apperr.Invalid {
		t.Fatalf("cursor of another tenant: %v", err)
	}
	if _, err := l.List(ctx, "t1", "March", "", 2); apperr.KindOf(err) != apperr.Invalid {
		t.Fatalf("bad month: %v", err)
	}
}
