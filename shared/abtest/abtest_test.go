package abtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mathext"
)

// Standard normal quantiles as printed in statistical tables (to 10+ digits).
func TestNormalQuantile(t *testing.T) {
	for p, want := range map[float64]float64{
		0.5: 0, 0.8: 0.8416212335729143, 0.9: 1.2815515655446004, 0.95: 1.6448536269514722,
		0.975: 1.959963984540054, 0.99: 2.3263478740408408, 0.995: 2.5758293035489004, 0.999: 3.090232306167813,
		0.025: -1.959963984540054,
	} {
		if got := NormalQuantile(p); math.Abs(got-want) > 1e-12 {
			t.Errorf("NormalQuantile(%v) = %.15g, want %.15g", p, got, want)
		}
	}
}

// exactPower is the power of the two-sided pooled z-test at n per arm when
// the rates are p1 and p2, by summing over every pair of binomial outcomes:
// a second implementation that shares nothing with SampleSize's formula.
func exactPower(n int, p1, p2, alpha float64) float64 {
	pmf := func(p float64) []float64 {
		out := make([]float64, n+1)
		for k := range out {
			lc, _ := math.Lgamma(float64(n + 1))
			l1, _ := math.Lgamma(float64(k + 1))
			l2, _ := math.Lgamma(float64(n - k + 1))
			out[k] = math.Exp(lc - l1 - l2 + float64(k)*math.Log(p) + float64(n-k)*math.Log1p(-p))
		}
		return out
	}
	f1, f2 := pmf(p1), pmf(p2)
	crit := NormalQuantile(1 - alpha/2)
	var power float64
	for x := range f1 {
		for y := range f2 {
			pool := float64(x+y) / float64(2*n)
			se := math.Sqrt(pool * (1 - pool) * 2 / float64(n))
			if se > 0 && math.Abs(float64(y-x)/float64(n))/se >= crit {
				power += f1[x] * f2[y]
			}
		}
	}
	return power
}

func TestSampleSize(t *testing.T) {
	// R: power.prop.test(p1 = .50, p2 = .75, power = .90) gives n = 76.7 per group.
	n, err := SampleSize(0.5, 0.75, 0.05, 0.9)
	if err != nil || n != 77 {
		t.Errorf("SampleSize(.5, .75, .05, .9) = %d, %v; want 77 (R: 76.7)", n, err)
	}
	for _, c := range []struct{ p1, p2, alpha, power float64 }{
		{0.5, 0.75, 0.05, 0.9},
		{0.2, 0.25, 0.05, 0.8},
		{0.05, 0.07, 0.05, 0.8},
		{0.1, 0.13, 0.01, 0.9},
	} {
		n, err := SampleSize(c.p1, c.p2, c.alpha, c.power)
		if err != nil {
			t.Fatal(err)
		}
		// At n the exact power reaches the target (to the normal
		// approximation's error); one customer fewer per arm lowers it.
		got := exactPower(int(n), c.p1, c.p2, c.alpha)
		if math.Abs(got-c.power) > 0.015 {
			t.Errorf("%+v: n = %d per arm, exact power %.4f", c, n, got)
		}
		t.Logf("%+v: n = %d per arm, exact power %.4f", c, n, got)
	}
	for _, c := range []struct {
		p1, p2, alpha, power float64
		want                 string
	}{
		{0, 0.5, 0.05, 0.8, "want both in (0, 1)"},
		{0.3, 0.3, 0.05, 0.8, "equal"},
		{0.3, 0.4, 0, 0.8, "alpha 0"},
		{0.3, 0.4, 0.05, 1, "power 1"},
	} {
		if _, err := SampleSize(c.p1, c.p2, c.alpha, c.power); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v, want %q", c, err, c.want)
		}
	}
}

func TestProportionsReference(t *testing.T) {
	// R: prop.test(c(15, 25), c(50, 50), correct = FALSE):
	// X-squared = 4.1667, p-value = 0.04123, 95 % CI of p1 - p2: -0.3880 to -0.0120.
	r, err := TestProportions(15, 50, 25, 50, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"z²", r.Z * r.Z, 4.1667}, {"p", r.P, 0.04123}, {"diff low", r.DiffLow, 0.0120}, {"diff high", r.DiffHigh, 0.3880},
		{"lift", r.Lift, 2.0 / 3},
	} {
		if math.Abs(c.got-c.want) > 5e-5 {
			t.Errorf("%s = %.6f, want %.6f", c.name, c.got, c.want)
		}
	}
	// A second implementation: Pearson's chi-square on the 2×2 table
	// equals z², and its 1-df tail the p-value.
	for _, c := range [][4]int64{{15, 50, 25, 50}, {120, 5000, 160, 5100}, {3, 900, 11, 870}, {0, 40, 5, 40}} {
		r, err := TestProportions(c[0], c[1], c[2], c[3], 0.95)
		if err != nil {
			t.Fatal(err)
		}
		obs := [2][2]float64{{float64(c[0]), float64(c[1] - c[0])}, {float64(c[2]), float64(c[3] - c[2])}}
		n := float64(c[1] + c[3])
		var chi2 float64
		for i := range 2 {
			for j := range 2 {
				exp := (obs[i][0] + obs[i][1]) * (obs[0][j] + obs[1][j]) / n
				chi2 += (obs[i][j] - exp) * (obs[i][j] - exp) / exp
			}
		}
		if p := math.Erfc(math.Sqrt(chi2 / 2)); math.Abs(r.Z*r.Z-chi2) > 1e-9*chi2 || math.Abs(r.P-p) > 1e-12 {
			t.Errorf("%v: z² %v p %v; chi-square %v p %v", c, r.Z*r.Z, r.P, chi2, p)
		}
	}
	if _, err := TestProportions(5, 4, 1, 10, 0.95); err == nil || !strings.Contains(err.Error(), "arm A: 5 conversions of 4") {
		t.Errorf("conversions > customers: %v", err)
	}
}

// The intervals cover the true difference and lift at their nominal rate
// on simulated experiments with known rates.
func TestProportionsCoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	const trials = 4000
	pa, pb, n := 0.05, 0.065, int64(4000)
	var diffIn, liftIn float64
	for range trials {
		a, b := binomial(rng, n, pa), binomial(rng, n, pb)
		r, err := TestProportions(a, n, b, n, 0.95)
		if err != nil {
			t.Fatal(err)
		}
		if r.DiffLow <= pb-pa && pb-pa <= r.DiffHigh {
			diffIn++
		}
		if r.LiftLow <= pb/pa-1 && pb/pa-1 <= r.LiftHigh {
			liftIn++
		}
	}
	// 4,000 experiments: standard error of a coverage of 0.95 is 0.0034.
	for name, c := range map[string]float64{"difference": diffIn / trials, "lift": liftIn / trials} {
		if math.Abs(c-0.95) > 0.012 {
			t.Errorf("95 %% interval of the %s covered the truth in %.3f of experiments", name, c)
		}
	}
}

func binomial(rng *rand.Rand, n int64, p float64) int64 {
	var k int64
	for range n {
		if rng.Float64() < p {
			k++
		}
	}
	return k
}

// The exact two-arm probability equals numerical integration of
// P(p_B > p_A) = ∫ f_B(y) I_y(α_A, β_A) dy (a second implementation), and
// the Monte Carlo estimate for more arms agrees with it.
func TestProbabilityBest(t *testing.T) {
	for _, c := range [][2]Counts{
		{{10, 100}, {10, 100}},
		{{20, 1000}, {30, 1000}},
		{{200, 10000}, {240, 10000}},
		{{0, 50}, {3, 40}},
		{{7, 20}, {2, 30}},
	} {
		p, err := ProbabilityBest(c[:], 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := integrateBBeatsA(c[0], c[1])
		if math.Abs(p[1]-want) > 1e-6 || math.Abs(p[0]+p[1]-1) > 1e-12 {
			t.Errorf("%v: exact %v, integral %v", c, p, want)
		}
		// A third, hopeless arm: Monte Carlo over three arms gives the two-arm answer.
		mc, err := ProbabilityBest([]Counts{c[0], c[1], {0, 100000}}, 20000, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(mc[1]-want) > 4*0.5/math.Sqrt(20000) || mc[2] != 0 {
			t.Errorf("%v: Monte Carlo %v, exact %v", c, mc, want)
		}
	}
	if p, _ := ProbabilityBest([]Counts{{10, 100}, {10, 100}}, 0, nil); math.Abs(p[1]-0.5) > 1e-9 {
		t.Errorf("identical arms: %v", p)
	}
	if _, err := ProbabilityBest([]Counts{{1, 2}}, 10, nil); err == nil {
		t.Error("one arm accepted")
	}
	if _, err := ProbabilityBest([]Counts{{1, 2}, {1, 2}, {1, 2}}, 0, nil); err == nil {
		t.Error("three arms with no draws accepted")
	}
}

func integrateBBeatsA(a, b Counts) float64 {
	aA, bA := float64(1+a.Conversions), float64(1+a.Customers-a.Conversions)
	aB, bB := float64(1+b.Conversions), float64(1+b.Customers-b.Conversions)
	// Midpoint rule on a fine grid, concentrated by the substitution
	// y = sin²(πu/2) near 0 and 1.
	const steps = 200000
	var sum float64
	lb := lbeta(aB, bB)
	for i := range steps {
		u := (float64(i) + 0.5) / steps
		y := math.Pow(math.Sin(math.Pi*u/2), 2)
		dy := math.Pi * math.Sin(math.Pi*u/2) * math.Cos(math.Pi*u/2) / steps
		f := math.Exp((aB-1)*math.Log(y) + (bB-1)*math.Log1p(-y) - lb)
		sum += f * mathext.RegIncBeta(aA, bA, y) * dy
	}
	return sum
}

// Peeking: in A/A tests looked at after every 250 customers per arm, a
// naive z-test "finds" a difference far more often than alpha; the
// sequential rule and the fixed horizon keep to alpha. In A/B tests with a
// real lift the sequential rule still finds it.
func TestMonitorAgainstPeeking(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	const sims, looks, batch = 600, 40, 250
	run := func(pa, pb float64) (naive, seq, fixed float64) {
		horizon := int64(looks * batch)
		for range sims {
			var a, b Counts
			prev := 1.0
			naiveHit, seqHit := false, false
			for range looks {
				a.Customers += batch
				b.Customers += batch
				a.Conversions += binomial(rng, batch, pa)
				b.Conversions += binomial(rng, batch, pb)
				if z, _ := TestProportions(a.Conversions, a.Customers, b.Conversions, b.Customers, 0.95); z.P <= 0.05 {
					naiveHit = true
				}
				v, err := Monitor{Alpha: 0.05, Tau: 0.02}.Check(a, b, prev)
				if err != nil {
					t.Fatal(err)
				}
				prev = v.PValue
				seqHit = seqHit || v.Significant
				f, _ := Monitor{Alpha: 0.05, Horizon: horizon}.Check(a, b, 1)
				if f.Stop != (a.Customers >= horizon) {
					t.Fatalf("fixed horizon: stop %v at %d of %d", f.Stop, a.Customers, horizon)
				}
				if f.Significant {
					fixed++
				}
			}
			if naiveHit {
				naive++
			}
			if seqHit {
				seq++
			}
		}
		return naive / sims, seq / sims, fixed / sims
	}
	naive, seq, fixed := run(0.1, 0.1)
	t.Logf("A/A, 40 looks: false positives naive peeking %.3f, mSPRT %.3f, fixed horizon %.3f (alpha 0.05)", naive, seq, fixed)
	se := math.Sqrt(0.05 * 0.95 / sims)
	if naive < 0.12 || seq > 0.05+3*se || fixed > 0.05+3*se {
		t.Errorf("A/A: naive %.3f (want well above 0.05), mSPRT %.3f and fixed %.3f (want ≤ 0.05)", naive, seq, fixed)
	}
	_, seq, fixed = run(0.1, 0.115)
	t.Logf("A/B 10 %% → 11.5 %%: power mSPRT %.3f, fixed horizon %.3f", seq, fixed)
	if seq < 0.5 || fixed < 0.85 {
		t.Errorf("A/B: mSPRT found the lift in %.3f, fixed horizon in %.3f", seq, fixed)
	}
	if _, err := (Monitor{Alpha: 0.05}).Check(Counts{1, 10}, Counts{1, 10}, 1); err == nil {
		t.Error("no horizon and no tau accepted")
	}
}

func TestAssign(t *testing.T) {
	plan := Plan{Arms: []Arm{{"A", 3}, {"B", 1}}, HoldoutShare: 0.1}
	if err := plan.Validate(); err != nil {
		t.Fatal(err)
	}
	const n = 100000
	counts := map[string]int{}
	moved := 0
	noHoldout := Plan{Arms: plan.Arms}
	for i := range n {
		c := fmt.Sprintf("cust-%d", i)
		arm := plan.Assign("camp-1", c)
		if arm != plan.Assign("camp-1", c) {
			t.Fatal("not deterministic")
		}
		counts[arm]++
		// Without the holdout, everyone not held out keeps their arm.
		if arm != Holdout && noHoldout.Assign("camp-1", c) != arm {
			moved++
		}
	}
	want := map[string]float64{Holdout: 0.1, "A": 0.9 * 0.75, "B": 0.9 * 0.25}
	for arm, p := range want {
		// 4 binomial standard errors.
		if got := float64(counts[arm]) / n; math.Abs(got-p) > 4*math.Sqrt(p*(1-p)/n) {
			t.Errorf("%s: share %.4f, want %.4f", arm, got, p)
		}
	}
	if moved != 0 {
		t.Errorf("%d customers changed arm when the holdout was dropped", moved)
	}
	// Campaigns are independent: campaign 1's arm A splits like everyone in campaign 2.
	even := Plan{Arms: []Arm{{"A", 1}, {"B", 1}}}
	var inA, inAandA float64
	for i := range n {
		c := fmt.Sprintf("cust-%d", i)
		if even.Assign("camp-1", c) == "A" {
			inA++
			if even.Assign("camp-2", c) == "A" {
				inAandA++
			}
		}
	}
	if r := inAandA / inA; math.Abs(r-0.5) > 4*math.Sqrt(0.25/inA) {
		t.Errorf("P(A in campaign 2 | A in campaign 1) = %.4f, want 0.5", r)
	}
	for _, c := range []struct {
		plan Plan
		want string
	}{
		{Plan{}, "at least one arm"},
		{Plan{Arms: []Arm{{"A", 1}}, HoldoutShare: 1}, "holdout share 1"},
		{Plan{Arms: []Arm{{"A", 1}, {"A", 2}}}, `arms[1].name "A": duplicate`},
		{Plan{Arms: []Arm{{Holdout, 1}}}, `arms[0].name "holdout"`},
		{Plan{Arms: []Arm{{"A", 0}}}, "arms[0].weight 0"},
	} {
		if err := c.plan.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v, want %q", c.plan, err, c.want)
		}
	}
}

func BenchmarkAssign(b *testing.B) {
	plan := Plan{Arms: []Arm{{"A", 1}, {"B", 1}}, HoldoutShare: 0.1}
	for i := 0; b.Loop(); i++ {
		plan.Assign("01JCAMPAIGN7Q3", "01JCUSTOMER9X2")
	}
}
