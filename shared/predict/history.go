package predict

import (
	"slices"
	"time"
)

// Purchase is one order: when, and its value in cents.
type Purchase struct {
	At    time.Time
	Cents int64
}

// History is what the models need of one customer, measured in weeks from
// the customer's first purchase occasion.
type History struct {
	Frequency int     // repeat purchase occasions (occasions after the first)
	Recency   float64 // weeks from the first to the last occasion
	T         float64 // weeks from the first occasion to the end of observation
	MeanValue float64 // mean value of the repeat occasions, currency units (0 when Frequency is 0)
}

// Summarise turns a customer's orders into a History observed up to end.
// Orders on the same calendar day (in the location of each order's time) are
// one purchase occasion worth their sum; orders after end are ignored.
// Times are whole days divided by 7, so T counts the days from the first
// occasion to end's calendar day.
//
// A customer with no order up to end gets the zero History: its likelihood
// under both models is 1, so Fit is unaffected by it, but it is no customer
// yet and should get no prediction.
func Summarise(ps []Purchase, end time.Time) History {
	days := make(map[int64]int64, len(ps))
	for _, p := range ps {
		if p.At.After(end) {
			continue
		}
		days[dayNumber(p.At)] += p.Cents
	}
	if len(days) == 0 {
		return History{}
	}
	order := make([]int64, 0, len(days))
	for d := range days {
		order = append(order, d)
	}
	slices.Sort(order)
	first, last := order[0], order[len(order)-1]
	h := History{
		Frequency: len(order) - 1,
		Recency:   float64(last-first) / 7,
		T:         float64(dayNumber(end)-first) / 7,
	}
	if h.Frequency > 0 {
		var sum int64
		for _, d := range order[1:] {
			sum += days[d]
		}
		h.MeanValue = float64(sum) / 100 / float64(h.Frequency)
	}
	return h
}

// dayNumber is t's calendar day in t's own location, as days since
// 1970-01-01.
func dayNumber(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}
