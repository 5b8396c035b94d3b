package predict

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

// CampaignOutcome is what a past campaign achieved on one channel.
type CampaignOutcome struct {
	Channel      string
	Sent         int64
	Delivered    int64
	Opened       int64 // 0 on channels without opens (SMS)
	Clicked      int64
	Conversions  int64
	RevenueCents int64
}

// Interval is a forecast quantity: its expected value and the 10th and
// 90th percentiles of its posterior predictive distribution (an 80 %
// interval).
type Interval struct {
	Expected float64 `json:"expected"`
	Low      float64 `json:"low"`
	High     float64 `json:"high"`
}

// Forecast is the predicted performance of a draft campaign on one channel.
type Forecast struct {
	Deliveries   Interval `json:"deliveries"`
	Opens        Interval `json:"opens"`
	Clicks       Interval `json:"clicks"`
	Conversions  Interval `json:"conversions"`
	RevenueCents Interval `json:"revenueCents"`
	Campaigns    int      `json:"campaigns"` // past campaigns on the channel it rests on
}

// MinCampaigns is the number of past campaigns on a channel a forecast
// needs: fewer cannot say how much campaigns differ from each other.
const MinCampaigns = 3

// forecastDraws is the number of posterior predictive draws per forecast.
const forecastDraws = 2000

// rateModel is the distribution of a funnel rate across campaigns:
// Beta(mean·φ, (1-mean)·φ).
type rateModel struct{ mean, phi float64 }

// fitRate fits the rate of k out of n across campaigns by the method of
// moments of the beta-binomial model (Kleinman 1973): the spread of the
// campaigns' rates beyond what binomial noise explains is the campaigns'
// own variation. The uncertainty of the pooled mean is added to it, so a
// new campaign's rate is drawn from both.
func fitRate(k, n []float64) rateModel {
	var sk, sn, sn2 float64
	for i := range n {
		sk += k[i]
		sn += n[i]
		sn2 += n[i] * n[i]
	}
	if sn == 0 {
		return rateModel{mean: 0.5, phi: 2} // nothing observed: uniform
	}
	mean := (sk + 0.5) / (sn + 1) // Jeffreys-smoothed, never exactly 0 or 1
	var s float64
	m := 0.0
	for i := range n {
		if n[i] == 0 {
			continue
		}
		d := k[i]/n[i] - mean
		s += n[i] * d * d
		m++
	}
	pq := mean * (1 - mean)
	rho := 0.0
	if denom := sn - sn2/sn; denom > 0 {
		rho = (s/pq - (m - 1)) / denom
	}
	rho = math.Min(math.Max(rho, 0), 0.99)
	v := pq*rho + pq/(sn+1) // between campaigns + of the pooled mean
	return rateModel{mean: mean, phi: math.Max(pq/v-1, 0.01)}
}

func (r rateModel) draw(rng *rand.Rand) float64 {
	return distuv.Beta{Alpha: r.mean * r.phi, Beta: (1 - r.mean) * r.phi, Src: rng}.Rand()
}

// ForecastCampaign predicts a draft campaign sending audience messages on
// channel from the past campaigns on that channel (other channels' are
// ignored). Deliveries are a share of the audience; opens, clicks and
// conversions are shares of the deliveries, each rate drawn from its
// across-campaign distribution (fitRate), the counts then binomial.
// Revenue is conversions times an order value drawn from the campaigns'
// conversion-weighted order values (mean and spread). Deterministic for a
// seeded rng.
func ForecastCampaign(history []CampaignOutcome, channel string, audience int64, rng *rand.Rand) (Forecast, error) {
	var past []CampaignOutcome
	for _, c := range history {
		if c.Channel == channel {
			past = append(past, c)
		}
	}
	if len(past) < MinCampaigns {
		return Forecast{}, fmt.Errorf("%w: %d past campaigns on %s, need %d to forecast", ErrInsufficientData, len(past), channel, MinCampaigns)
	}
	if audience < 0 {
		return Forecast{}, fmt.Errorf("predict: audience %d: want ≥ 0", audience)
	}
	col := func(f func(CampaignOutcome) int64) []float64 {
		out := make([]float64, len(past))
		for i, c := range past {
			out[i] = float64(f(c))
		}
		return out
	}
	sent, delivered := col(func(c CampaignOutcome) int64 { return c.Sent }), col(func(c CampaignOutcome) int64 { return c.Delivered })
	deliver := fitRate(delivered, sent)
	open := fitRate(col(func(c CampaignOutcome) int64 { return c.Opened }), delivered)
	click := fitRate(col(func(c CampaignOutcome) int64 { return c.Clicked }), delivered)
	convert := fitRate(col(func(c CampaignOutcome) int64 { return c.Conversions }), delivered)
	aovMean, aovSD := orderValue(past)

	n := float64(audience)
	draws := make([][]float64, 5)
	for i := range draws {
		draws[i] = make([]float64, forecastDraws)
	}
	binom := func(trials, p float64) float64 {
		if trials == 0 {
			return 0
		}
		return distuv.Binomial{N: trials, P: p, Src: rng}.Rand()
	}
	for j := range forecastDraws {
		d := binom(n, deliver.draw(rng))
		draws[0][j] = d
		draws[1][j] = binom(d, open.draw(rng))
		draws[2][j] = binom(d, click.draw(rng))
		c := binom(d, convert.draw(rng))
		draws[3][j] = c
		draws[4][j] = c * math.Max(0, aovMean+aovSD*rng.NormFloat64())
	}
	nd := n * deliver.mean
	f := Forecast{Campaigns: len(past)}
	for i, p := range []*Interval{&f.Deliveries, &f.Opens, &f.Clicks, &f.Conversions, &f.RevenueCents} {
		*p = percentiles(draws[i])
	}
	f.Deliveries.Expected = nd
	f.Opens.Expected = nd * open.mean
	f.Clicks.Expected = nd * click.mean
	f.Conversions.Expected = nd * convert.mean
	f.RevenueCents.Expected = nd * convert.mean * aovMean
	return f, nil
}

// orderValue is the conversion-weighted mean and standard deviation of the
// past campaigns' revenue per conversion.
func orderValue(past []CampaignOutcome) (mean, sd float64) {
	var conv, rev float64
	for _, c := range past {
		conv += float64(c.Conversions)
		rev += float64(c.RevenueCents)
	}
	if conv == 0 {
		return 0, 0
	}
	mean = rev / conv
	var ss float64
	for _, c := range past {
		if c.Conversions > 0 {
			d := float64(c.RevenueCents)/float64(c.Conversions) - mean
			ss += float64(c.Conversions) * d * d
		}
	}
	return mean, math.Sqrt(ss / conv)
}

func percentiles(xs []float64) Interval {
	s := slices.Clone(xs)
	slices.Sort(s)
	at := func(q float64) float64 { return s[int(math.Round(q*float64(len(s)-1)))] }
	return Interval{Low: at(0.1), High: at(0.9)}
}

// BacktestReport is how well ForecastCampaign would have predicted past
// campaigns, each from the ones before it on its channel.
type BacktestReport struct {
	Campaigns int                       `json:"campaigns"` // campaigns forecast (those with ≥ MinCampaigns before them)
	Metrics   map[string]BacktestMetric `json:"metrics"`   // deliveries, opens, clicks, conversions, revenueCents
}

// BacktestMetric is the error on one quantity: the weighted absolute
// percentage error Σ|forecast − actual| / Σ actual, the same for the naive
// forecast that reuses the previous campaign's rates, and the share of
// campaigns whose actual value fell inside the 80 % interval.
type BacktestMetric struct {
	WAPE      float64 `json:"wape"`
	NaiveWAPE float64 `json:"naiveWape"`
	Coverage  float64 `json:"coverage80"`
}

// Backtest forecasts each campaign in history (in time order) from the
// campaigns before it on the same channel, with the audience it really
// had, and reports the errors.
func Backtest(history []CampaignOutcome, rng *rand.Rand) (BacktestReport, error) {
	names := []string{"deliveries", "opens", "clicks", "conversions", "revenueCents"}
	actualOf := func(c CampaignOutcome) []float64 {
		return []float64{float64(c.Delivered), float64(c.Opened), float64(c.Clicked), float64(c.Conversions), float64(c.RevenueCents)}
	}
	var absErr, naiveErr, total, inside [5]float64
	r := BacktestReport{Metrics: map[string]BacktestMetric{}}
	for i, c := range history {
		f, err := ForecastCampaign(history[:i], c.Channel, c.Sent, rng)
		if err != nil {
			continue // too little history on this channel yet
		}
		var prev CampaignOutcome
		for _, p := range history[:i] {
			if p.Channel == c.Channel {
				prev = p
			}
		}
		naive := make([]float64, 5)
		if prev.Sent > 0 {
			scale := float64(c.Sent) / float64(prev.Sent)
			for k, v := range actualOf(prev) {
				naive[k] = v * scale
			}
		}
		r.Campaigns++
		for k, iv := range []Interval{f.Deliveries, f.Opens, f.Clicks, f.Conversions, f.RevenueCents} {
			a := actualOf(c)[k]
			absErr[k] += math.Abs(iv.Expected - a)
			naiveErr[k] += math.Abs(naive[k] - a)
			total[k] += a
			if a >= iv.Low && a <= iv.High {
				inside[k]++
			}
		}
	}
	if r.Campaigns == 0 {
		return BacktestReport{}, fmt.Errorf("%w: no channel has more than %d campaigns to backtest", ErrInsufficientData, MinCampaigns)
	}
	for k, name := range names {
		m := BacktestMetric{Coverage: inside[k] / float64(r.Campaigns)}
		if total[k] > 0 {
			m.WAPE, m.NaiveWAPE = absErr[k]/total[k], naiveErr[k]/total[k]
		}
		r.Metrics[name] = m
	}
	return r, nil
}
