package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/pulsehub/pulsehub/shared/predict"
)

// predictCommand: pulsehub predict --orders FILE --calibration-end YYYY-MM-DD
func predictCommand() command {
	return command{
		summary: "fit BG/NBD and Gamma-Gamma to a CDNOW-format order file and check them on the holdout period",
		run: func(_ context.Context, args []string, stdout, stderr io.Writer) error {
			fs := newFlags("predict", "predict --orders FILE --calibration-end YYYY-MM-DD\n"+
				"Fits on purchase occasions (one per customer per day) up to and including the calibration end,\n"+
				"time in weeks, and compares predicted with actual repeat purchases after it (docs/predictions.md).", stderr)
			orders := fs.String("orders", "", "order file in a CDNOW layout: master (header; customer_id date number_of_cds dollar_value) or sample (master_id sample_id date number_of_cds dollar_value), detected")
			calEnd := fs.String("calibration-end", "", "last day of the calibration period, inclusive (YYYY-MM-DD)")
			if err := parse(fs, args); err != nil {
				return err
			}
			if fs.NArg() > 0 {
				return fmt.Errorf("unexpected argument %q (flags only: --orders FILE --calibration-end YYYY-MM-DD)", fs.Arg(0))
			}
			if *orders == "" || *calEnd == "" {
				return errors.New("--orders FILE and --calibration-end YYYY-MM-DD are both required")
			}
			cal, err := time.Parse(time.DateOnly, *calEnd)
			if err != nil {
				return fmt.Errorf("--calibration-end %q: want a date YYYY-MM-DD", *calEnd)
			}
			out, err := runPredict(*orders, cal)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		},
	}
}

// predictOutput is what `pulsehub predict` prints.
type predictOutput struct {
	BGNBD           predict.BGNBD      `json:"bgnbd"`
	GammaGamma      predict.GammaGamma `json:"gammaGamma"`
	Customers       int                `json:"customers"`
	RepeatCustomers int                `json:"repeatCustomers"`
	Layout          string             `json:"layout"`
	CalibrationEnd  string             `json:"calibrationEnd"`
	LogLikelihood   struct {
		BGNBD      float64 `json:"bgnbd"`
		GammaGamma float64 `json:"gammaGamma"`
	} `json:"logLikelihood"`
	Holdout struct {
		From string `json:"from"`
		To   string `json:"to"`
		predict.HoldoutReport
	} `json:"holdout"`
}

func runPredict(file string, cal time.Time) (predictOutput, error) {
	f, err := os.Open(file)
	if err != nil {
		return predictOutput{}, err
	}
	defer f.Close()
	o, err := predict.ReadCDNOW(f)
	if err != nil {
		return predictOutput{}, fmt.Errorf("%s: %w", file, err)
	}
	if !cal.Before(o.Last) {
		return predictOutput{}, fmt.Errorf("--calibration-end %s leaves no holdout period: the file's last order is on %s", cal.Format(time.DateOnly), o.Last.Format(time.DateOnly))
	}
	// CDNOW dates are days (midnight UTC): the calibration end's orders are in.
	s := predict.SplitAt(o.Customers, cal, o.Last)
	if len(s.Histories) == 0 {
		return predictOutput{}, fmt.Errorf("--calibration-end %s is before the file's first order", cal.Format(time.DateOnly))
	}
	m, err := predict.Fit(s.Histories)
	if err != nil {
		return predictOutput{}, fmt.Errorf("%s up to %s: %w", file, cal.Format(time.DateOnly), err)
	}
	out := predictOutput{
		BGNBD: m.BGNBD, GammaGamma: m.GammaGamma,
		Customers: m.Customers, RepeatCustomers: m.RepeatCustomers,
		Layout: o.Layout, CalibrationEnd: cal.Format(time.DateOnly),
	}
	out.LogLikelihood.BGNBD = m.BGNBD.LogLikelihood(s.Histories)
	out.LogLikelihood.GammaGamma = m.GammaGamma.LogLikelihood(s.Histories)
	out.Holdout.From = cal.AddDate(0, 0, 1).Format(time.DateOnly)
	out.Holdout.To = o.Last.Format(time.DateOnly)
	out.Holdout.HoldoutReport = m.BGNBD.Evaluate(s)
	return out, nil
}
