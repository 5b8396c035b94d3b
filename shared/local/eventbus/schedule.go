package eventbus

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule computes the fire times of a schedule expression.
type Schedule interface {
	// Next returns the first fire time strictly after t, or the zero time
	// when the schedule never fires again.
	Next(t time.Time) time.Time
}

// ParseSchedule parses an EventBridge schedule expression:
// "rate(N minute|minutes|hour|hours|day|days)" or
// "cron(minutes hours day-of-month month day-of-week year)".
// The cron subset covers "*", "?", ",", "-", "/" and month/day names; the
// "L", "W" and "#" wildcards are rejected with a clear error.
func ParseSchedule(expr string) (Schedule, error) {
	expr = strings.TrimSpace(expr)
	switch {
	case strings.HasPrefix(expr, "rate(") && strings.HasSuffix(expr, ")"):
		return parseRate(expr[len("rate(") : len(expr)-1])
	case strings.HasPrefix(expr, "cron(") && strings.HasSuffix(expr, ")"):
		return parseCron(expr[len("cron(") : len(expr)-1])
	}
	return nil, fmt.Errorf("schedule %q: want rate(...) or cron(...)", expr)
}

// Rate fires every Every, counted from its anchor (the runtime's start).
type Rate struct {
	Every  time.Duration
	Anchor time.Time
}

func parseRate(s string) (Schedule, error) {
	num, unit, ok := strings.Cut(strings.TrimSpace(s), " ")
	if !ok {
		return nil, fmt.Errorf("rate(%s): want \"rate(value unit)\"", s)
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 {
		return nil, fmt.Errorf("rate(%s): value %q must be a positive integer", s, num)
	}
	units := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}
	base := strings.TrimSuffix(unit, "s")
	d, known := units[base]
	if !known {
		return nil, fmt.Errorf("rate(%s): unit %q must be minute(s), hour(s) or day(s)", s, unit)
	}
	// AWS insists on the singular for 1 and the plural otherwise.
	if (n == 1) != (unit == base) {
		return nil, fmt.Errorf("rate(%s): use %q with %d", s, map[bool]string{true: base, false: base + "s"}[n == 1], n)
	}
	return Rate{Every: time.Duration(n) * d}, nil
}

// Next returns the first anchor + k*Every after t.
func (r Rate) Next(t time.Time) time.Time {
	if r.Anchor.IsZero() || t.Before(r.Anchor) {
		if r.Anchor.IsZero() {
			return t.Add(r.Every)
		}
		return r.Anchor.Add(r.Every)
	}
	k := t.Sub(r.Anchor)/r.Every + 1
	return r.Anchor.Add(k * r.Every)
}

// Cron is a parsed AWS cron expression; every field is a set of allowed values.
type Cron struct {
	minute, hour, dom, month, dow uint64
	years                         [4]uint64 // bit i = year 1970+i
	anyDOM, anyDOW                bool      // "?" in that field
}

const (
	minYear = 1970
	maxYear = 2199
)

type field struct {
	name     string
	min, max int
	names    map[string]int
}

var (
	monthNames = map[string]int{"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}
	dayNames   = map[string]int{"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
)

func parseCron(s string) (Schedule, error) {
	parts := strings.Fields(s)
	if len(parts) != 6 {
		return nil, fmt.Errorf("cron(%s): want 6 fields (minutes hours day-of-month month day-of-week year), got %d", s, len(parts))
	}
	fields := []field{
		{name: "minutes", min: 0, max: 59},
		{name: "hours", min: 0, max: 23},
		{name: "day-of-month", min: 1, max: 31},
		{name: "month", min: 1, max: 12, names: monthNames},
		{name: "day-of-week", min: 1, max: 7, names: dayNames},
		{name: "year", min: minYear, max: maxYear},
	}
	var c Cron
	c.anyDOM = parts[2] == "?"
	c.anyDOW = parts[4] == "?"
	if c.anyDOM == c.anyDOW {
		return nil, fmt.Errorf("cron(%s): exactly one of day-of-month and day-of-week must be \"?\"", s)
	}
	for i, f := range fields {
		if parts[i] == "?" {
			if i != 2 && i != 4 {
				return nil, fmt.Errorf("cron(%s): \"?\" is only allowed in day-of-month or day-of-week", s)
			}
			continue
		}
		vals, err := parseField(parts[i], f)
		if err != nil {
			return nil, fmt.Errorf("cron(%s): %w", s, err)
		}
		switch i {
		case 0:
			c.minute = bits(vals, 0)
		case 1:
			c.hour = bits(vals, 0)
		case 2:
			c.dom = bits(vals, 0)
		case 3:
			c.month = bits(vals, 0)
		case 4:
			c.dow = bits(vals, 0)
		case 5:
			for _, y := range vals {
				c.years[(y-minYear)/64] |= 1 << ((y - minYear) % 64)
			}
		}
	}
	return c, nil
}

func bits(vals []int, offset int) uint64 {
	var b uint64
	for _, v := range vals {
		b |= 1 << (v - offset)
	}
	return b
}

// parseField expands one comma-separated cron field into its values.
func parseField(s string, f field) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		rng, stepStr, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepStr)
			if err != nil || n < 1 || n > f.max {
				return nil, fmt.Errorf("%s: step %q must be an integer in 1..%d", f.name, stepStr, f.max)
			}
			step = n
		}
		lo, hi := f.min, f.max
		switch {
		case rng == "*":
		case strings.Contains(rng, "-"):
			a, b, _ := strings.Cut(rng, "-")
			var err error
			if lo, err = value(a, f); err != nil {
				return nil, err
			}
			if hi, err = value(b, f); err != nil {
				return nil, err
			}
			if lo > hi {
				return nil, fmt.Errorf("%s: range %q runs backwards", f.name, rng)
			}
		default:
			v, err := value(rng, f)
			if err != nil {
				return nil, err
			}
			lo = v
			if !hasStep {
				hi = v
			}
		}
		for v := lo; v <= hi; v += step {
			out = append(out, v)
		}
	}
	return out, nil
}

func value(s string, f field) (int, error) {
	if v, ok := f.names[strings.ToUpper(s)]; ok {
		return v, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil && strings.ContainsAny(strings.ToUpper(s), "LW#") {
		return 0, fmt.Errorf("%s: %q uses L, W or #, which the local runtime does not support", f.name, s)
	}
	if err != nil || n < f.min || n > f.max {
		return 0, fmt.Errorf("%s: %q is not a value in %d..%d", f.name, s, f.min, f.max)
	}
	return n, nil
}

func (c Cron) hasYear(y int) bool {
	if y < minYear || y > maxYear {
		return false
	}
	i := y - minYear
	return c.years[i/64]&(1<<(i%64)) != 0
}

func (c Cron) dayMatches(t time.Time) bool {
	if c.anyDOW {
		return c.dom&(1<<t.Day()) != 0
	}
	return c.dow&(1<<(int(t.Weekday())+1)) != 0 // AWS: 1 = Sunday
}

// Next returns the first matching minute after t, in UTC.
func (c Cron) Next(t time.Time) time.Time {
	t = t.UTC().Truncate(time.Minute).Add(time.Minute)
	for t.Year() <= maxYear {
		switch {
		case !c.hasYear(t.Year()):
			t = time.Date(t.Year()+1, 1, 1, 0, 0, 0, 0, time.UTC)
		case c.month&(1<<int(t.Month())) == 0:
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC)
		case !c.dayMatches(t):
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, time.UTC)
		case c.hour&(1<<t.Hour()) == 0:
			t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour()+1, 0, 0, 0, time.UTC)
		case c.minute&(1<<t.Minute()) == 0:
			t = t.Add(time.Minute)
		default:
			return t
		}
	}
	return time.Time{}
}
