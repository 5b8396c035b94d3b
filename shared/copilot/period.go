package copilot

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

// Period is a run of whole UTC days: [From, To), To exclusive.
type Period struct {
	From, To time.Time
	Label    string // how the user said it, e.g. "the last 30 days"
}

// Day is the date layout of tool arguments and answers.
const Day = "2006-01-02"

// LastDay is the period's last day (inclusive).
func (p Period) LastDay() time.Time { return p.To.AddDate(0, 0, -1) }

// String is "2026-11-03 to 2026-12-02" (both days included).
func (p Period) String() string {
	if p.From.Equal(p.LastDay()) {
		return p.From.Format(Day)
	}
	return p.From.Format(Day) + " to " + p.LastDay().Format(Day)
}

// Previous is the period of the same length just before p.
func (p Period) Previous() Period {
	days := int(p.To.Sub(p.From).Hours() / 24)
	return Period{From: p.From.AddDate(0, 0, -days), To: p.From, Label: "the period before"}
}

// ParseDays reads a tool's inclusive day range.
func ParseDays(from, to string) (Period, error) {
	f, err := time.Parse(Day, from)
	if err != nil {
		return Period{}, &apperr.Error{Kind: apperr.Invalid, Field: "from", Message: fmt.Sprintf("from %q is not a date (YYYY-MM-DD)", from)}
	}
	t, err := time.Parse(Day, to)
	if err != nil {
		return Period{}, &apperr.Error{Kind: apperr.Invalid, Field: "to", Message: fmt.Sprintf("to %q is not a date (YYYY-MM-DD)", to)}
	}
	if t.Before(f) {
		return Period{}, &apperr.Error{Kind: apperr.Invalid, Field: "to", Message: fmt.Sprintf("to %s is before from %s", to, from)}
	}
	if t.Sub(f) > 366*24*time.Hour {
		return Period{}, &apperr.Error{Kind: apperr.Invalid, Field: "to", Message: "a period is at most 366 days"}
	}
	return Period{From: f, To: t.AddDate(0, 0, 1), Label: from + " to " + to}, nil
}

var (
	reLastN   = regexp.MustCompile(`\b(?:last|past|previous)\s+(\d{1,3})\s+(day|week|month)s?\b`)
	reLastOne = regexp.MustCompile(`\b(?:last|past|previous)\s+(day|week|month|year|quarter)\b`)
	reThis    = regexp.MustCompile(`\b(?:this|current)\s+(week|month|year|quarter)\b`)
	reISO     = regexp.MustCompile(`\b(\d{4}-\d{2}-\d{2})\b(?:\s*(?:to|until|through|and|-|–)\s*\b(\d{4}-\d{2}-\d{2})\b)?`)
	reMonth   = regexp.MustCompile(`\b(january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\b(?:\s+(\d{4}))?`)
	reYearIn  = regexp.MustCompile(`\bin\s+(\d{4})\b`)
	reMay     = regexp.MustCompile(`\b(?:in|during|for|of|since)\s+may\b|\bmay\s+\d{4}\b`)
)

var months = map[string]time.Month{
	"january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
	"september": 9, "october": 10, "november": 11, "december": 12, "jan": 1, "feb": 2, "mar": 3, "apr": 4,
	"jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}

// ParsePeriod finds a period in a question, relative to now (UTC days):
// "today", "yesterday", "last 30 days", "past 2 weeks", "last month",
// "this month", "this week" (from Monday), "this year", "in March" (the
// latest March that has begun), "March 2025", "2026-03-01 to 2026-03-15".
// ok is false when the text names no period.
func ParsePeriod(text string, now time.Time) (p Period, ok bool) {
	s := strings.ToLower(text)
	today := now.UTC().Truncate(24 * time.Hour)
	tomorrow := today.AddDate(0, 0, 1)
	switch {
	case reISO.MatchString(s):
		m := reISO.FindStringSubmatch(s)
		to := m[2]
		if to == "" {
			to = m[1]
		}
		if p, err := ParseDays(m[1], to); err == nil {
			return p, true
		}
	case strings.Contains(s, "yesterday"):
		return Period{From: today.AddDate(0, 0, -1), To: today, Label: "yesterday"}, true
	case strings.Contains(s, "today"):
		return Period{From: today, To: tomorrow, Label: "today"}, true
	}
	if m := reLastN.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		if n >= 1 {
			var from time.Time
			switch m[2] {
			case "day":
				from = tomorrow.AddDate(0, 0, -n)
			case "week":
				from = tomorrow.AddDate(0, 0, -7*n)
			case "month":
				from = tomorrow.AddDate(0, -n, 0)
			}
			return Period{From: from, To: tomorrow, Label: fmt.Sprintf("the last %d %ss", n, m[2])}, true
		}
	}
	monday := today.AddDate(0, 0, -(int(today.Weekday())+6)%7)
	monthStart := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC)
	yearStart := time.Date(today.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	quarterStart := time.Date(today.Year(), (today.Month()-1)/3*3+1, 1, 0, 0, 0, 0, time.UTC)
	if m := reThis.FindStringSubmatch(s); m != nil {
		from := map[string]time.Time{"week": monday, "month": monthStart, "year": yearStart, "quarter": quarterStart}[m[1]]
		return Period{From: from, To: tomorrow, Label: "this " + m[1] + " so far"}, true
	}
	if m := reLastOne.FindStringSubmatch(s); m != nil {
		switch m[1] {
		case "day":
			return Period{From: today.AddDate(0, 0, -1), To: today, Label: "yesterday"}, true
		case "week":
			return Period{From: monday.AddDate(0, 0, -7), To: monday, Label: "last week"}, true
		case "month":
			return Period{From: monthStart.AddDate(0, -1, 0), To: monthStart, Label: "last month"}, true
		case "quarter":
			return Period{From: quarterStart.AddDate(0, -3, 0), To: quarterStart, Label: "last quarter"}, true
		case "year":
			return Period{From: yearStart.AddDate(-1, 0, 0), To: yearStart, Label: "last year"}, true
		}
	}
	if m := reMonth.FindStringSubmatch(s); m != nil && !(m[1] == "may" && !monthContext(s)) {
		mon := months[m[1]]
		year := today.Year()
		if m[2] != "" {
			year, _ = strconv.Atoi(m[2])
		} else if mon > today.Month() {
			year-- // "in March" asked in January: the March that has been
		}
		from := time.Date(year, mon, 1, 0, 0, 0, 0, time.UTC)
		to := from.AddDate(0, 1, 0)
		if to.After(tomorrow) {
			to = tomorrow
		}
		if from.Before(tomorrow) {
			return Period{From: from, To: to, Label: fmt.Sprintf("%s %d", mon, year)}, true
		}
	}
	if m := reYearIn.FindStringSubmatch(s); m != nil {
		year, _ := strconv.Atoi(m[1])
		from := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
		to := from.AddDate(1, 0, 0)
		if to.After(tomorrow) {
			to = tomorrow
		}
		if from.Before(tomorrow) {
			return Period{From: from, To: to, Label: m[1]}, true
		}
	}
	return Period{}, false
}

// monthContext tells "in May" or "May 2026" from the verb "may".
func monthContext(s string) bool {
	return reMay.MatchString(s)
}

// Last30Days is the period used when a question names none.
func Last30Days(now time.Time) Period {
	tomorrow := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
	return Period{From: tomorrow.AddDate(0, 0, -30), To: tomorrow, Label: "the last 30 days"}
}
