package predict

import "math"

// GammaGamma holds the parameters of the Gamma-Gamma model of spend per
// purchase occasion (Fader, Hardie and Lee 2005, "RFM and CLV"; Fader and
// Hardie 2013, "The Gamma-Gamma Model of Monetary Value"): a customer's
// occasion values are Gamma(p, ν) with ν ~ Gamma(q, γ) across customers, so
// a customer's mean spend is p/ν, independent of how often they buy.
type GammaGamma struct {
	P     float64 `json:"p"`
	Q     float64 `json:"q"`
	Gamma float64 `json:"gamma"`
}

// spendRow is one repeat customer as the Gamma-Gamma likelihood sees it.
type spendRow struct {
	x, logX, m, logM float64
}

// spenders returns the customers the Gamma-Gamma model is fitted on: those
// with at least one repeat occasion and a positive mean value.
func spenders(hs []History) []spendRow {
	var rows []spendRow
	for _, h := range hs {
		if h.Frequency == 0 || !(h.MeanValue > 0) {
			continue
		}
		x := float64(h.Frequency)
		rows = append(rows, spendRow{x: x, logX: math.Log(x), m: h.MeanValue, logM: math.Log(h.MeanValue)})
	}
	return rows
}

// LogLikelihood is the log-likelihood of the mean repeat-occasion values of
// the customers with a repeat occasion and a positive mean (Fader and
// Hardie 2013, equation 3); others carry no information on spend.
func (g GammaGamma) LogLikelihood(hs []History) float64 {
	return g.logLikelihood(spenders(hs))
}

func (g GammaGamma) logLikelihood(rows []spendRow) float64 {
	lgQ, _ := math.Lgamma(g.Q)
	logGamma := math.Log(g.Gamma)
	var ll float64
	lastX, lgTerm := -1.0, 0.0
	for _, s := range rows {
		px := g.P * s.x
		if s.x != lastX { // rows are sorted by x in fits; recompute only on change
			a, _ := math.Lgamma(px + g.Q)
			b, _ := math.Lgamma(px)
			lastX, lgTerm = s.x, a-b
		}
		ll += lgTerm - lgQ + g.Q*logGamma + (px-1)*s.logM + px*s.logX - (px+g.Q)*math.Log(g.Gamma+s.m*s.x)
	}
	return ll
}

// PopulationMeanSpend is the expected spend per occasion of a customer
// about whom nothing is known: pγ/(q-1), infinite when q ≤ 1.
func (g GammaGamma) PopulationMeanSpend() float64 {
	if g.Q <= 1 {
		return math.Inf(1)
	}
	return g.P * g.Gamma / (g.Q - 1)
}

// ExpectedSpend is the expected value of the customer's future occasions:
// a weighted mean of the population mean and the customer's own mean of
// repeat occasions, the weight on the own mean growing with their number.
func (g GammaGamma) ExpectedSpend(h History) float64 {
	if h.Frequency == 0 || !(h.MeanValue > 0) {
		return g.PopulationMeanSpend()
	}
	x := float64(h.Frequency)
	return g.P * (g.Gamma + x*h.MeanValue) / (g.P*x + g.Q - 1)
}
