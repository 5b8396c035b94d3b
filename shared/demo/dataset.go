package demo

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/pulsehub/pulsehub/shared/importer"
	"github.com/pulsehub/pulsehub/shared/shopify"
)

//go:embed cdnow_sample.txt
var cdnowSample []byte

// Demo workspace constants (docs/demo.md).
const (
	Workspace         = "demo"
	OwnerEmail        = "owner@demo.test"
	OwnerPassword     = "demo-password-1"
	ShopDomain        = "demo-store.myshopify.com"
	ShopWebhookSecret = "demo-shopify-secret"
	ShopAccessToken   = "shpat_demo_store_token"
	MetaAppID         = "100000000000001"
	MetaPixelID       = "100000000000002"
	MetaAppSecret     = "demo-meta-secret"
	MetaVerifyToken   = "demo-verify-token"
	MetaAccessToken   = "demo-meta-capi-token"
	WriteKey          = "demo-write-key"
	GTMAccountID      = "6000000001"
	GTMContainerID    = "9000000001"
	GTMAPIToken       = "demo-gtm-api-token"
)

// CDNOWMapping reads the sample's columns (master id, sample id, date,
// number of CDs, dollar value) with the importer.
const CDNOWMapping = "customer_id=sample_id,date=date,quantity=cds,total=value"

// CollectEvent is one /collect event.
type CollectEvent struct {
	Event       string         `json:"event"`
	EventID     string         `json:"eventId"`
	Timestamp   string         `json:"timestamp"`
	UserID      string         `json:"userId,omitempty"`
	AnonymousID string         `json:"anonymousId,omitempty"`
	Email       string         `json:"email,omitempty"`
	Properties  map[string]any `json:"properties"`
}

// Dataset is everything the seed sends.
type Dataset struct {
	History   importer.History
	Webhooks  []shopify.Delivery // in sending order
	Collect   []CollectEvent
	Refunds   int
	Cancelled int
	Abandoned int
}

// CD is a product of the demo store.
type CD struct {
	ID, VariantID int64
	SKU, Title    string
	Artist        string
}

// Build derives the dataset for a history ending on today.
func Build(today time.Time) (Dataset, error) {
	rows, err := cdnowRows()
	if err != nil {
		return Dataset{}, err
	}
	var last time.Time
	for _, r := range rows {
		if r.Date.After(last) {
			last = r.Date
		}
	}
	day := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)
	shift := day.Sub(last)
	for i := range rows {
		rows[i].Date = rows[i].Date.Add(shift)
	}
	h := importer.FromRows(rows)
	rng := rand.New(rand.NewPCG(1997, 6))
	for i := range h.Customers {
		enrichCustomer(&h.Customers[i], i, rand.New(rand.NewPCG(uint64(h.Customers[i].ID), 7)))
	}
	byID := map[int64]*shopify.Customer{}
	for i := range h.Customers {
		byID[h.Customers[i].ID] = &h.Customers[i]
	}
	cds := catalogCDs()
	// Orders: CDs for line items, a time of day, the customer's details.
	for i := range h.Orders {
		o := &h.Orders[i]
		c := byID[o.Customer.ID]
		orng := rand.New(rand.NewPCG(uint64(o.ID), 11))
		at := o.CreatedAt.Truncate(24 * time.Hour).Add(time.Duration(8*3600+orng.IntN(14*3600)) * time.Second)
		if at.After(today) {
			at = today.Add(-time.Duration(orng.IntN(3600)+60) * time.Second)
		}
		o.CreatedAt, o.UpdatedAt, o.ProcessedAt = at, at, &at
		o.Email, o.Phone = c.Email, c.Phone
		o.Customer = &shopify.Customer{ID: c.ID, Email: c.Email, Phone: c.Phone, FirstName: c.FirstName, LastName: c.LastName}
		o.BuyerAcceptsMarketing = c.EmailMarketingConsent != nil && c.EmailMarketingConsent.State == "subscribed"
		o.SourceName, o.Tags = "web", ""
		o.BrowserIP = fmt.Sprintf("198.51.100.%d", 1+orng.IntN(254))
		o.ClientDetails = &shopify.ClientDetails{BrowserIP: o.BrowserIP, UserAgent: userAgents[orng.IntN(len(userAgents))]}
		o.LineItems = cdLines(o, cds, orng)
	}
	d := Dataset{History: h}
	return d, d.webhooks(today, byID, cds, rng)
}

func cdnowRows() ([]importer.Row, error) {
	header := []string{"master_id", "sample_id", "date", "cds", "value"}
	var recs [][]string
	sc := bufio.NewScanner(bytes.NewReader(cdnowSample))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		recs = append(recs, f)
	}
	m, err := importer.ParseMapping(CDNOWMapping)
	if err != nil {
		return nil, err
	}
	rows, err := importer.Parse(header, recs, m, 1)
	if err != nil {
		return nil, fmt.Errorf("demo: CDNOW sample: %w", err)
	}
	return rows, nil
}

var (
	firstNames = []string{"Mary", "James", "Patricia", "John", "Jennifer", "Robert", "Linda", "Michael", "Elizabeth", "William", "Barbara", "David", "Susan", "Richard", "Jessica", "Joseph", "Sarah", "Thomas", "Karen", "Charles", "Lisa", "Daniel", "Nancy", "Matthew", "Sandra", "Anthony", "Ashley", "Mark", "Emily", "Paul", "Chloé", "José", "Zoë", "Renée", "Andrés", "Aisha", "Wei", "Yuki", "Priya", "Omar"}
	lastNames  = []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "O'Brien", "Nguyen", "Kim", "Patel", "Müller"}
	cities     = []struct{ city, province, code, zip string }{
		{"New York", "New York", "NY", "10001"}, {"Los Angeles", "California", "CA", "90012"}, {"Chicago", "Illinois", "IL", "60601"},
		{"Houston", "Texas", "TX", "77002"}, {"Phoenix", "Arizona", "AZ", "85004"}, {"Philadelphia", "Pennsylvania", "PA", "19107"},
		{"San Diego", "California", "CA", "92101"}, {"Seattle", "Washington", "WA", "98101"}, {"Denver", "Colorado", "CO", "80202"},
		{"Boston", "Massachusetts", "MA", "02108"}, {"Atlanta", "Georgia", "GA", "30303"}, {"Portland", "Oregon", "OR", "97204"},
	}
	userAgents = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36",
	}
)

func enrichCustomer(c *shopify.Customer, i int, r *rand.Rand) {
	c.FirstName = firstNames[r.IntN(len(firstNames))]
	c.LastName = lastNames[r.IntN(len(lastNames))]
	local := strings.NewReplacer("'", "", "é", "e", "ë", "e", "ü", "u", "É", "e").Replace(strings.ToLower(c.FirstName + "." + c.LastName))
	c.Email = fmt.Sprintf("%s%d@example.com", local, i+1)
	c.Phone = fmt.Sprintf("+1555%07d", 1000000+i*37%9000000)
	city := cities[r.IntN(len(cities))]
	c.DefaultAddress = &shopify.Address{FirstName: c.FirstName, LastName: c.LastName, Address1: fmt.Sprintf("%d Main St", 1+r.IntN(999)),
		City: city.city, Province: city.province, ProvinceCode: city.code, Zip: city.zip, Country: "United States", CountryCode: "US", Phone: c.Phone}
	c.State, c.VerifiedEmail, c.Currency, c.Tags = "enabled", true, "USD", ""
	at := *c.CreatedAt
	emailState, smsState := "not_subscribed", "not_subscribed"
	if r.Float64() < 0.7 {
		emailState = "subscribed"
	}
	if r.Float64() < 0.35 {
		smsState = "subscribed"
	}
	c.EmailMarketingConsent = &shopify.MarketingConsent{State: emailState, OptInLevel: "single_opt_in", ConsentUpdatedAt: &at}
	c.SMSMarketingConsent = &shopify.MarketingConsent{State: smsState, OptInLevel: "single_opt_in", ConsentUpdatedAt: &at, ConsentCollectedFrom: "SHOPIFY"}
}

func catalogCDs() []CD {
	titles := [][2]string{
		{"Kind of Blue", "Miles Davis"}, {"OK Computer", "Radiohead"}, {"The Miseducation of Lauryn Hill", "Lauryn Hill"},
		{"Jagged Little Pill", "Alanis Morissette"}, {"Nevermind", "Nirvana"}, {"Blue", "Joni Mitchell"}, {"Ten", "Pearl Jam"},
		{"Homogenic", "Björk"}, {"Mezzanine", "Massive Attack"}, {"Dummy", "Portishead"}, {"Odelay", "Beck"},
		{"The Score", "Fugees"}, {"Urban Hymns", "The Verve"}, {"Mellon Collie and the Infinite Sadness", "The Smashing Pumpkins"},
		{"Come Away with Me", "Norah Jones"}, {"Buena Vista Social Club", "Buena Vista Social Club"}, {"Tidal", "Fiona Apple"},
		{"Either/Or", "Elliott Smith"}, {"Car Wheels on a Gravel Road", "Lucinda Williams"}, {"Time Out", "Dave Brubeck Quartet"},
		{"A Love Supreme", "John Coltrane"}, {"Rumours", "Fleetwood Mac"}, {"Thriller", "Michael Jackson"}, {"Graceland", "Paul Simon"},
	}
	out := make([]CD, len(titles))
	for i, t := range titles {
		out[i] = CD{ID: 7000000000 + int64(i), VariantID: 8000000000 + int64(i), SKU: fmt.Sprintf("CD-%04d", i+1), Title: t[0], Artist: t[1]}
	}
	return out
}

// cdLines spreads the order's CDs over 1–3 titles; the prices of all units
// add up to the order total (unit price = total / number of CDs).
func cdLines(o *shopify.Order, cds []CD, r *rand.Rand) []shopify.LineItem {
	qty := 0
	for _, li := range o.LineItems {
		qty += li.Quantity
	}
	cents := parseCents(o.TotalPrice)
	titles := min(qty, 1+r.IntN(3))
	var out []shopify.LineItem
	// Split qty units over titles; each title's lines carry its share of cents.
	unitsLeft, centsLeft := qty, cents
	for t := range titles {
		cd := cds[r.IntN(len(cds))]
		units := unitsLeft / (titles - t)
		share := centsLeft * int64(units) / int64(unitsLeft)
		if t == titles-1 {
			units, share = unitsLeft, centsLeft
		}
		for _, li := range importer.Lines(o.ID*100+int64(t*10), cd.Title+" — "+cd.Artist, cd.SKU, units, share) {
			li.ProductID, li.VariantID, li.Vendor = cd.ID, cd.VariantID, cd.Artist
			out = append(out, li)
		}
		unitsLeft -= units
		centsLeft -= share
	}
	return out
}

func parseCents(s string) int64 {
	whole, frac, _ := strings.Cut(s, ".")
	w, _ := strconv.ParseInt(whole, 10, 64)
	f, _ := strconv.ParseInt((frac + "00")[:2], 10, 64)
	return w*100 + f
}
