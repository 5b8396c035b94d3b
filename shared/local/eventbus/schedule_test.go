package eventbus

import (
	"strings"
	"testing"
	"time"
)

func TestParseScheduleNext(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		expr  string
		after string
		want  []string // successive fire times
	}{
		{"cron(0 3 * * ? *)", "2025-01-01T02:59:00Z", []string{"2025-01-01T03:00:00Z", "2025-01-02T03:00:00Z"}},
		{"cron(0 3 * * ? *)", "2025-01-01T03:00:00Z", []string{"2025-01-02T03:00:00Z"}},
		{"cron(*/15 * * * ? *)", "2025-01-01T10:07:30Z", []string{"2025-01-01T10:15:00Z", "2025-01-01T10:30:00Z", "2025-01-01T10:45:00Z", "2025-01-01T11:00:00Z"}},
		{"cron(5/20 8-9 * * ? *)", "2025-01-01T00:00:00Z", []string{"2025-01-01T08:05:00Z", "2025-01-01T08:25:00Z", "2025-01-01T08:45:00Z", "2025-01-01T09:05:00Z"}},
		// 2025-01-01 is a Wednesday; MON-FRI at 12:00.
		{"cron(0 12 ? * MON-FRI *)", "2025-01-03T12:00:00Z", []string{"2025-01-06T12:00:00Z", "2025-01-07T12:00:00Z"}},
		{"cron(0 0 ? * 1 *)", "2025-01-01T00:00:00Z", []string{"2025-01-05T00:00:00Z", "2025-01-12T00:00:00Z"}}, // 1 = Sunday
		{"cron(0 0 1,15 JAN,jul ? *)", "2025-01-02T00:00:00Z", []string{"2025-01-15T00:00:00Z", "2025-07-01T00:00:00Z", "2025-07-15T00:00:00Z", "2026-01-01T00:00:00Z"}},
		{"cron(0 0 29 2 ? *)", "2025-01-01T00:00:00Z", []string{"2028-02-29T00:00:00Z"}},
		{"cron(30 23 31 12 ? 2026-2027)", "2025-06-01T00:00:00Z", []string{"2026-12-31T23:30:00Z", "2027-12-31T23:30:00Z", "0001-01-01T00:00:00Z"}},
		{"cron(0 0 31 2 ? *)", "2025-01-01T00:00:00Z", []string{"0001-01-01T00:00:00Z"}}, // never
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			s, err := ParseSchedule(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			cur := at(tc.after)
			for i, w := range tc.want {
				got := s.Next(cur)
				if !got.Equal(at(w)) {
					t.Fatalf("fire %d after %s: got %s, want %s", i, cur.Format(time.RFC3339), got.Format(time.RFC3339), w)
				}
				cur = got
			}
		})
	}
}

func TestRate(t *testing.T) {
	anchor := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		expr  string
		every time.Duration
	}{
		{"rate(1 minute)", time.Minute},
		{"rate(15 minutes)", 15 * time.Minute},
		{"rate(2 hours)", 2 * time.Hour},
		{"rate(1 day)", 24 * time.Hour},
	}
	for _, tc := range tests {
		s, err := ParseSchedule(tc.expr)
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		r := s.(Rate)
		if r.Every != tc.every {
			t.Fatalf("%s: every %s, want %s", tc.expr, r.Every, tc.every)
		}
		r.Anchor = anchor
		if got := r.Next(anchor.Add(tc.every / 2)); !got.Equal(anchor.Add(tc.every)) {
			t.Fatalf("%s: next %s", tc.expr, got)
		}
		if got := r.Next(anchor.Add(tc.every)); !got.Equal(anchor.Add(2 * tc.every)) {
			t.Fatalf("%s: next after a fire %s", tc.expr, got)
		}
	}
}

func TestParseScheduleErrors(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"every 5 minutes", "want rate(...) or cron(...)"},
		{"rate(5)", "want \"rate(value unit)\""},
		{"rate(0 minutes)", "positive integer"},
		{"rate(1 minutes)", "use \"minute\" with 1"},
		{"rate(5 minute)", "use \"minutes\" with 5"},
		{"rate(5 weeks)", "minute(s), hour(s) or day(s)"},
		{"cron(0 3 * * *)", "want 6 fields"},
		{"cron(0 3 * * * *)", "exactly one of day-of-month and day-of-week"},
		{"cron(0 3 ? * ? *)", "exactly one of day-of-month and day-of-week"},
		{"cron(60 3 * * ? *)", "minutes: \"60\" is not a value in 0..59"},
		{"cron(0 24 * * ? *)", "hours"},
		{"cron(0 3 L * ? *)", "L, W or #"},
		{"cron(0 3 ? * 6#3 *)", "L, W or #"},
		{"cron(0 3 ? * 2L *)", "L, W or #"},
		{"cron(0 3 15W * ? *)", "L, W or #"},
		{"cron(0 5-3 * * ? *)", "runs backwards"},
		{"cron(*/0 * * * ? *)", "step"},
		{"cron(0 0 * 13 ? *)", "month"},
		{"cron(0 0 * * ? 1969)", "year"},
		{"cron(? 0 * * ? *)", "only allowed in day-of-month or day-of-week"},
	}
	for _, tc := range tests {
		_, err := ParseSchedule(tc.expr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", tc.expr, err, tc.want)
		}
	}
}

func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{"cron(0 3 * * ? *)", "cron(*/5 1-3 ? JAN-MAR MON,WED 2025)", "rate(5 minutes)", "cron(0/1 0 1 1 ? 2199)"} {
		f.Add(s)
	}
	start := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := ParseSchedule(expr)
		if err != nil {
			return
		}
		next := s.Next(start)
		if !next.IsZero() && !next.After(start) {
			t.Fatalf("%q: next %s not after %s", expr, next, start)
		}
		if c, ok := s.(Cron); ok && !next.IsZero() {
			if next.Second() != 0 || !c.hasYear(next.Year()) || !c.dayMatches(next) {
				t.Fatalf("%q: next %s does not match the expression", expr, next)
			}
		}
	})
}
