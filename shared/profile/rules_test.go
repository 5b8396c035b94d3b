package profile

import (
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestApplyFieldsNewerWinsOlderOnlyFills(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		start       Profile
		in          Fields
		at          time.Time
		wantChanged bool
		want        Profile
	}{
		{"first payload sets everything", Profile{}, Fields{Email: "e", FirstName: "Eve"}, t0, true,
			Profile{Email: "e", FirstName: "Eve", FieldsAt: ts(t0)}},
		{"newer payload overwrites", Profile{Email: "old", FirstName: "Eve", FieldsAt: ts(t0)}, Fields{Email: "new"}, t0.Add(time.Minute), true,
			Profile{Email: "new", FirstName: "Eve", FieldsAt: ts(t0.Add(time.Minute))}},
		{"older payload never overwrites", Profile{Email: "new", FieldsAt: ts(t0)}, Fields{Email: "old"}, t0.Add(-time.Minute), false,
			Profile{Email: "new", FieldsAt: ts(t0)}},
		{"older payload fills what the newer lacked", Profile{Email: "e", FieldsAt: ts(t0)}, Fields{Email: "old", FirstName: "Eve", LastName: "Tester"}, t0.Add(-time.Hour), true,
			Profile{Email: "e", FirstName: "Eve", LastName: "Tester", FieldsAt: ts(t0)}},
		{"same time is not newer", Profile{FirstName: "A", FieldsAt: ts(t0)}, Fields{FirstName: "B"}, t0, false,
			Profile{FirstName: "A", FieldsAt: ts(t0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.start
			if got := applyFields(&p, tt.in, tt.at); got != tt.wantChanged {
				t.Errorf("changed = %v, want %v", got, tt.wantChanged)
			}
			if p.Email != tt.want.Email || p.FirstName != tt.want.FirstName || p.LastName != tt.want.LastName || p.FieldsAt != tt.want.FieldsAt {
				t.Errorf("profile = %+v, want %+v", p, tt.want)
			}
		})
	}
}

func TestSurvivorOf(t *testing.T) {
	tests := []struct {
		name string
		ps   []Profile
		want string
	}{
		{"none", nil, ""},
		{"a Shopify customer wins over an older known person", []Profile{
			{ID: "old", CreatedAt: "2026-01-01"}, {ID: "shop", ShopifyID: "7", CreatedAt: "2026-02-01"}}, "shop"},
		{"a known person wins over an older visitor", []Profile{
			{ID: "anon", Anonymous: true, CreatedAt: "2026-01-01"}, {ID: "known", CreatedAt: "2026-02-01"}}, "known"},
		{"among equals the oldest", []Profile{
			{ID: "b", CreatedAt: "2026-02-01"}, {ID: "a", CreatedAt: "2026-01-01"}, {ID: "c", CreatedAt: "2026-03-01"}}, "a"},
		{"among visitors the oldest", []Profile{
			{ID: "v2", Anonymous: true, CreatedAt: "2026-02-01"}, {ID: "v1", Anonymous: true, CreatedAt: "2026-01-01"}}, "v1"},
	}
	for _, tt := range tests {
		if got := survivorOf(tt.ps); got != tt.want {
			t.Errorf("%s: survivorOf = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestFoldThenUnfold: folding a profile in adds its aggregates and fills
// what the survivor lacked; unfolding takes its aggregates and index keys
// out again and keeps the fields.
func TestFoldThenUnfold(t *testing.T) {
	hours := func(h, n int) []int { out := make([]int, 24); out[h] = n; return out }
	survivor := Profile{ID: "s", Email: "se", OrdersCount: 2, TotalSpentCents: 5000, FirstOrderAt: "2026-03-01", LastOrderAt: "2026-05-01",
		Hours: hours(9, 2), IndexKeys: []string{"IDX#email#s"}, Anonymous: false, LastEngagement: map[string]string{"email": "2026-05-02"}}
	merged := Profile{ID: "m", Email: "me", Phone: "mp", OrdersCount: 1, TotalSpentCents: 1200, FirstOrderAt: "2026-01-15", LastOrderAt: "2026-01-15",
		Hours: hours(21, 1), IndexKeys: []string{"IDX#phone#m", "IDX#email#s"}, Anonymous: true, LastEngagement: map[string]string{"email": "2026-06-01", "sms": "2026-01-16"}}

	p := survivor
	p.Hours = slices.Clone(survivor.Hours)
	p.IndexKeys = slices.Clone(survivor.IndexKeys)
	p.LastEngagement = maps.Clone(survivor.LastEngagement)
	foldInto(&p, merged)
	want := Profile{ID: "s", Email: "se", Phone: "mp", OrdersCount: 3, TotalSpentCents: 6200, FirstOrderAt: "2026-01-15", LastOrderAt: "2026-05-01",
		Hours: func() []int { h := hours(9, 2); h[21] = 1; return h }(), IndexKeys: []string{"IDX#email#s", "IDX#phone#m"},
		LastEngagement: map[string]string{"email": "2026-06-01", "sms": "2026-01-16"}}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("foldInto:\n got %+v\nwant %+v", p, want)
	}

	unfold(&p, merged, []string{"IDX#phone#m"})
	want.OrdersCount, want.TotalSpentCents, want.Hours, want.IndexKeys = 2, 5000, hours(9, 2), []string{"IDX#email#s"}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("unfold:\n got %+v\nwant %+v", p, want)
	}
}
