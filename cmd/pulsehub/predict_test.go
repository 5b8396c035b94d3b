package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The CDNOW 1/10 sample, as the demo workspace embeds it.
const cdnowSample = "../../shared/demo/cdnow_sample.txt"

func TestPredictCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"predict", "--orders", cdnowSample, "--calibration-end", "1997-09-30"}, &stdout, &stderr, noEnv)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var out struct {
		BGNBD      map[string]float64 `json:"bgnbd"`
		GammaGamma map[string]float64 `json:"gammaGamma"`
		Customers  int                `json:"customers"`
		Layout     string             `json:"layout"`
		Holdout    struct {
			From, To string
			Weeks    float64
			Actual   int `json:"actualRepeatPurchases"`
			Model    struct {
				Predicted float64 `json:"predictedRepeatPurchases"`
				MAE, RMSE float64
			}
			Baseline struct {
				Predicted float64 `json:"predictedRepeatPurchases"`
				MAE, RMSE float64
			}
		}
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("%v: %s", err, stdout.String())
	}
	// The published fit of this file, to its rounding (docs/predictions.md).
	want := map[string]float64{"r": 0.2426, "alpha": 4.414, "a": 0.7929, "b": 2.426, "p": 6.25, "q": 3.74, "gamma": 15.44}
	got := map[string]float64{}
	for k, v := range out.BGNBD {
		got[k] = v
	}
	for k, v := range out.GammaGamma {
		got[k] = v
	}
	for k, w := range want {
		if math.Abs(got[k]-w) > 2e-3*w {
			t.Errorf("%s = %v, want %v", k, got[k], w)
		}
	}
	h := out.Holdout
	if out.Customers != 2357 || out.Layout != "sample" || h.From != "1997-10-01" || h.To != "1998-06-30" || h.Weeks != 39 ||
		h.Actual == 0 || h.Model.Predicted == 0 || !(h.Model.MAE < h.Baseline.MAE) || !(h.Model.RMSE < h.Baseline.RMSE) {
		t.Errorf("output: %s", stdout.String())
	}
}

func TestPredictCommandErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := write("bad.txt", " 00001 19970101  1   11.77\n 00002 1997011  1   12.00\n")
	few := write("few.txt", " 00001 19970101  1   11.77\n 00001 19970301  1   12.00\n 00002 19970601  1   5.00\n")
	tests := []struct {
		args       []string
		code       int
		wantStderr string
	}{
		{[]string{"predict", "--help"}, 0, "usage: pulsehub predict --orders FILE --calibration-end YYYY-MM-DD"},
		{[]string{"predict"}, 1, "--orders FILE and --calibration-end YYYY-MM-DD are both required"},
		{[]string{"predict", "--orders", cdnowSample}, 1, "are both required"},
		{[]string{"predict", "--orders", cdnowSample, "--calibration-end", "30/09/1997"}, 1, `--calibration-end "30/09/1997": want a date YYYY-MM-DD`},
		{[]string{"predict", "--orders", cdnowSample, "--calibration-end", "1997-09-30", "extra"}, 1, `unexpected argument "extra"`},
		{[]string{"predict", "--bogus"}, 2, "flag provided but not defined: -bogus"},
		{[]string{"predict", "--orders", filepath.Join(dir, "missing.txt"), "--calibration-end", "1997-09-30"}, 1, "missing.txt: no such file"},
		{[]string{"predict", "--orders", bad, "--calibration-end", "1997-09-30"}, 1, bad + `: line 2: date "1997011": want YYYYMMDD`},
		{[]string{"predict", "--orders", cdnowSample, "--calibration-end", "1998-06-30"}, 1, "leaves no holdout period: the file's last order is on 1998-06-30"},
		{[]string{"predict", "--orders", cdnowSample, "--calibration-end", "1996-12-31"}, 1, "is before the file's first order"},
		{[]string{"predict", "--orders", few, "--calibration-end", "1997-03-31"}, 1, "not enough data to fit: BG/NBD needs ≥ 50 customers"},
	}
	for _, tc := range tests {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tc.args, &stdout, &stderr, noEnv)
		if code != tc.code || !strings.Contains(stderr.String(), tc.wantStderr) {
			t.Errorf("pulsehub %v: exit %d, stderr %q; want exit %d and %q", tc.args, code, stderr.String(), tc.code, tc.wantStderr)
		}
	}
}
