package predict

import (
	"compress/gzip"
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

// readCDNOW reads a CDNOW file from testdata: the two files of the data set,
// gzipped as they are.
func readCDNOW(tb testing.TB, name string) Orders {
	tb.Helper()
	f, err := os.Open("testdata/" + name + ".gz")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	o, err := ReadCDNOW(z)
	if err != nil {
		tb.Fatal(err)
	}
	return o
}

// cdnowSplit reads a CDNOW file and splits it at the standard 39-week
// calibration end (1997-09-30).
func cdnowSplit(tb testing.TB, name string) Split {
	tb.Helper()
	o := readCDNOW(tb, name)
	return SplitAt(o.Customers, time.Date(1997, 9, 30, 0, 0, 0, 0, time.UTC), o.Last)
}

func near(got, want, relTol float64) bool {
	return math.Abs(got-want) <= relTol*math.Abs(want)
}

// The published fits are on the 1/10 sample of CDNOW (2,357 customers), 39
// weeks of calibration to 1997-09-30, one occasion per customer per day:
// Fader, Hardie and Lee (2005), "Counting your customers the easy way",
// r = 0.243, α = 4.414, a = 0.793, b = 2.426, LL = -9582.4, and Fader and
// Hardie (2013), "The Gamma-Gamma model of monetary value", p = 6.25,
// q = 3.74, γ = 15.44. The R package CLVTools asserts the same fits to more
// digits in its correctness tests (BG/NBD r = 0.2425945, α = 4.4136019,
// a = 0.7929199, b = 2.4258881, LL = -9582.429; Gamma-Gamma LL = -4055.9177).
func TestFitCDNOWSampleMatchesPublished(t *testing.T) {
	s := cdnowSplit(t, "CDNOW_sample.txt")
	if len(s.Histories) != 2357 {
		t.Fatalf("%d customers, want 2357", len(s.Histories))
	}
	m, err := Fit(s.Histories)
	if err != nil {
		t.Fatal(err)
	}
	bg, gg := m.BGNBD, m.GammaGamma
	for _, c := range []struct {
		name           string
		got, want, tol float64
	}{
		{"r", bg.R, 0.2425945, 1e-4},
		{"alpha", bg.Alpha, 4.4136019, 1e-4},
		{"a", bg.A, 0.7929199, 1e-4},
		{"b", bg.B, 2.4258881, 1e-4},
		{"bgnbd LL", bg.LogLikelihood(s.Histories), -9582.429, 1e-7},
		{"p", gg.P, 6.25, 1e-3},
		{"q", gg.Q, 3.74, 2e-3},
		{"gamma", gg.Gamma, 15.44, 1e-3},
		{"gamma-gamma LL", gg.LogLikelihood(s.Histories), -4055.9177, 1e-7},
		// The published three-decimal figures, to their rounding.
		{"r (FHL)", math.Round(bg.R*1000) / 1000, 0.243, 0},
		{"alpha (FHL)", math.Round(bg.Alpha*1000) / 1000, 4.414, 0},
		{"a (FHL)", math.Round(bg.A*1000) / 1000, 0.793, 0},
		{"b (FHL)", math.Round(bg.B*1000) / 1000, 2.426, 0},
	} {
		if !near(c.got, c.want, c.tol) {
			t.Errorf("%s = %.7g, want %.7g (relative tolerance %g)", c.name, c.got, c.want, c.tol)
		}
	}
	if m.RepeatCustomers != 946 {
		t.Errorf("Gamma-Gamma fitted on %d customers, want the 946 with a repeat purchase", m.RepeatCustomers)
	}
}

// A second, independent check of the optimum: the numerical gradient of the
// log-likelihood (the readable per-customer form, not the grouped one the
// optimiser used) vanishes at our fit, on the sample and on the master file,
// and our fit is at least as likely as the published rounded parameters.
func TestFitIsAStationaryPoint(t *testing.T) {
	for _, name := range []string{"CDNOW_sample.txt", "CDNOW_master.txt"} {
		s := cdnowSplit(t, name)
		m, err := Fit(s.Histories)
		if err != nil {
			t.Fatal(err)
		}
		n := float64(len(s.Histories))
		bgLL := func(v []float64) float64 {
			return BGNBD{R: v[0], Alpha: v[1], A: v[2], B: v[3]}.LogLikelihood(s.Histories) / n
		}
		ggLL := func(v []float64) float64 {
			return GammaGamma{P: v[0], Q: v[1], Gamma: v[2]}.LogLikelihood(s.Histories) / n
		}
		bg := []float64{m.BGNBD.R, m.BGNBD.Alpha, m.BGNBD.A, m.BGNBD.B}
		gg := []float64{m.GammaGamma.P, m.GammaGamma.Q, m.GammaGamma.Gamma}
		for _, c := range []struct {
			name string
			f    func([]float64) float64
			at   []float64
		}{{"BG/NBD", bgLL, bg}, {"Gamma-Gamma", ggLL, gg}} {
			for i := range c.at {
				// d LL / d log θ_i by central differences.
				h := 1e-5
				up, down := append([]float64(nil), c.at...), append([]float64(nil), c.at...)
				up[i] *= math.Exp(h)
				down[i] *= math.Exp(-h)
				if g := (c.f(up) - c.f(down)) / (2 * h); math.Abs(g) > 1e-6 {
					t.Errorf("%s %s: d(LL/n)/d log θ%d = %.3g at the fit, want ~0", name, c.name, i, g)
				}
			}
		}
		if name == "CDNOW_sample.txt" {
			if pub := bgLL([]float64{0.243, 4.414, 0.793, 2.426}); bgLL(bg) < pub {
				t.Errorf("BG/NBD fit less likely than the published parameters: %v < %v", bgLL(bg), pub)
			}
			if pub := ggLL([]float64{6.25, 3.74, 15.44}); ggLL(gg) < pub {
				t.Errorf("Gamma-Gamma fit less likely than the published parameters: %v < %v", ggLL(gg), pub)
			}
		}
	}
}

// The grouped likelihood the optimiser uses equals the per-customer one.
func TestGroupedLikelihoodEqualsDirect(t *testing.T) {
	s := cdnowSplit(t, "CDNOW_master.txt")
	d := newBGNBDData(s.Histories)
	for _, m := range []BGNBD{{0.25, 4.8, 0.72, 2.16}, {1.3, 0.2, 3.5, 0.4}, {0.05, 40, 0.1, 12}} {
		got, want := d.logLikelihood(m), m.LogLikelihood(s.Histories)
		if !near(got, want, 1e-11) {
			t.Errorf("%+v: grouped %.12g, direct %.12g", m, got, want)
		}
	}
}

// expectedByQuadrature computes E[purchases in t | history] without the
// hypergeometric function: given the customer is active, λ ~ Gamma(r+x,
// α+T) and p ~ Beta(a, b+x) independently, and an active customer with rate
// λ and dropout p makes (1 - e^{-λpt})/p purchases in t on average, so
//
//	E = P(alive) ∫ Beta(p; a, b+x) (1 - (1 + pt/(α+T))^{-(r+x)}) / p dp,
//
// integrated by tanh-sinh quadrature (p = logistic(π sinh u)), which copes
// with the Beta density's endpoint singularities.
func expectedByQuadrature(m BGNBD, t float64, h History) float64 {
	x := float64(h.Frequency)
	lb := lbeta(m.A, m.B+x)
	var sum float64
	const step = 1.0 / 64
	for u := -6.0; u <= 6; u += step {
		s := math.Pi * math.Sinh(u)
		logP, log1mP := -math.Log1p(math.Exp(-s)), -math.Log1p(math.Exp(s))
		p := math.Exp(logP)
		if p == 0 {
			continue
		}
		g := -math.Expm1(-(m.R+x)*math.Log1p(p*t/(m.Alpha+h.T))) / p
		logDens := (m.A-1)*logP + (m.B+x-1)*log1mP - lb
		sum += step * g * math.Exp(logDens+logP+log1mP) * math.Pi * math.Cosh(u)
	}
	return m.ProbabilityAlive(h) * sum
}

func lbeta(a, b float64) float64 {
	x, _ := math.Lgamma(a)
	y, _ := math.Lgamma(b)
	z, _ := math.Lgamma(a + b)
	return x + y - z
}

func TestExpectedPurchasesMatchesQuadrature(t *testing.T) {
	params := []BGNBD{
		{0.2425945, 4.4136019, 0.7929199, 2.4258881}, // CDNOW: a < 1
		{2.1, 0.3, 3.2, 6.5},                         // frequent buyers, a > 1
		{0.6, 0.05, 1.0, 0.4},                        // a = 1 exactly, b < 1: z close to 1
		{0.6, 0.05, 0.9995, 0.4},                     // near a = 1, interpolated
		{0.6, 0.05, 1.0011, 0.4},                     // just past the interpolated range
		{0.9, 12, 0.3, 30},
	}
	hists := []History{
		{0, 0, 0, 0},
		{0, 0, 38.86, 0},
		{2, 30.43, 38.86, 0},
		{1, 1, 30, 0},
		{14, 38, 39, 0},
		{60, 50, 52, 0},
		{250, 103, 104, 0},
	}
	for _, m := range params {
		for _, h := range hists {
			for _, weeks := range []float64{1, 90.0 / 7, 39, 52, 260} {
				got, want := m.ExpectedPurchases(weeks, h), expectedByQuadrature(m, weeks, h)
				if !(math.Abs(got-want) <= 1e-7*math.Max(1, want)) {
					t.Errorf("%+v %+v t=%g: closed form %.10g, quadrature %.10g", m, h, weeks, got, want)
				}
			}
		}
	}
}

// simulated is one customer drawn from a BG/NBD population, observed for T
// weeks after the first purchase and then for a holdout period.
type simulated struct {
	h       History
	alive   bool // still active at T
	holdout int  // purchases in the holdout period
}

// simulateBGNBD draws n customers from the BG/NBD process with the given
// parameters: λ ~ Gamma(r, α), p ~ Beta(a, b), purchases a Poisson process
// of rate λ, and after each repeat purchase the customer drops out with
// probability p. T is uniform in [minT, maxT] weeks. Recency and T are
// whole days, as Summarise measures them.
func simulateBGNBD(rng *rand.Rand, m BGNBD, n int, minT, maxT, holdout float64) []simulated {
	out := make([]simulated, n)
	for i := range out {
		lambda := gammaDraw(rng, m.R) / m.Alpha
		ga, gb := gammaDraw(rng, m.A), gammaDraw(rng, m.B)
		p := ga / (ga + gb)
		T := math.Round((minT+rng.Float64()*(maxT-minT))*7) / 7
		c := simulated{alive: true}
		c.h.T = T
		t := 0.0
		for {
			t += rng.ExpFloat64() / lambda
			if t > T+holdout {
				break
			}
			if t > T {
				c.holdout++
			} else {
				c.h.Frequency++
				c.h.Recency = math.Floor(t*7) / 7
			}
			if rng.Float64() < p {
				if t <= T {
					c.alive = false
				}
				break
			}
		}
		out[i] = c
	}
	return out
}

// gammaDraw is a Gamma(shape, 1) draw (Marsaglia and Tsang; boosted for
// shape < 1).
func gammaDraw(rng *rand.Rand, shape float64) float64 {
	if shape < 1 {
		return gammaDraw(rng, shape+1) * math.Pow(rng.Float64(), 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if math.Log(u) < 0.5*x*x+d-d*v+d*math.Log(v) {
			return d * v
		}
	}
}

// On a population whose parameters and outcomes are known, the fit recovers
// the parameters, and the predictions match what happened: P(alive) and
// P(no purchase) are calibrated in bins, and expected purchases add up.
func TestBGNBDOnSimulatedPopulation(t *testing.T) {
	truth := BGNBD{R: 0.6, Alpha: 5, A: 0.8, B: 3}
	rng := rand.New(rand.NewPCG(1, 2))
	const holdout = 26.0
	pop := simulateBGNBD(rng, truth, 40000, 10, 52, holdout)
	hs := make([]History, len(pop))
	for i, c := range pop {
		hs[i] = c.h
	}
	fit, err := FitBGNBD(hs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("true %+v, fitted %+v", truth, fit)
	// With 40,000 customers the standard errors are a few per cent.
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"r", fit.R, truth.R}, {"alpha", fit.Alpha, truth.Alpha}, {"a", fit.A, truth.A}, {"b", fit.B, truth.B}} {
		if !near(c.got, c.want, 0.15) {
			t.Errorf("fitted %s = %.4g, true %.4g", c.name, c.got, c.want)
		}
	}
	// Calibration by decile of predicted P(alive) and P(no purchase in the holdout).
	type bin struct{ pred, actual, n float64 }
	var alive, quiet [10]bin
	var expected, actual float64
	for _, c := range pop {
		pa := truth.ProbabilityAlive(c.h)
		pq := truth.ProbabilityNoPurchase(holdout, c.h)
		b := &alive[min(int(pa*10), 9)]
		b.pred += pa
		b.n++
		if c.alive {
			b.actual++
		}
		b = &quiet[min(int(pq*10), 9)]
		b.pred += pq
		b.n++
		if c.holdout == 0 {
			b.actual++
		}
		expected += fit.ExpectedPurchases(holdout, c.h)
		actual += float64(c.holdout)
	}
	for name, bins := range map[string]*[10]bin{"P(alive)": &alive, "P(no purchase)": &quiet} {
		for i, b := range bins {
			if b.n < 200 {
				continue
			}
			p, a := b.pred/b.n, b.actual/b.n
			// 4 binomial standard errors, plus the spread of predictions in a bin.
			if tol := 4*math.Sqrt(p*(1-p)/b.n) + 0.01; math.Abs(p-a) > tol {
				t.Errorf("%s decile %d (%d customers): predicted %.3f, observed %.3f", name, i, int(b.n), p, a)
			}
		}
	}
	t.Logf("holdout purchases: expected %.0f, simulated %.0f", expected, actual)
	if !near(expected, actual, 0.03) {
		t.Errorf("holdout purchases: expected %.0f, simulated %.0f", expected, actual)
	}
}
