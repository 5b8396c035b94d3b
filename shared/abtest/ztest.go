package abtest

import (
	"fmt"
	"math"
)

// NormalQuantile is the standard normal distribution's p-quantile (z such
// that P(Z ≤ z) = p), from the inverse error function.
func NormalQuantile(p float64) float64 {
	return math.Sqrt2 * math.Erfinv(2*p-1)
}

// normalSF is P(Z > z).
func normalSF(z float64) float64 { return 0.5 * math.Erfc(z/math.Sqrt2) }

// SampleSize is the number of customers per arm for a two-sided test of
// the difference between conversion rates p1 and p2 at significance alpha
// with the given power (Fleiss' formula with the pooled variance under the
// null, as R's power.prop.test), rounded up.
func SampleSize(p1, p2, alpha, power float64) (int64, error) {
	switch {
	case !(p1 > 0 && p1 < 1 && p2 > 0 && p2 < 1):
		return 0, fmt.Errorf("abtest: rates %v and %v: want both in (0, 1)", p1, p2)
	case p1 == p2:
		return 0, fmt.Errorf("abtest: rates are equal (%v): no sample size detects no difference", p1)
	case !(alpha > 0 && alpha < 1):
		return 0, fmt.Errorf("abtest: alpha %v: want 0 < alpha < 1", alpha)
	case !(power > 0 && power < 1):
		return 0, fmt.Errorf("abtest: power %v: want 0 < power < 1", power)
	}
	za, zb := NormalQuantile(1-alpha/2), NormalQuantile(power)
	pbar := (p1 + p2) / 2
	num := za*math.Sqrt(2*pbar*(1-pbar)) + zb*math.Sqrt(p1*(1-p1)+p2*(1-p2))
	n := num * num / ((p1 - p2) * (p1 - p2))
	return int64(math.Ceil(n - 1e-9)), nil
}

// ZTest is the two-proportion z-test of arm B against arm A.
type ZTest struct {
	RateA, RateB float64
	Diff         float64 // RateB − RateA
	DiffLow      float64 // confidence interval of Diff (Wald, unpooled)
	DiffHigh     float64
	Lift         float64 // RateB/RateA − 1
	LiftLow      float64 // confidence interval of Lift (log of the rate ratio; 0.5 added to zero counts)
	LiftHigh     float64
	Z            float64 // (RateB − RateA) / pooled standard error
	P            float64 // two-sided p-value
}

// TestProportions compares convB of nB with convA of nA at the given
// confidence level (0.95 for 95 % intervals). Read it once, at the planned
// sample size (Monitor), not whenever the p-value looks good.
func TestProportions(convA, nA, convB, nB int64, confidence float64) (ZTest, error) {
	if err := checkCounts("A", convA, nA); err != nil {
		return ZTest{}, err
	}
	if err := checkCounts("B", convB, nB); err != nil {
		return ZTest{}, err
	}
	if !(confidence > 0 && confidence < 1) {
		return ZTest{}, fmt.Errorf("abtest: confidence %v: want 0 < confidence < 1", confidence)
	}
	a, b := float64(convA), float64(convB)
	na, nb := float64(nA), float64(nB)
	r := ZTest{RateA: a / na, RateB: b / nb}
	r.Diff = r.RateB - r.RateA
	z := NormalQuantile(1 - (1-confidence)/2)
	se := math.Sqrt(r.RateA*(1-r.RateA)/na + r.RateB*(1-r.RateB)/nb)
	r.DiffLow, r.DiffHigh = r.Diff-z*se, r.Diff+z*se
	pool := (a + b) / (na + nb)
	if sp := math.Sqrt(pool * (1 - pool) * (1/na + 1/nb)); sp > 0 {
		r.Z = r.Diff / sp
	}
	r.P = 2 * normalSF(math.Abs(r.Z))
	// Relative lift through the log rate ratio (Katz et al. 1978).
	if a == 0 || b == 0 {
		a, b, na, nb = a+0.5, b+0.5, na+0.5, nb+0.5
	}
	logRR := math.Log((b / nb) / (a / na))
	seRR := math.Sqrt(1/a - 1/na + 1/b - 1/nb)
	r.Lift = r.RateB/r.RateA - 1
	if r.RateA == 0 {
		r.Lift = math.Exp(logRR) - 1
	}
	r.LiftLow, r.LiftHigh = math.Exp(logRR-z*seRR)-1, math.Exp(logRR+z*seRR)-1
	return r, nil
}

func checkCounts(arm string, conv, n int64) error {
	if n <= 0 || conv < 0 || conv > n {
		return fmt.Errorf("abtest: arm %s: %d conversions of %d: want 0 ≤ conversions ≤ customers and customers > 0", arm, conv, n)
	}
	return nil
}
