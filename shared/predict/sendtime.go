package predict

import (
	"fmt"
	"math/rand/v2"
	"time"

	"gonum.org/v1/gonum/stat/distuv"
)

// HoursPerWeek is the number of hour-of-week buckets. Bucket 0 is Monday
// 00:00–00:59 in the customer's time zone, bucket 167 Sunday 23:00–23:59.
const HoursPerWeek = 168

// WeekHours is a histogram of a customer's (or a segment's, or a tenant's)
// activity by hour of the week in local time: opens, clicks and orders,
// weighted (EventWeight).
type WeekHours [HoursPerWeek]float64

// Weights of the activity that feeds WeekHours: an order says more about
// when a customer pays attention than a click, a click more than an open
// (opens are also inflated by mail privacy proxies that prefetch).
const (
	WeightOpen  = 1.0
	WeightClick = 2.0
	WeightOrder = 3.0
)

// HourOfWeek is t's hour of the week in loc (Monday 00:00 = 0).
func HourOfWeek(t time.Time, loc *time.Location) int {
	t = t.In(loc)
	return (int(t.Weekday())+6)%7*24 + t.Hour()
}

// Add counts weight at t, in the customer's location.
func (w *WeekHours) Add(t time.Time, loc *time.Location, weight float64) {
	w[HourOfWeek(t, loc)] += weight
}

// Merge adds o into w (a segment's or tenant's histogram is the sum of its
// customers').
func (w *WeekHours) Merge(o *WeekHours) {
	for i, v := range o {
		w[i] += v
	}
}

// Total is the histogram's total weight.
func (w *WeekHours) Total() float64 {
	var s float64
	for _, v := range w {
		s += v
	}
	return s
}

// SendTimeModel recommends when to send to a customer. A message sent at
// hour h is assumed to be seen if the customer is active within the
// following Window hours, so the model picks the hour whose next Window
// hours hold the most of the customer's expected activity.
//
// The customer's activity shares θ (168 of them) get a Dirichlet posterior:
// the customer's own weighted counts plus SegmentStrength pseudo-counts
// spread like the segment's posterior mean, which is itself the segment's
// counts plus TenantStrength pseudo-counts spread like the tenant's
// histogram (with one pseudo-count per hour so no hour is impossible). A
// customer with little history gets their segment's habits, a segment with
// little history the tenant's, and a customer's own pattern takes over as
// their history grows past SegmentStrength.
type SendTimeModel struct {
	Tenant          WeekHours
	TenantStrength  float64 // pseudo-counts of the tenant prior in a segment's posterior; default 50
	SegmentStrength float64 // pseudo-counts of the segment prior in a customer's posterior; default 10
	Window          int     // hours after sending in which activity counts; default 3
	Draws           int     // posterior draws for the confidence; default 100
}

// SendTime is a recommendation.
type SendTime struct {
	Hour int // hour of the week in the customer's time zone (Monday 00:00 = 0)
	// Expected is the expected share of the customer's weekly activity in
	// the Window hours from Hour: what the recommendation is worth.
	Expected float64
	// Confidence is the posterior probability that the customer's truly
	// best hour (in the allowed range) is within one hour of Hour.
	Confidence float64
	// Evidence is the weight of the customer's own history in the
	// posterior (their weighted count over count + SegmentStrength).
	Evidence float64
}

func (m SendTimeModel) withDefaults() SendTimeModel {
	if m.TenantStrength <= 0 {
		m.TenantStrength = 50
	}
	if m.SegmentStrength <= 0 {
		m.SegmentStrength = 10
	}
	if m.Window <= 0 {
		m.Window = 3
	}
	if m.Draws <= 0 {
		m.Draws = 100
	}
	return m
}

// prior is the segment's posterior mean: the prior for its customers.
func (m SendTimeModel) prior(segment *WeekHours) WeekHours {
	var tenant WeekHours
	tt := m.Tenant.Total() + HoursPerWeek
	for i, v := range m.Tenant {
		tenant[i] = (v + 1) / tt
	}
	var seg WeekHours
	st := m.TenantStrength
	if segment != nil {
		st += segment.Total()
	}
	for i := range seg {
		v := m.TenantStrength * tenant[i]
		if segment != nil {
			v += segment[i]
		}
		seg[i] = v / st
	}
	return seg
}

// Recommend picks the hour for a customer among the hours allowed: from
// (an hour of the week) and the following count-1 hours, wrapping after
// Sunday (count 168 allows the whole week, 24 one day). segment may be nil
// (no segment: the tenant prior alone). rng drives the confidence's Monte
// Carlo draws, so a seeded rng gives a reproducible answer.
func (m SendTimeModel) Recommend(customer, segment *WeekHours, from, count int, rng *rand.Rand) (SendTime, error) {
	if from < 0 || from >= HoursPerWeek || count < 1 || count > HoursPerWeek {
		return SendTime{}, fmt.Errorf("predict: allowed hours from %d, %d of them: want 0 ≤ from < 168 and 1 ≤ count ≤ 168", from, count)
	}
	m = m.withDefaults()
	prior := m.prior(segment)
	var alpha WeekHours // Dirichlet posterior parameters
	var n float64
	for i := range alpha {
		alpha[i] = m.SegmentStrength * prior[i]
		if customer != nil {
			alpha[i] += customer[i]
			n += customer[i]
		}
	}
	total := n + m.SegmentStrength
	var mean WeekHours
	for i, a := range alpha {
		mean[i] = a / total
	}
	best := m.bestHour(&mean, from, count)
	rec := SendTime{Hour: best, Expected: m.windowSum(&mean, best), Evidence: n / total}

	// Only the hours a window of an allowed hour touches matter, and the
	// argmax does not need θ normalised: draw independent Gamma(α_i, 1)
	// for those hours alone (a normalised set of them is Dirichlet).
	span := min(count+m.Window-1, HoursPerWeek)
	var theta WeekHours
	hits := 0
	g := distuv.Gamma{Beta: 1, Src: rng}
	for range m.Draws {
		for k := range span {
			i := (from + k) % HoursPerWeek
			g.Alpha = alpha[i]
			theta[i] = g.Rand()
		}
		if d := circularDistance(m.bestHour(&theta, from, count), best); d <= 1 {
			hits++
		}
	}
	rec.Confidence = float64(hits) / float64(m.Draws)
	return rec, nil
}

// bestHour is the allowed hour with the largest window sum (the earliest on
// ties), with the window sum slid along the allowed hours.
func (m SendTimeModel) bestHour(theta *WeekHours, from, count int) int {
	v := m.windowSum(theta, from)
	best, bestV := from, v
	for k := 1; k < count; k++ {
		h := (from + k) % HoursPerWeek
		v += theta[(h+m.Window-1)%HoursPerWeek] - theta[(h+HoursPerWeek-1)%HoursPerWeek]
		if v > bestV {
			best, bestV = h, v
		}
	}
	return best
}

func (m SendTimeModel) windowSum(theta *WeekHours, h int) float64 {
	var s float64
	for k := range m.Window {
		s += theta[(h+k)%HoursPerWeek]
	}
	return s
}

func circularDistance(a, b int) int {
	d := (a - b + HoursPerWeek) % HoursPerWeek
	return min(d, HoursPerWeek-d)
}

// NextAt is the first time at or after after that is the start of
// hour-of-week hour (taken modulo 168) in loc. An hour that a
// daylight-saving change skips this week is found the week after.
func NextAt(hour int, after time.Time, loc *time.Location) time.Time {
	hour = (hour%HoursPerWeek + HoursPerWeek) % HoursPerWeek
	t := after.In(loc)
	start := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), 0, 0, 0, loc)
	if start.Before(t) {
		start = start.Add(time.Hour)
	}
	for HourOfWeek(start, loc) != hour {
		start = start.Add(time.Hour)
	}
	return start
}
