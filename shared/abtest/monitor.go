package abtest

import (
	"fmt"
	"math"
)

// Monitor guards a running A/B test against peeking: looking at a z-test's
// p-value after every batch and stopping when it dips under alpha finds a
// "winner" in far more than alpha of tests where the arms are equal. Two
// rules are sound:
//
//   - Fixed horizon (Horizon > 0): the per-arm size planned up front with
//     SampleSize. Until every arm has reached it the answer is Continue,
//     whatever the data; then the z-test is read once.
//   - Sequential (Horizon 0): the mixture sequential probability ratio test
//     (mSPRT; Johari, Pekelis and Walsh 2017, "Always valid inference").
//     With the difference of rates θ̂ and its variance V, the likelihood
//     ratio of "θ ~ N(0, Tau²)" against "θ = 0" is
//     Λ = √(V/(V+τ²)) · exp(τ²θ̂² / (2V(V+τ²))), and p = min over all
//     looks so far of 1/Λ is a p-value valid however often one looks; the
//     test may stop as soon as p ≤ alpha. Tau is the size of difference
//     the test is tuned for (about the minimum detectable effect).
type Monitor struct {
	Alpha   float64 // significance level, e.g. 0.05
	Horizon int64   // fixed horizon per arm; 0 for the sequential rule
	Tau     float64 // sequential rule: mixture standard deviation of the rate difference
}

// Verdict is what a look at the test allows.
type Verdict struct {
	Stop        bool    // the test may be read now
	Significant bool    // arm B differs from arm A at Alpha (only when Stop)
	PValue      float64 // fixed horizon: the z-test's, at the horizon; sequential: the always-valid p-value
	Reason      string
}

// Check looks at the test. prevP is the previous look's PValue for the
// sequential rule (1 at the first look); it keeps the p-value always valid.
func (m Monitor) Check(a, b Counts, prevP float64) (Verdict, error) {
	if !(m.Alpha > 0 && m.Alpha < 1) {
		return Verdict{}, fmt.Errorf("abtest: monitor alpha %v: want 0 < alpha < 1", m.Alpha)
	}
	if err := checkCounts("A", a.Conversions, a.Customers); err != nil {
		return Verdict{}, err
	}
	if err := checkCounts("B", b.Conversions, b.Customers); err != nil {
		return Verdict{}, err
	}
	if m.Horizon > 0 {
		if a.Customers < m.Horizon || b.Customers < m.Horizon {
			return Verdict{PValue: 1, Reason: fmt.Sprintf("fixed horizon: %d and %d of %d customers per arm; do not read the test before", a.Customers, b.Customers, m.Horizon)}, nil
		}
		z, err := TestProportions(a.Conversions, a.Customers, b.Conversions, b.Customers, 1-m.Alpha)
		if err != nil {
			return Verdict{}, err
		}
		return Verdict{Stop: true, Significant: z.P <= m.Alpha, PValue: z.P, Reason: "fixed horizon reached"}, nil
	}
	if !(m.Tau > 0) {
		return Verdict{}, fmt.Errorf("abtest: monitor tau %v: want > 0 for the sequential rule (or a horizon)", m.Tau)
	}
	if !(prevP > 0 && prevP <= 1) {
		prevP = 1
	}
	p := math.Min(prevP, 1/m.likelihoodRatio(a, b))
	v := Verdict{PValue: p, Reason: "mSPRT: always-valid p-value above alpha, keep going"}
	if p <= m.Alpha {
		v.Stop, v.Significant, v.Reason = true, true, "mSPRT: always-valid p-value at or below alpha"
	}
	return v, nil
}

func (m Monitor) likelihoodRatio(a, b Counts) float64 {
	pa := float64(a.Conversions) / float64(a.Customers)
	pb := float64(b.Conversions) / float64(b.Customers)
	v := pa*(1-pa)/float64(a.Customers) + pb*(1-pb)/float64(b.Customers)
	if v == 0 {
		return 1 // no variation yet (all or none converted): no evidence
	}
	t2 := m.Tau * m.Tau
	d := pb - pa
	return math.Sqrt(v/(v+t2)) * math.Exp(t2*d*d/(2*v*(v+t2)))
}
