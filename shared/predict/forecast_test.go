package predict

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// simulateCampaigns draws n past email campaigns whose per-campaign funnel
// rates come from known Beta distributions (campaigns differ: subject lines,
// offers, seasons) and whose order values vary by campaign and by order.
func simulateCampaigns(rng *rand.Rand, n int) []CampaignOutcome {
	beta := func(mean, phi float64) float64 {
		a, b := gammaDraw(rng, mean*phi), gammaDraw(rng, (1-mean)*phi)
		return a / (a + b)
	}
	binom := func(trials int64, p float64) int64 {
		// A normal approximation is plenty for counts this large; small ones exactly.
		if trials < 200 {
			var k int64
			for range trials {
				if rng.Float64() < p {
					k++
				}
			}
			return k
		}
		m, sd := float64(trials)*p, math.Sqrt(float64(trials)*p*(1-p))
		return int64(math.Max(0, math.Min(float64(trials), math.Round(m+sd*rng.NormFloat64()))))
	}
	var out []CampaignOutcome
	for range n {
		sent := int64(2000 + rng.IntN(48000))
		c := CampaignOutcome{Channel: "email", Sent: sent}
		c.Delivered = binom(sent, beta(0.97, 400))
		c.Opened = binom(c.Delivered, beta(0.25, 60))
		c.Clicked = binom(c.Delivered, beta(0.03, 120))
		c.Conversions = binom(c.Delivered, beta(0.008, 150))
		aov := 6000 + 800*rng.NormFloat64()
		for range c.Conversions {
			c.RevenueCents += int64(math.Max(100, aov+2500*rng.NormFloat64()))
		}
		out = append(out, c)
	}
	return out
}

// On simulated campaigns with known rate distributions, the 80 % intervals
// hold about 80 % of the actual outcomes and the expected values beat the
// naive "previous campaign's rates" forecast. The test logs the figures
// (docs/predictions.md reports them).
func TestBacktestOnSimulatedCampaigns(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	history := simulateCampaigns(rng, 80)
	// An SMS campaign in between is ignored by the email forecasts and
	// has too little history of its own to be forecast.
	history = append(history[:40], append([]CampaignOutcome{{Channel: "sms", Sent: 1000, Delivered: 990, Clicked: 40, Conversions: 9, RevenueCents: 54000}}, history[40:]...)...)
	r, err := Backtest(history, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if r.Campaigns != 80-MinCampaigns {
		t.Errorf("%d campaigns forecast, want %d", r.Campaigns, 80-MinCampaigns)
	}
	for _, name := range []string{"deliveries", "opens", "clicks", "conversions", "revenueCents"} {
		m := r.Metrics[name]
		t.Logf("%-12s WAPE %.3f (naive %.3f), 80 %% interval coverage %.2f", name, m.WAPE, m.NaiveWAPE, m.Coverage)
		// 77 forecasts: the coverage's standard error is about 0.05.
		if m.Coverage < 0.65 || m.Coverage > 0.95 {
			t.Errorf("%s: 80 %% intervals held %.2f of the outcomes", name, m.Coverage)
		}
		if !(m.WAPE < m.NaiveWAPE) {
			t.Errorf("%s: WAPE %.3f not better than the naive %.3f", name, m.WAPE, m.NaiveWAPE)
		}
	}
}

func TestForecastCampaign(t *testing.T) {
	history := simulateCampaigns(rand.New(rand.NewPCG(5, 6)), 30)
	f, err := ForecastCampaign(history, "email", 10000, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	g, _ := ForecastCampaign(history, "email", 10000, rand.New(rand.NewPCG(1, 1)))
	if f != g {
		t.Errorf("same seed, different forecasts: %+v %+v", f, g)
	}
	for name, iv := range map[string]Interval{"deliveries": f.Deliveries, "opens": f.Opens, "clicks": f.Clicks, "conversions": f.Conversions, "revenue": f.RevenueCents} {
		if !(iv.Low < iv.Expected && iv.Expected < iv.High) {
			t.Errorf("%s: %+v", name, iv)
		}
	}
	// The expectation follows the known truth: 10,000 × 0.97 × 0.008 ≈ 78 conversions.
	if f.Campaigns != 30 || math.Abs(f.Deliveries.Expected-9700) > 100 || math.Abs(f.Conversions.Expected-77.6) > 15 {
		t.Errorf("forecast %+v", f)
	}
	if _, err := ForecastCampaign(history[:2], "email", 10, rand.New(rand.NewPCG(1, 1))); !errors.Is(err, ErrInsufficientData) {
		t.Errorf("2 campaigns: err = %v", err)
	}
	if _, err := ForecastCampaign(history, "push", 10, rand.New(rand.NewPCG(1, 1))); !errors.Is(err, ErrInsufficientData) {
		t.Errorf("no push campaigns: err = %v", err)
	}
	if _, err := ForecastCampaign(history, "email", -1, rand.New(rand.NewPCG(1, 1))); err == nil {
		t.Error("negative audience accepted")
	}
}
