package predict

import (
	"math"

	"gonum.org/v1/gonum/mathext"
)

// BGNBD holds the parameters of the BG/NBD model (Fader, Hardie and Lee
// 2005): while active, a customer buys at a rate λ ~ Gamma(r, α) per week;
// after each purchase they drop out for good with probability p ~ Beta(a, b).
type BGNBD struct {
	R     float64 `json:"r"`
	Alpha float64 `json:"alpha"`
	A     float64 `json:"a"`
	B     float64 `json:"b"`
}

// LogLikelihood is the log-likelihood of the histories (Fader, Hardie and
// Lee 2005, equation 6), customer by customer. Fit uses an equivalent
// grouped form (bgnbdData); this one is the readable reference.
func (m BGNBD) LogLikelihood(hs []History) float64 {
	lgR, _ := math.Lgamma(m.R)
	lgAB, _ := math.Lgamma(m.A + m.B)
	lgB, _ := math.Lgamma(m.B)
	var ll float64
	for _, h := range hs {
		x := float64(h.Frequency)
		lgRX, _ := math.Lgamma(m.R + x)
		lgBX, _ := math.Lgamma(m.B + x)
		lgABX, _ := math.Lgamma(m.A + m.B + x)
		a1 := lgRX - lgR + m.R*math.Log(m.Alpha)
		a2 := lgAB + lgBX - lgB - lgABX
		a3 := -(m.R + x) * math.Log(m.Alpha+h.T)
		if h.Frequency == 0 {
			ll += a1 + a2 + a3
			continue
		}
		a4 := math.Log(m.A) - math.Log(m.B+x-1) - (m.R+x)*math.Log(m.Alpha+h.Recency)
		ll += a1 + a2 + logSumExp(a3, a4)
	}
	return ll
}

// ProbabilityAlive is P(the customer has not dropped out | history).
// BG/NBD lets customers drop out only right after a purchase, so it is 1 for
// a customer with no repeat purchase: ProbabilityNoPurchase is the measure
// that also covers them.
func (m BGNBD) ProbabilityAlive(h History) float64 {
	if h.Frequency == 0 {
		return 1
	}
	x := float64(h.Frequency)
	l := math.Log(m.A) - math.Log(m.B+x-1) + (m.R+x)*(math.Log(m.Alpha+h.T)-math.Log(m.Alpha+h.Recency))
	return 1 / (1 + math.Exp(l))
}

// ExpectedPurchases is the expected number of purchase occasions in the t
// weeks after the end of the history (Fader, Hardie and Lee 2005, equation
// 10), with the Gaussian hypergeometric function 2F1 from gonum (Cephes'
// hyp2f1 with its transformations for arguments near 1).
func (m BGNBD) ExpectedPurchases(t float64, h History) float64 {
	if t <= 0 {
		return 0
	}
	// The closed form divides by a-1 and cancels to 0/0 at a = 1 (a
	// removable singularity). Near it, interpolate the smooth function of a
	// through four points at a safe distance (cubic Lagrange; error ~1e-10).
	const d = 1e-3
	if math.Abs(m.A-1) >= d {
		return m.expectedPurchases(m.A, t, h)
	}
	nodes := [4]float64{1 - 4*d, 1 - 2*d, 1 + 2*d, 1 + 4*d}
	var e float64
	for i, ai := range nodes {
		w := 1.0
		for j, aj := range nodes {
			if j != i {
				w *= (m.A - aj) / (ai - aj)
			}
		}
		e += w * m.expectedPurchases(ai, t, h)
	}
	return e
}

// expectedPurchases is equation 10 with a in place of m.A (m is a copy:
// P(alive) below uses a too).
func (m BGNBD) expectedPurchases(a, t float64, h History) float64 {
	x := float64(h.Frequency)
	z := t / (m.Alpha + h.T + t)
	f := mathext.Hypergeo(m.R+x, m.B+x, a+m.B+x-1, z)
	lead := math.Exp((m.R + x) * (math.Log(m.Alpha+h.T) - math.Log(m.Alpha+h.T+t)))
	e := (a + m.B + x - 1) / (a - 1) * (1 - lead*f)
	m.A = a
	return e * m.ProbabilityAlive(h)
}

// ProbabilityNoPurchase is P(no purchase occasion in the t weeks after the
// end of the history): the customer has dropped out, or is active and buys
// nothing in that time. Given active, λ | history ~ Gamma(r+x, α+T).
func (m BGNBD) ProbabilityNoPurchase(t float64, h History) float64 {
	alive := m.ProbabilityAlive(h)
	x := float64(h.Frequency)
	none := math.Exp((m.R + x) * (math.Log(m.Alpha+h.T) - math.Log(m.Alpha+h.T+t)))
	return 1 - alive + alive*none
}

// MedianWeeksToNextPurchase is the t at which ProbabilityNoPurchase(t)
// reaches 1/2: by then the customer is as likely as not to have bought
// again. ok is false when that never happens (P(alive) ≤ 1/2: the customer
// more likely than not never buys again).
func (m BGNBD) MedianWeeksToNextPurchase(h History) (weeks float64, ok bool) {
	alive := m.ProbabilityAlive(h)
	if alive <= 0.5 {
		return 0, false
	}
	// 1 - alive + alive·((α+T)/(α+T+t))^(r+x) = 1/2
	q := 1 - 0.5/alive
	x := float64(h.Frequency)
	return (m.Alpha + h.T) * math.Expm1(-math.Log(q)/(m.R+x)), true
}

// logSumExp is log(e^a + e^b) without overflow.
func logSumExp(a, b float64) float64 {
	if a < b {
		a, b = b, a
	}
	return a + math.Log1p(math.Exp(b-a))
}

// bgnbdData is the histories grouped for a fast likelihood: customers by
// frequency, the distinct times, and the repeat customers grouped by
// (frequency, recency, T). The sum is the same as BGNBD.LogLikelihood's.
type bgnbdData struct {
	n      float64
	times  []float64   // distinct values of Recency and T
	freqs  []float64   // distinct frequencies
	nFreq  []float64   // customers per distinct frequency
	zeroT  []float64   // customers with no repeat purchase, per times index of T
	groups []bgnbdRow  // customers with repeat purchases
	buf    [][]float64 // per-evaluation scratch: log(α+times), per-frequency terms
}

type bgnbdRow struct {
	freq, tx, t int32 // indexes into freqs and times
	n           float64
}

func newBGNBDData(hs []History) *bgnbdData {
	d := &bgnbdData{n: float64(len(hs))}
	timeIdx := map[float64]int32{}
	freqIdx := map[int]int32{}
	rowIdx := map[bgnbdRow]int{}
	timeOf := func(v float64) int32 {
		i, ok := timeIdx[v]
		if !ok {
			i = int32(len(d.times))
			timeIdx[v] = i
			d.times = append(d.times, v)
			d.zeroT = append(d.zeroT, 0)
		}
		return i
	}
	for _, h := range hs {
		fi, ok := freqIdx[h.Frequency]
		if !ok {
			fi = int32(len(d.freqs))
			freqIdx[h.Frequency] = fi
			d.freqs = append(d.freqs, float64(h.Frequency))
			d.nFreq = append(d.nFreq, 0)
		}
		d.nFreq[fi]++
		ti := timeOf(h.T)
		if h.Frequency == 0 {
			d.zeroT[ti]++
			continue
		}
		key := bgnbdRow{freq: fi, tx: timeOf(h.Recency), t: ti}
		if i, ok := rowIdx[key]; ok {
			d.groups[i].n++
			continue
		}
		rowIdx[key] = len(d.groups)
		key.n = 1
		d.groups = append(d.groups, key)
	}
	d.buf = [][]float64{make([]float64, len(d.times)), make([]float64, len(d.freqs)), make([]float64, len(d.freqs))}
	return d
}

// logLikelihood is the total log-likelihood at m.
func (d *bgnbdData) logLikelihood(m BGNBD) float64 {
	lt, lrx, lcx := d.buf[0], d.buf[1], d.buf[2]
	for i, v := range d.times {
		lt[i] = math.Log(m.Alpha + v)
	}
	lgR, _ := math.Lgamma(m.R)
	lgAB, _ := math.Lgamma(m.A + m.B)
	lgB, _ := math.Lgamma(m.B)
	ll := d.n * (m.R*math.Log(m.Alpha) - lgR + lgAB - lgB)
	logA := math.Log(m.A)
	for i, x := range d.freqs {
		lgRX, _ := math.Lgamma(m.R + x)
		lgBX, _ := math.Lgamma(m.B + x)
		lgABX, _ := math.Lgamma(m.A + m.B + x)
		ll += d.nFreq[i] * (lgRX + lgBX - lgABX)
		lrx[i] = m.R + x
		if x > 0 {
			lcx[i] = logA - math.Log(m.B+x-1)
		}
	}
	for i, n := range d.zeroT {
		if n > 0 {
			ll -= n * m.R * lt[i]
		}
	}
	for _, g := range d.groups {
		rx := lrx[g.freq]
		ll += g.n * logSumExp(-rx*lt[g.t], lcx[g.freq]-rx*lt[g.tx])
	}
	return ll
}
