package predict

import (
	"strings"
	"testing"
	"time"
)

func TestReadCDNOW(t *testing.T) {
	master := " customer_id  date number_of_cds  dollar_value\n 00001 19970101  1   11.77\n 00002 19970112  1   12.00\n\n 00002 19970112  5   77.5\n"
	o, err := ReadCDNOW(strings.NewReader(master))
	if err != nil {
		t.Fatal(err)
	}
	d := func(s string) time.Time { x, _ := time.Parse("20060102", s); return x }
	if o.Layout != "master" || o.Rows != 3 || len(o.Customers) != 2 || !o.Last.Equal(d("19970112")) ||
		o.Customers["00002"][1] != (Purchase{At: d("19970112"), Cents: 7750}) || o.Customers["00001"][0].Cents != 1177 {
		t.Errorf("master: %+v", o)
	}
	sample := " 00004 0001 19970101  2   29.33\n 00004 0001 19970118  2   29.73\n 00021 0002 19970101  3   63.34\n"
	o, err = ReadCDNOW(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if o.Layout != "sample" || o.Rows != 3 || len(o.Customers["00004"]) != 2 || o.Customers["00021"][0].Cents != 6334 || !o.Last.Equal(d("19970118")) {
		t.Errorf("sample: %+v", o)
	}

	for _, tc := range []struct{ in, want string }{
		{"", "no orders in the file"},
		{"customer_id date number_of_cds dollar_value\n", "no orders in the file"},
		{"1 19970101 1\n", "line 1: 3 columns: want 4 (master"},
		{"1 19970101 1 1.00\n2 19970101 1 1.00 9\n", "line 2: 5 columns, want 4 like the first line (master layout)"},
		{"x y\nz w\n", "line 2: 2 columns"},
		{"1 1997-01-01 1 1.00\n", `line 1: date "1997-01-01": want YYYYMMDD`},
		{"1 19971301 1 1.00\n", `line 1: date "19971301"`},
		{"1 19970101 one 1.00\n", `line 1: number_of_cds "one"`},
		{"1 19970101 1 -1.00\n", `line 1: dollar_value "-1.00": want a non-negative amount`},
		{"1 19970101 1 1.005\n", `dollar_value "1.005"`},
		{"1 19970101 1 1.\n", `dollar_value "1."`},
		{"1 19970101 1 .5\n", `dollar_value ".5"`},
		{"1 19970101 1 1e3\n", `dollar_value "1e3"`},
		{"1 19970101 1 1.00\nA 19970101 1 1.00\n", `line 2: customer id "A": want digits`},
	} {
		_, err := ReadCDNOW(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestParseCents(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "0.00": 0, "12": 1200, "11.77": 1177, "0.5": 50, "1000.05": 100005, "007.10": 710} {
		if got, err := parseCents(in); err != nil || got != want {
			t.Errorf("parseCents(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}

// FuzzReadCDNOW: any input either fails with an error naming a line or a
// reason, or yields orders that are consistent with what was read.
func FuzzReadCDNOW(f *testing.F) {
	f.Add(" customer_id  date number_of_cds  dollar_value\n 00001 19970101  1   11.77\n")
	f.Add(" 00004 0001 19970101  2   29.33\n 00004 0001 19970118  2   29.73\n")
	f.Add("1 19970101 1 1.5\n\n2 19980630 3 0\n")
	f.Add("1 19970101 1 99999999999.99\n")
	f.Fuzz(func(t *testing.T, in string) {
		o, err := ReadCDNOW(strings.NewReader(in))
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if o.Layout != "master" && o.Layout != "sample" {
			t.Fatalf("layout %q", o.Layout)
		}
		n := 0
		for id, ps := range o.Customers {
			if id == "" || len(ps) == 0 {
				t.Fatalf("customer %q with %d orders", id, len(ps))
			}
			for _, p := range ps {
				if p.Cents < 0 || p.At.After(o.Last) || p.At.Year() < 0 {
					t.Fatalf("order %+v (last %v)", p, o.Last)
				}
			}
			n += len(ps)
		}
		if n != o.Rows || n == 0 {
			t.Fatalf("%d orders by customer, %d rows", n, o.Rows)
		}
	})
}
