package predict

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Orders is an order file read by customer.
type Orders struct {
	Layout    string                // "master" or "sample"
	Customers map[string][]Purchase // by customer id, in file order
	Rows      int
	Last      time.Time // the latest order date
}

// ReadCDNOW reads a file in either layout of the CDNOW data set
// (whitespace-separated, dates YYYYMMDD, dollar values with cents):
//
//	master: customer_id date number_of_cds dollar_value (a header line)
//	sample: master_id sample_id date number_of_cds dollar_value (no header)
//
// The layout is detected from the first line's column count; a header line
// (any line whose first field is not a number) is allowed before the data
// in either. Customers are keyed by the master id in both. Errors name the
// line and the column.
func ReadCDNOW(r io.Reader) (Orders, error) {
	o := Orders{Customers: map[string][]Purchase{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	cols, line, header := 0, 0, false
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if cols == 0 {
			if _, err := strconv.ParseUint(f[0], 10, 64); err != nil && !header {
				header = true // column names before the first order
				continue
			}
			switch len(f) {
			case 4:
				o.Layout = "master"
			case 5:
				o.Layout = "sample"
			default:
				return Orders{}, fmt.Errorf("line %d: %d columns: want 4 (master: customer_id date number_of_cds dollar_value) or 5 (sample: master_id sample_id date number_of_cds dollar_value)", line, len(f))
			}
			cols = len(f)
		}
		if len(f) != cols {
			return Orders{}, fmt.Errorf("line %d: %d columns, want %d like the first line (%s layout)", line, len(f), cols, o.Layout)
		}
		id, date, value := f[0], f[cols-3], f[cols-1]
		if _, err := strconv.ParseUint(id, 10, 64); err != nil {
			return Orders{}, fmt.Errorf("line %d: customer id %q: want digits", line, id)
		}
		at, err := time.Parse("20060102", date)
		if err != nil || len(date) != 8 {
			return Orders{}, fmt.Errorf("line %d: date %q: want YYYYMMDD", line, date)
		}
		if _, err := strconv.ParseUint(f[cols-2], 10, 32); err != nil {
			return Orders{}, fmt.Errorf("line %d: number_of_cds %q: want a whole number", line, f[cols-2])
		}
		cents, err := parseCents(value)
		if err != nil {
			return Orders{}, fmt.Errorf("line %d: dollar_value %q: %v", line, value, err)
		}
		o.Customers[id] = append(o.Customers[id], Purchase{At: at, Cents: cents})
		o.Rows++
		if at.After(o.Last) {
			o.Last = at
		}
	}
	if err := sc.Err(); err != nil {
		return Orders{}, fmt.Errorf("line %d: %w", line+1, err)
	}
	if o.Rows == 0 {
		return Orders{}, fmt.Errorf("no orders in the file")
	}
	return o, nil
}

// parseCents reads a non-negative decimal amount with at most two decimals
// ("11.77", "12", "0.5") exactly, as cents.
func parseCents(s string) (int64, error) {
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || len(frac) > 2 || (hasDot && frac == "") || len(whole) > 12 {
		return 0, fmt.Errorf("want a non-negative amount with at most two decimals")
	}
	w, err := strconv.ParseUint(whole, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("want a non-negative amount with at most two decimals")
	}
	var c uint64
	if frac != "" {
		c, err = strconv.ParseUint(frac, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("want a non-negative amount with at most two decimals")
		}
		if len(frac) == 1 {
			c *= 10
		}
	}
	return int64(w*100 + c), nil
}
