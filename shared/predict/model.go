package predict

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"gonum.org/v1/gonum/optimize"
)

// ErrInsufficientData means the histories cannot support a fit: too few
// customers, no repeat purchases, or a likelihood with no finite maximum.
var ErrInsufficientData = errors.New("predict: not enough data to fit")

// Minimums below which Fit refuses: with fewer customers the estimates are
// noise, and the segment function should show no prediction rather than one.
const (
	MinCustomers       = 50
	MinRepeatCustomers = 20
)

// Model is a tenant's fitted BG/NBD and Gamma-Gamma models.
type Model struct {
	BGNBD      BGNBD      `json:"bgnbd"`
	GammaGamma GammaGamma `json:"gammaGamma"`

	Customers       int `json:"customers"`       // histories the BG/NBD model was fitted on
	RepeatCustomers int `json:"repeatCustomers"` // of which with a repeat occasion and a positive value (Gamma-Gamma)
}

// Horizons of the per-customer predictions, and the farthest next-order
// date given (beyond it a date means nothing, and time.Duration overflows
// past 292 years).
const (
	clvWeeks     = 52.0
	ordersDays   = 90.0
	maxWaitWeeks = 100 * 52.0
)

// Prediction is what a customer's profile shows. Money is in currency units.
type Prediction struct {
	// PredictedCLV12m is the expected number of purchase occasions in the
	// next 52 weeks times the expected value of one (Gamma-Gamma),
	// undiscounted.
	PredictedCLV12m float64 `json:"predictedClv12m"`
	// ProbabilityAlive is BG/NBD's P(the customer has not dropped out); 1 for
	// a customer with no repeat purchase (see BGNBD.ProbabilityAlive).
	ProbabilityAlive float64 `json:"probabilityAlive"`
	// ExpectedOrders90d is the expected number of purchase occasions in the
	// next 90 days.
	ExpectedOrders90d float64 `json:"expectedOrders90d"`
	// ChurnRisk is P(no purchase occasion in the next 90 days): dropped out,
	// or still active but not buying in that time.
	ChurnRisk float64 `json:"churnRisk"`
	// ExpectedNextOrderAt is the time by which the customer is as likely as
	// not to have bought again; the zero time when the model gives a next
	// purchase less than even odds ever (P(alive) ≤ 1/2) or puts it more
	// than 100 years away.
	ExpectedNextOrderAt time.Time `json:"expectedNextOrderAt,omitzero"`
}

// Predict gives h's predictions; h must be summarised up to now.
func (m Model) Predict(h History, now time.Time) Prediction {
	weeks90 := ordersDays / 7
	p := Prediction{
		ProbabilityAlive:  m.BGNBD.ProbabilityAlive(h),
		ExpectedOrders90d: m.BGNBD.ExpectedPurchases(weeks90, h),
		ChurnRisk:         m.BGNBD.ProbabilityNoPurchase(weeks90, h),
	}
	p.PredictedCLV12m = m.BGNBD.ExpectedPurchases(clvWeeks, h) * m.GammaGamma.ExpectedSpend(h)
	if w, ok := m.BGNBD.MedianWeeksToNextPurchase(h); ok && w < maxWaitWeeks {
		p.ExpectedNextOrderAt = now.Add(time.Duration(w * 7 * 24 * float64(time.Hour))).Truncate(time.Second)
	}
	return p
}

// Fit fits both models by maximum likelihood. It fails with
// ErrInsufficientData when the histories cannot support a fit (FitBGNBD and
// FitGammaGamma say which part).
func Fit(hs []History) (Model, error) {
	bg, err := FitBGNBD(hs)
	if err != nil {
		return Model{}, err
	}
	gg, n, err := FitGammaGamma(hs)
	if err != nil {
		return Model{}, err
	}
	return Model{BGNBD: bg, GammaGamma: gg, Customers: len(hs), RepeatCustomers: n}, nil
}

// FitBGNBD fits the BG/NBD model by maximum likelihood (Nelder-Mead on the
// logarithms of the parameters, restarted until it stops improving).
func FitBGNBD(hs []History) (BGNBD, error) {
	repeat := 0
	for _, h := range hs {
		if h.Frequency < 0 || h.Recency < 0 || h.T < h.Recency || math.IsNaN(h.T) || math.IsInf(h.T, 0) {
			return BGNBD{}, fmt.Errorf("predict: invalid history %+v: want frequency ≥ 0 and 0 ≤ recency ≤ T", h)
		}
		if h.Frequency > 0 {
			repeat++
		}
	}
	if len(hs) < MinCustomers || repeat < MinRepeatCustomers {
		return BGNBD{}, fmt.Errorf("%w: BG/NBD needs ≥ %d customers of which ≥ %d with a repeat purchase, got %d and %d",
			ErrInsufficientData, MinCustomers, MinRepeatCustomers, len(hs), repeat)
	}
	d := newBGNBDData(hs)
	n := float64(len(hs))
	nll := func(v []float64) float64 {
		m := BGNBD{R: math.Exp(v[0]), Alpha: math.Exp(v[1]), A: math.Exp(v[2]), B: math.Exp(v[3])}
		return -d.logLikelihood(m) / n
	}
	var meanT float64
	for _, h := range hs {
		meanT += h.T / n
	}
	start := []float64{0, math.Log(math.Max(meanT, 1e-3)), 0, 0}
	v, err := minimise(nll, start)
	if err != nil {
		return BGNBD{}, fmt.Errorf("%w: BG/NBD: %v", ErrInsufficientData, err)
	}
	return BGNBD{R: math.Exp(v[0]), Alpha: math.Exp(v[1]), A: math.Exp(v[2]), B: math.Exp(v[3])}, nil
}

// FitGammaGamma fits the Gamma-Gamma model on the customers with a repeat
// occasion and a positive mean value, and returns how many there were. It
// refuses a fit with q ≤ 1, where the population mean spend is infinite.
func FitGammaGamma(hs []History) (GammaGamma, int, error) {
	rows := spenders(hs)
	if len(rows) < MinRepeatCustomers {
		return GammaGamma{}, len(rows), fmt.Errorf("%w: Gamma-Gamma needs ≥ %d customers with a repeat purchase of positive value, got %d",
			ErrInsufficientData, MinRepeatCustomers, len(rows))
	}
	slices.SortFunc(rows, func(a, b spendRow) int { return cmp.Compare(a.x, b.x) })
	n := float64(len(rows))
	var meanM float64
	for _, s := range rows {
		meanM += s.m / n
	}
	nll := func(v []float64) float64 {
		g := GammaGamma{P: math.Exp(v[0]), Q: math.Exp(v[1]), Gamma: math.Exp(v[2])}
		return -g.logLikelihood(rows) / n
	}
	// Start at p = 1, q = 2, γ = the mean: a population mean spend equal to
	// the observed one.
	v, err := minimise(nll, []float64{0, math.Log(2), math.Log(meanM)})
	if err != nil {
		return GammaGamma{}, len(rows), fmt.Errorf("%w: Gamma-Gamma: %v", ErrInsufficientData, err)
	}
	g := GammaGamma{P: math.Exp(v[0]), Q: math.Exp(v[1]), Gamma: math.Exp(v[2])}
	if g.Q <= 1 {
		return GammaGamma{}, len(rows), fmt.Errorf("%w: Gamma-Gamma fit has q = %.3g ≤ 1 (spend too heavy-tailed for a finite mean)", ErrInsufficientData, g.Q)
	}
	return g, len(rows), nil
}

// minimise minimises f from start with Nelder-Mead, restarting from each
// result with a fresh simplex until a restart improves f by less than
// 1e-10: a single run can stall on a collapsed simplex. Parameters are
// logarithms, kept within ±30 so the models stay finite.
func minimise(f func([]float64) float64, start []float64) ([]float64, error) {
	bounded := func(v []float64) float64 {
		for _, x := range v {
			if x < -30 || x > 30 {
				return math.Inf(1)
			}
		}
		y := f(v)
		if math.IsNaN(y) {
			return math.Inf(1)
		}
		return y
	}
	x := slices.Clone(start)
	fx := bounded(x)
	if math.IsInf(fx, 0) {
		return nil, fmt.Errorf("likelihood not finite at the start %v", start)
	}
	for range 8 {
		res, err := optimize.Minimize(optimize.Problem{Func: bounded}, x,
			&optimize.Settings{Converger: &optimize.FunctionConverge{Absolute: 1e-12, Iterations: 50}, FuncEvaluations: 20000},
			&optimize.NelderMead{SimplexSize: 0.5})
		if err != nil && res == nil {
			return nil, err
		}
		improved := fx - res.F
		x, fx = res.X, res.F
		if improved < 1e-10 {
			break
		}
	}
	if math.IsInf(fx, 0) || math.IsNaN(fx) {
		return nil, errors.New("no finite maximum of the likelihood")
	}
	for _, v := range x {
		if math.Abs(v) > 29 {
			return nil, fmt.Errorf("a parameter ran off to %g: the data do not identify the model", math.Exp(v))
		}
	}
	return x, nil
}
