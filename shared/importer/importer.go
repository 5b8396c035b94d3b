package importer

import (
	"encoding/csv"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pulsehub/pulsehub/shared/shopify"
)

// Row is one parsed input row.
type Row struct {
	Line       int // 1-based line in the file (the header is line 1)
	CustomerID string
	Date       time.Time
	TotalCents int64
	OrderID    string
	Email      string
	Phone      string
	FirstName  string
	LastName   string
	Quantity   int
	Currency   string
	SKU        string
	Title      string
}

// RowError names the row and column at fault.
type RowError struct {
	Line   int
	Column string
	Value  string
	Reason string
}

func (e *RowError) Error() string {
	return fmt.Sprintf("row %d, column %q: %q %s", e.Line, e.Column, e.Value, e.Reason)
}

// maxErrors bounds the errors collected before giving up.
const maxErrors = 20

// ReadCSV parses a CSV file with a header row. All row errors (up to 20)
// are returned together, each naming its row and column.
func ReadCSV(r io.Reader, m Mapping) ([]Row, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("importer: read header: %w", err)
	}
	var records [][]string
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("importer: %w", err)
		}
		records = append(records, rec)
	}
	return Parse(header, records, m, 2)
}

// Parse maps records (after the header) to rows; firstLine is the line
// number of records[0].
func Parse(header []string, records [][]string, m Mapping, firstLine int) ([]Row, error) {
	idx, err := m.index(header)
	if err != nil {
		return nil, err
	}
	var errs []error
	rows := make([]Row, 0, len(records))
	for n, rec := range records {
		line := firstLine + n
		get := func(field string) string {
			i, ok := idx[field]
			if !ok || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		fail := func(field, reason string) {
			if len(errs) < maxErrors {
				errs = append(errs, &RowError{Line: line, Column: m[field], Value: get(field), Reason: reason})
			}
		}
		row := Row{Line: line, CustomerID: get("customer_id"), OrderID: get("order_id"), Email: get("email"), Phone: get("phone"),
			FirstName: get("first_name"), LastName: get("last_name"), Currency: strings.ToUpper(get("currency")), SKU: get("sku"), Title: get("title"), Quantity: 1}
		if row.CustomerID == "" {
			fail("customer_id", "is empty")
		}
		if d, ok := parseDate(get("date")); ok {
			row.Date = d
		} else {
			fail("date", "is not a date (YYYY-MM-DD, YYYYMMDD or RFC 3339)")
		}
		if c, ok := parseMoney(get("total")); ok {
			row.TotalCents = c
		} else {
			fail("total", "is not a non-negative amount like 12.34")
		}
		if q := get("quantity"); q != "" {
			n, err := strconv.Atoi(q)
			if err != nil || n < 1 {
				fail("quantity", "is not a positive whole number")
			}
			row.Quantity = n
		}
		if row.Currency == "" {
			row.Currency = "USD"
		}
		rows = append(rows, row)
	}
	if len(errs) > 0 {
		if len(errs) == maxErrors {
			errs = append(errs, errors.New("(further errors not shown)"))
		}
		return nil, fmt.Errorf("importer: %w", errors.Join(errs...))
	}
	return rows, nil
}

func parseDate(s string) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02", "20060102", time.RFC3339, "2006-01-02 15:04:05", "01/02/2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func parseMoney(s string) (int64, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "$")
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) || f > 1e9 {
		return 0, false
	}
	return int64(math.Round(f * 100)), true
}

// Purchase is one order to create: rows of one customer on one day (or
// with one order id) merged.
type Purchase struct {
	Key        string // customer_id + day, or order_id
	CustomerID string
	Date       time.Time
	TotalCents int64
	Quantity   int
	Rows       []Row
}

// Group merges rows into purchases, ordered by date then key.
func Group(rows []Row) []Purchase {
	byKey := map[string]*Purchase{}
	var keys []string
	for _, r := range rows {
		k := r.CustomerID + "|" + r.Date.Format("2006-01-02")
		if r.OrderID != "" {
			k = "order|" + r.OrderID
		}
		p, ok := byKey[k]
		if !ok {
			p = &Purchase{Key: k, CustomerID: r.CustomerID, Date: r.Date}
			byKey[k] = p
			keys = append(keys, k)
		}
		p.TotalCents += r.TotalCents
		p.Quantity += r.Quantity
		p.Rows = append(p.Rows, r)
	}
	out := make([]Purchase, 0, len(keys))
	for _, k := range keys {
		out = append(out, *byKey[k])
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Date.Equal(out[j].Date) {
			return out[i].Date.Before(out[j].Date)
		}
		return out[i].Key < out[j].Key
	})
	return out
}

// ID derives a stable positive numeric id (Shopify ids are numbers) from a key.
func ID(kind, key string) int64 {
	h := fnv.New64a()
	h.Write([]byte(kind + "\x00" + key))
	return int64(h.Sum64()>>12) + 1 // 52 bits: exact in JSON numbers
}

// Money formats cents as Shopify does ("12.30").
func Money(cents int64) string { return fmt.Sprintf("%d.%02d", cents/100, cents%100) }

// Order builds the Shopify order of p for customer c. Line items come from
// the rows (title/sku/quantity when mapped); their prices add up to the total.
func Order(p Purchase, c shopify.Customer, number int, at time.Time) shopify.Order {
	o := shopify.Order{
		ID: ID("order", p.Key), Name: "#" + strconv.Itoa(number), OrderNumber: number,
		Email: c.Email, Phone: c.Phone, CreatedAt: at, UpdatedAt: at, ProcessedAt: &at,
		Currency: p.Rows[0].Currency, TotalPrice: Money(p.TotalCents), SubtotalPrice: Money(p.TotalCents),
		TotalTax: "0.00", TotalDiscounts: "0.00", FinancialStatus: "paid", SourceName: "import", Tags: "imported",
		Customer:  &shopify.Customer{ID: c.ID, Email: c.Email, Phone: c.Phone, FirstName: c.FirstName, LastName: c.LastName},
		LineItems: []shopify.LineItem{}, Refunds: []shopify.Refund{},
	}
	for i, r := range p.Rows {
		title := r.Title
		if title == "" {
			title = "Imported item"
		}
		o.LineItems = append(o.LineItems, Lines(o.ID*100+int64(i*10), title, r.SKU, r.Quantity, r.TotalCents)...)
	}
	return o
}

// Lines splits cents over qty units as one or two line items whose prices
// (unit and unit + 1 cent) add up exactly to cents.
func Lines(id int64, title, sku string, qty int, cents int64) []shopify.LineItem {
	if qty < 1 {
		qty = 1
	}
	unit := cents / int64(qty)
	extra := int(cents - unit*int64(qty)) // units that cost one cent more
	var out []shopify.LineItem
	if qty-extra > 0 {
		out = append(out, shopify.LineItem{ID: id + 1, Title: title, SKU: sku, Quantity: qty - extra, Price: Money(unit)})
	}
	if extra > 0 {
		out = append(out, shopify.LineItem{ID: id + 2, Title: title, SKU: sku, Quantity: extra, Price: Money(unit + 1)})
	}
	return out
}
