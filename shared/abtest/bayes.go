package abtest

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/stat/distuv"
)

// Counts is an arm's result so far.
type Counts struct {
	Conversions int64
	Customers   int64
}

// ProbabilityBest is, for each arm, the posterior probability that its
// conversion rate is the highest, with a uniform Beta(1, 1) prior on each
// rate (so the posterior is Beta(1+conversions, 1+misses)). Two arms get
// the exact answer (Miller's closed form, a finite sum); more arms a Monte
// Carlo estimate from draws draws of rng (standard error ≤ 0.5/√draws).
func ProbabilityBest(arms []Counts, draws int, rng *rand.Rand) ([]float64, error) {
	if len(arms) < 2 {
		return nil, fmt.Errorf("abtest: %d arms: want at least 2", len(arms))
	}
	for i, a := range arms {
		if err := checkCounts(fmt.Sprint(i), a.Conversions, a.Customers); err != nil {
			return nil, err
		}
	}
	if len(arms) == 2 {
		p := probBBeatsA(arms[0], arms[1])
		return []float64{1 - p, p}, nil
	}
	if draws <= 0 {
		return nil, fmt.Errorf("abtest: %d draws: want > 0 for more than two arms", draws)
	}
	dists := make([]distuv.Beta, len(arms))
	for i, a := range arms {
		dists[i] = distuv.Beta{Alpha: float64(1 + a.Conversions), Beta: float64(1 + a.Customers - a.Conversions), Src: rng}
	}
	wins := make([]float64, len(arms))
	for range draws {
		best, bestV := 0, -1.0
		for i := range dists {
			if v := dists[i].Rand(); v > bestV {
				best, bestV = i, v
			}
		}
		wins[best]++
	}
	for i := range wins {
		wins[i] /= float64(draws)
	}
	return wins, nil
}

// probBBeatsA is P(p_B > p_A) for p_A ~ Beta(αA, βA), p_B ~ Beta(αB, βB)
// with integer αB (Miller 2015, "Formulas for Bayesian A/B testing"):
//
//	Σ_{i=0}^{αB−1} B(αA+i, βA+βB) / ((βB+i) B(1+i, βB) B(αA, βA)),
//
// summed in logs. It takes αB terms; the arm with fewer conversions is put
// in B's place (P(B > A) = 1 − P(A > B); ties have probability 0).
func probBBeatsA(a, b Counts) float64 {
	if b.Conversions > a.Conversions {
		return 1 - probBBeatsA(b, a)
	}
	aA, bA := float64(1+a.Conversions), float64(1+a.Customers-a.Conversions)
	aB, bB := float64(1+b.Conversions), float64(1+b.Customers-b.Conversions)
	var sum float64
	base := lbeta(aA, bA)
	for i := 0.0; i < aB; i++ {
		sum += math.Exp(lbeta(aA+i, bA+bB) - math.Log(bB+i) - lbeta(1+i, bB) - base)
	}
	return math.Min(math.Max(sum, 0), 1)
}

func lbeta(a, b float64) float64 {
	x, _ := math.Lgamma(a)
	y, _ := math.Lgamma(b)
	z, _ := math.Lgamma(a + b)
	return x + y - z
}
