package predict

import (
	"math"
	"slices"
	"time"
)

// Split is a calibration/holdout split of customers' orders: each customer
// with an order up to the calibration end, summarised there, and the
// purchase occasions they had in the holdout period after it.
type Split struct {
	Histories []History
	Holdout   []int   // occasions in the holdout period, same order as Histories
	Weeks     float64 // length of the holdout period
}

// SplitAt summarises customers at calEnd and counts their purchase
// occasions (distinct days) in (calEnd, end]. Customers whose first order
// is after calEnd are not part of the calibration cohort and are left out.
// Customers are taken in the order of their ids, so the split is
// deterministic.
func SplitAt(customers map[string][]Purchase, calEnd, end time.Time) Split {
	ids := make([]string, 0, len(customers))
	for id := range customers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	s := Split{Weeks: float64(dayNumber(end)-dayNumber(calEnd)) / 7}
	for _, id := range ids {
		ps := customers[id]
		if !hasOrderBy(ps, calEnd) {
			continue
		}
		h := Summarise(ps, calEnd)
		days := map[int64]bool{}
		for _, p := range ps {
			if p.At.After(calEnd) && !p.At.After(end) {
				days[dayNumber(p.At)] = true
			}
		}
		s.Histories = append(s.Histories, h)
		s.Holdout = append(s.Holdout, len(days))
	}
	return s
}

func hasOrderBy(ps []Purchase, end time.Time) bool {
	for _, p := range ps {
		if !p.At.After(end) {
			return true
		}
	}
	return false
}

// HoldoutReport compares predicted with actual repeat purchase occasions in
// a holdout period, for the model and for a naive baseline.
type HoldoutReport struct {
	Weeks     float64  `json:"weeks"`
	Customers int      `json:"customers"`
	Actual    int      `json:"actualRepeatPurchases"`
	Model     Accuracy `json:"model"`
	Baseline  Accuracy `json:"baseline"`
}

// Accuracy is one predictor's error: the predicted total and the
// per-customer mean absolute and root mean squared errors.
type Accuracy struct {
	Method    string  `json:"method"`
	Predicted float64 `json:"predictedRepeatPurchases"`
	MAE       float64 `json:"mae"`
	RMSE      float64 `json:"rmse"`
}

// Evaluate predicts each customer's holdout purchases with the BG/NBD
// model and with the naive baseline that extrapolates the customer's
// calibration repeat rate (Frequency/T per week, 0 when T is 0), and
// reports both against what happened.
func (m BGNBD) Evaluate(s Split) HoldoutReport {
	r := HoldoutReport{Weeks: s.Weeks, Customers: len(s.Histories)}
	model := make([]float64, len(s.Histories))
	naive := make([]float64, len(s.Histories))
	for i, h := range s.Histories {
		r.Actual += s.Holdout[i]
		model[i] = m.ExpectedPurchases(s.Weeks, h)
		if h.T > 0 {
			naive[i] = float64(h.Frequency) / h.T * s.Weeks
		}
	}
	r.Model = accuracy("BG/NBD conditional expectation", model, s.Holdout)
	r.Baseline = accuracy("calibration repeat rate × holdout weeks", naive, s.Holdout)
	return r
}

func accuracy(method string, pred []float64, actual []int) Accuracy {
	a := Accuracy{Method: method}
	if len(pred) == 0 {
		return a
	}
	var abs, sq float64
	for i, p := range pred {
		a.Predicted += p
		e := p - float64(actual[i])
		abs += math.Abs(e)
		sq += e * e
	}
	n := float64(len(pred))
	a.MAE, a.RMSE = abs/n, math.Sqrt(sq/n)
	return a
}
