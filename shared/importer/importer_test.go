package importer

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/pulsehub/pulsehub/shared/shopify"
)

func TestParseMappingErrors(t *testing.T) {
	tests := map[string]string{
		"customer_id=cust,date=day":                  `field "total" is required`,
		"customer_id=cust,date=day,total=a,price=b":  `unknown field "price"`,
		"customer_id=cust,date=day,total":            `"total" is not field=column`,
		"customer_id=a,customer_id=b,date=d,total=t": `mapped twice`,
	}
	for in, want := range tests {
		if _, err := ParseMapping(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseMapping(%q) = %v, want %q", in, err, want)
		}
	}
}

func TestReadCSVNamesRowAndColumn(t *testing.T) {
	m, err := ParseMapping("customer_id=cust,date=day,total=amount")
	if err != nil {
		t.Fatal(err)
	}
	csv := "cust,day,amount\nc1,2024-01-02,12.50\nc2,yesterday,3\nc3,2024-01-03,-4\n"
	_, err = ReadCSV(strings.NewReader(csv), m)
	if err == nil {
		t.Fatal("bad rows accepted")
	}
	for _, want := range []string{`row 3, column "day": "yesterday" is not a date`, `row 4, column "amount": "-4" is not a non-negative amount`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	m2, _ := ParseMapping("customer_id=customer,date=day,total=amount")
	if _, err := ReadCSV(strings.NewReader(csv), m2); err == nil || !strings.Contains(err.Error(), `column "customer" (for customer_id) is not in the header`) {
		t.Errorf("missing column: %v", err)
	}
}

func TestSameDayRowsMergeIntoOneOrder(t *testing.T) {
	m, _ := ParseMapping("customer_id=cust,date=day,total=amount,quantity=qty,email=mail")
	csv := "cust,day,amount,qty,mail\nc1,20240102,10.00,1,a@example.com\nc1,20240102,5.01,2,\nc1,20240105,7.00,1,\nc2,20240102,3.00,1,b@example.com\n"
	rows, err := ReadCSV(strings.NewReader(csv), m)
	if err != nil {
		t.Fatal(err)
	}
	h := FromRows(rows)
	if len(h.Customers) != 2 || len(h.Orders) != 3 {
		t.Fatalf("%d customers, %d orders; want 2 and 3", len(h.Customers), len(h.Orders))
	}
	o := h.Orders[0]
	if o.TotalPrice != "15.01" || o.Email != "a@example.com" || o.Customer.ID != h.Customers[0].ID {
		t.Fatalf("merged order %+v", o)
	}
	var sum int64
	qty := 0
	for _, li := range o.LineItems {
		c, _ := parseMoney(li.Price)
		sum += c * int64(li.Quantity)
		qty += li.Quantity
	}
	if sum != 1501 || qty != 3 {
		t.Fatalf("line items add to %d cents over %d units, want 1501 over 3", sum, qty)
	}
}

func TestLinesAddUpExactly(t *testing.T) {
	for _, tc := range []struct {
		qty   int
		cents int64
	}{{1, 0}, {1, 1499}, {3, 1000}, {7, 9999}, {2, 1}} {
		var sum int64
		n := 0
		for _, li := range Lines(0, "t", "s", tc.qty, tc.cents) {
			c, _ := parseMoney(li.Price)
			sum += c * int64(li.Quantity)
			n += li.Quantity
		}
		if sum != tc.cents || n != tc.qty {
			t.Errorf("Lines(%d, %d) sums to %d over %d", tc.qty, tc.cents, sum, n)
		}
	}
}

func TestSenderSignsAndRetries(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := make([]byte, r.ContentLength)
		_, _ = r.Body.Read(body)
		if !shopify.Valid("s", body, r.Header.Get(shopify.HeaderHmac)) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		mu.Lock()
		seen[r.Header.Get(shopify.HeaderWebhookID)]++
		n := seen[r.Header.Get(shopify.HeaderWebhookID)]
		mu.Unlock()
		if n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable) // first try fails
		}
	}))
	defer srv.Close()
	m, _ := ParseMapping("customer_id=c,date=d,total=t")
	rows, _ := ReadCSV(strings.NewReader("c,d,t\n1,2024-01-01,1\n2,2024-01-02,2\n"), m)
	ds, err := Deliveries("x.myshopify.com", FromRows(rows))
	if err != nil {
		t.Fatal(err)
	}
	s := &Sender{URL: srv.URL, Secret: "s", Concurrency: 2}
	if err := s.Send(context.Background(), ds); err != nil {
		t.Fatal(err)
	}
	if s.Sent.Load() != 4 || len(seen) != 4 {
		t.Fatalf("sent %d, server saw %d distinct", s.Sent.Load(), len(seen))
	}
	bad := &Sender{URL: srv.URL, Secret: "wrong"}
	if err := bad.Send(context.Background(), ds); err == nil || !strings.Contains(err.Error(), "rejected with 401") {
		t.Fatalf("wrong secret: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("cust,day,amount\nc1,2024-01-02,12.50\n", "customer_id=cust,date=day,total=amount")
	f.Fuzz(func(t *testing.T, csv, mapping string) {
		m, err := ParseMapping(mapping)
		if err != nil {
			return
		}
		rows, err := ReadCSV(strings.NewReader(csv), m)
		if err != nil {
			return
		}
		for _, o := range FromRows(rows).Orders {
			if len(o.LineItems) == 0 || o.Customer == nil {
				t.Fatalf("order without lines or customer: %+v", o)
			}
		}
	})
}
