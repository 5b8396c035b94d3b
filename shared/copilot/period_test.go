package copilot

import (
	"testing"
	"time"
)

func TestParsePeriod(t *testing.T) {
	// Wednesday 2 December 2026, afternoon (UTC).
	now := time.Date(2026, 12, 2, 15, 4, 5, 0, time.UTC)
	jan := time.Date(2027, 1, 15, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		text     string
		at       time.Time
		from, to string // inclusive days; "" for no period
		label    string
	}{
		{"What was my revenue in the last 30 days?", now, "2026-11-03", "2026-12-02", "the last 30 days"},
		{"past 2 weeks", now, "2026-11-19", "2026-12-02", "the last 2 weeks"},
		{"previous 3 months", now, "2026-09-03", "2026-12-02", "the last 3 months"},
		{"sales yesterday", now, "2026-12-01", "2026-12-01", "yesterday"},
		{"orders today", now, "2026-12-02", "2026-12-02", "today"},
		{"this month", now, "2026-12-01", "2026-12-02", "this month so far"},
		{"this week", now, "2026-11-30", "2026-12-02", "this week so far"},
		{"this year", now, "2026-01-01", "2026-12-02", "this year so far"},
		{"this quarter", now, "2026-10-01", "2026-12-02", "this quarter so far"},
		{"last month", now, "2026-11-01", "2026-11-30", "last month"},
		{"last week", now, "2026-11-23", "2026-11-29", "last week"},
		{"last year", now, "2025-01-01", "2025-12-31", "last year"},
		{"last quarter", now, "2026-07-01", "2026-09-30", "last quarter"},
		{"revenue in March", now, "2026-03-01", "2026-03-31", "March 2026"},
		{"revenue in March", jan, "2026-03-01", "2026-03-31", "March 2026"}, // the March that has been
		{"February 2024", now, "2024-02-01", "2024-02-29", "February 2024"},
		{"sales in dec", now, "2026-12-01", "2026-12-02", "December 2026"},
		{"in May", now, "2026-05-01", "2026-05-31", "May 2026"},
		{"how may I grow sales?", now, "", "", ""},
		{"in 2025", now, "2025-01-01", "2025-12-31", "2025"},
		{"from 2026-03-01 to 2026-03-15", now, "2026-03-01", "2026-03-15", "2026-03-01 to 2026-03-15"},
		{"on 2026-03-01", now, "2026-03-01", "2026-03-01", "2026-03-01 to 2026-03-01"},
		{"how are we doing", now, "", "", ""},
	}
	for _, tt := range tests {
		p, ok := ParsePeriod(tt.text, tt.at)
		if !ok {
			if tt.from != "" {
				t.Errorf("%q: no period, want %s..%s", tt.text, tt.from, tt.to)
			}
			continue
		}
		if got := p.From.Format(Day) + ".." + p.LastDay().Format(Day); got != tt.from+".."+tt.to || p.Label != tt.label {
			t.Errorf("%q: %s %q, want %s..%s %q", tt.text, got, p.Label, tt.from, tt.to, tt.label)
		}
	}
}

func TestParseDays(t *testing.T) {
	if _, err := ParseDays("2026-03-02", "2026-03-01"); err == nil {
		t.Error("to before from accepted")
	}
	if _, err := ParseDays("2025-01-01", "2026-03-01"); err == nil {
		t.Error("a period over 366 days accepted")
	}
	p, err := ParseDays("2026-03-01", "2026-03-31")
	if err != nil || p.String() != "2026-03-01 to 2026-03-31" || p.Previous().String() != "2026-01-29 to 2026-02-28" {
		t.Errorf("%v %v %v", p, p.Previous(), err)
	}
}
