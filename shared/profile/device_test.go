package profile_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/profile"
	"github.com/pulsehub/pulsehub/shared/store"
)

func TestDevices(t *testing.T) {
	s, tbl := newStore(t)
	ctx := context.Background()
	cid := mustResolve(t, s, "t1", profile.Identity{Email: "dev@example.com"}).CustomerID
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	tok := func(i int) string { return fmt.Sprintf("token-%02d:APA91b%s", i, strings.Repeat("x", 100)) }

	if err := s.RegisterDevice(ctx, "t1", cid, profile.Device{Token: tok(1), Platform: "android", SeenAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.RegisterDevice(ctx, "t1", cid, profile.Device{Token: tok(2), Platform: "ios", SeenAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// The same token again, later: refreshed, not duplicated; an older
	// registration arriving late does not move it back.
	if err := s.RegisterDevice(ctx, "t1", cid, profile.Device{Token: tok(1), Platform: "android", SeenAt: t0.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.RegisterDevice(ctx, "t1", cid, profile.Device{Token: tok(1), Platform: "android", SeenAt: t0}); err != nil {
		t.Fatal(err)
	}
	ds, err := s.Devices(ctx, "t1", cid)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 || ds[0].Token != tok(1) || !ds[0].SeenAt.Equal(t0.Add(2*time.Hour)) || ds[1].Token != tok(2) || ds[1].Platform != "ios" {
		t.Fatalf("devices %+v", ds)
	}

	// Tokens are sealed and keyed by a blind index: no token in the table.
	items, err := store.QueryAll[map[string]any](ctx, tbl, store.Query{PK: "T#t1#CUST#" + cid, SKPrefix: "DEVICE#", Consistent: true}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if strings.Contains(fmt.Sprint(it), "token-0") {
			t.Fatalf("a plaintext token in %v", it)
		}
	}

	if err := s.RemoveDevice(ctx, "t1", cid, tok(2)); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveDevice(ctx, "t1", cid, "never-registered-token"); err != nil {
		t.Fatal(err)
	}
	if ds, _ := s.Devices(ctx, "t1", cid); len(ds) != 1 || ds[0].Token != tok(1) {
		t.Fatalf("after removal %+v", ds)
	}

	// At most MaxDevices: the ones seen longest ago go.
	for i := 10; i < 10+profile.MaxDevices; i++ {
		if err := s.RegisterDevice(ctx, "t1", cid, profile.Device{Token: tok(i), SeenAt: t0.Add(time.Duration(i) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	ds, _ = s.Devices(ctx, "t1", cid)
	if len(ds) != profile.MaxDevices || ds[len(ds)-1].Token != tok(10) {
		t.Fatalf("%d devices, oldest %q", len(ds), ds[len(ds)-1].Token)
	}
	for _, d := range ds {
		if d.Token == tok(1) {
			t.Fatal("the device seen longest ago was kept")
		}
	}
	if err := s.RegisterDevice(ctx, "t1", cid, profile.Device{Token: " "}); err == nil {
		t.Fatal("a blank token was registered")
	}
}
