package profile

import (
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
