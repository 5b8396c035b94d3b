package predict

import (
	"math/rand/v2"
	"testing"
	"time"
)

// BenchmarkFitCDNOWMaster: BG/NBD and Gamma-Gamma on the 23,570 customers
// of CDNOW_master, 39 weeks of calibration (goal ≤ 2 s).
func BenchmarkFitCDNOWMaster(b *testing.B) {
	s := cdnowSplit(b, "CDNOW_master.txt")
	for b.Loop() {
		if _, err := Fit(s.Histories); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSummariseCDNOWMaster: turning the file's orders into histories.
func BenchmarkSummariseCDNOWMaster(b *testing.B) {
	o := readCDNOW(b, "CDNOW_master.txt")
	end := time.Date(1997, 9, 30, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		for _, ps := range o.Customers {
			Summarise(ps, end)
		}
	}
}

// BenchmarkPredict: one customer's five predictions.
func BenchmarkPredict(b *testing.B) {
	m := Model{BGNBD: BGNBD{R: 0.2516, Alpha: 4.789, A: 0.7234, B: 2.161}, GammaGamma: GammaGamma{P: 6.275, Q: 3.624, Gamma: 14.98}}
	hs := []History{{T: 30}, {Frequency: 2, Recency: 20, T: 35, MeanValue: 40}, {Frequency: 12, Recency: 38, T: 38.5, MeanValue: 25}}
	now := time.Now()
	for i := 0; b.Loop(); i++ {
		m.Predict(hs[i%len(hs)], now)
	}
}

func sendTimeBench(b *testing.B, count int) {
	pop := simulateSendTimes(rand.New(rand.NewPCG(1, 1)), 500, 6)
	m := SendTimeModel{Tenant: pop.tenant}
	rng := rand.New(rand.NewPCG(2, 2))
	for i := 0; b.Loop(); i++ {
		c := i % len(pop.seen)
		if _, err := m.Recommend(&pop.seen[c], &pop.segments[pop.segment[c]], 24*(i%7), count, rng); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSendTimeDay: one customer's best hour within a day (100 posterior draws).
func BenchmarkSendTimeDay(b *testing.B) { sendTimeBench(b, 24) }

// BenchmarkSendTimeWeek: one customer's best hour within the week.
func BenchmarkSendTimeWeek(b *testing.B) { sendTimeBench(b, HoursPerWeek) }

// BenchmarkChooseChannel: one Thompson-sampling choice among four channels.
func BenchmarkChooseChannel(b *testing.B) {
	opts := []ChannelOption{
		{"email", Beta{40, 2000}, 0.1}, {"sms", Beta{30, 800}, 7}, {"push", Beta{5, 900}, 0.01}, {"whatsapp", Beta{12, 300}, 5},
	}
	allowed := []string{"email", "sms", "push", "whatsapp"}
	rng := rand.New(rand.NewPCG(3, 3))
	for b.Loop() {
		if _, err := ChooseChannel(rng, opts, allowed, 4000); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkForecastCampaign: one draft campaign forecast from 50 past campaigns.
func BenchmarkForecastCampaign(b *testing.B) {
	history := simulateCampaigns(rand.New(rand.NewPCG(4, 4)), 50)
	rng := rand.New(rand.NewPCG(5, 5))
	for b.Loop() {
		if _, err := ForecastCampaign(history, "email", 25000, rng); err != nil {
			b.Fatal(err)
		}
	}
}
