package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/pulsehub/pulsehub/shared/shopify"
)

// ShopifyAdmin emulates the Shopify Admin GraphQL API for the customers and
// orders connections PulseHub reads (first/after/query/sortKey, pageInfo,
// nodes and edges), with Shopify's calculated query cost and leaky bucket:
// every response carries extensions.cost.throttleStatus and a query the
// bucket cannot pay for is answered {"errors":[{"message":"Throttled",
// "extensions":{"code":"THROTTLED"}}]}. Queries are parsed as real GraphQL
// and answered with exactly the selected fields. Shops are found by their
// Admin API access token (X-Shopify-Access-Token), as on Shopify.
type ShopifyAdmin struct {
	// MaxAvailable and RestoreRate size each shop's bucket.
	MaxAvailable, RestoreRate float64
	now                       func() time.Time

	mu    sync.Mutex
	shops map[string]*sandboxShop // by access token
}

type sandboxShop struct {
	domain    string
	customers map[int64]shopify.Customer
	orders    map[int64]shopify.Order
	available float64
	at        time.Time
}

// NewShopifyAdmin returns an emulator with Shopify Plus's bucket (2,000
// points, 100 restored per second). now may be nil (wall clock).
func NewShopifyAdmin(now func() time.Time) *ShopifyAdmin {
	if now == nil {
		now = time.Now
	}
	return &ShopifyAdmin{MaxAvailable: 2000, RestoreRate: 100, now: now, shops: map[string]*sandboxShop{}}
}

// Name implements Provider.
func (s *ShopifyAdmin) Name() string { return "shopify" }

// AddShop creates (or keeps) a shop reachable with accessToken.
func (s *ShopifyAdmin) AddShop(domain, accessToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.shops[accessToken]; ok {
		return
	}
	s.shops[accessToken] = &sandboxShop{domain: domain, customers: map[int64]shopify.Customer{}, orders: map[int64]shopify.Order{}, available: s.MaxAvailable, at: s.now()}
}

// Put stores customers and orders in the shop owning accessToken (replacing
// records with the same id).
func (s *ShopifyAdmin) Put(accessToken string, customers []shopify.Customer, orders []shopify.Order) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh := s.shops[accessToken]
	if sh == nil {
		return fmt.Errorf("sandbox: no shop with that access token; AddShop first")
	}
	for _, c := range customers {
		sh.customers[c.ID] = c
	}
	for _, o := range orders {
		sh.orders[o.ID] = o
	}
	return nil
}

// Handler implements Provider: POST /admin/api/{version}/graphql.json.
func (s *ShopifyAdmin) Handler(env Env) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /admin/api/{version}/graphql.json", s.graphql)
	return mux
}

type shopGQLRequest struct {
	Query     string         `json:"query"`
	Variables map[string]any `json:"variables"`
}

func (s *ShopifyAdmin) graphql(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	sh := s.shops[r.Header.Get("X-Shopify-Access-Token")]
	s.mu.Unlock()
	if sh == nil {
		shopJSON(w, http.StatusUnauthorized, map[string]any{"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
		return
	}
	var req shopGQLRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil || strings.TrimSpace(req.Query) == "" {
		shopJSON(w, http.StatusBadRequest, map[string]any{"errors": map[string]string{"query": "Required parameter missing or invalid"}})
		return
	}
	doc, err := parser.ParseQuery(&ast.Source{Input: req.Query})
	if err != nil {
		shopJSON(w, http.StatusOK, map[string]any{"errors": shopGQLErrors(err)})
		return
	}
	if len(doc.Operations) != 1 || doc.Operations[0].Operation != ast.Query {
		shopJSON(w, http.StatusOK, map[string]any{"errors": []map[string]any{{"message": "the sandbox answers exactly one query operation"}}})
		return
	}
	op := doc.Operations[0]
	cost := shopQueryCost(op.SelectionSet, req.Variables)

	s.mu.Lock()
	now := s.now()
	sh.available = min(s.MaxAvailable, sh.available+s.RestoreRate*now.Sub(sh.at).Seconds())
	sh.at = now
	status := func() map[string]any {
		return map[string]any{"maximumAvailable": s.MaxAvailable, "currentlyAvailable": sh.available, "restoreRate": s.RestoreRate}
	}
	if cost > s.MaxAvailable {
		ext := map[string]any{"cost": map[string]any{"requestedQueryCost": cost, "actualQueryCost": nil, "throttleStatus": status()}}
		s.mu.Unlock()
		shopJSON(w, http.StatusOK, map[string]any{"errors": []map[string]any{{"message": fmt.Sprintf("Query cost is %.0f, which exceeds the single query max cost limit (%.0f).", cost, s.MaxAvailable), "extensions": map[string]any{"code": "MAX_COST_EXCEEDED", "cost": cost, "maxCost": s.MaxAvailable}}}, "extensions": ext})
		return
	}
	if cost > sh.available {
		ext := map[string]any{"cost": map[string]any{"requestedQueryCost": cost, "actualQueryCost": nil, "throttleStatus": status()}}
		s.mu.Unlock()
		shopJSON(w, http.StatusOK, map[string]any{"errors": []map[string]any{{"message": "Throttled", "extensions": map[string]any{"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}}, "extensions": ext})
		return
	}
	data := map[string]any{}
	var errs []map[string]any
	for _, sel := range op.SelectionSet {
		f, ok := sel.(*ast.Field)
		if !ok {
			continue
		}
		val, err := sh.resolveRoot(f, req.Variables)
		if err != nil {
			errs = append(errs, map[string]any{"message": err.Error(), "path": []string{shopResponseKey(f)}})
			data[shopResponseKey(f)] = nil
			continue
		}
		data[shopResponseKey(f)] = shopProject(val, f.SelectionSet, req.Variables)
	}
	// Shopify refunds the difference between requested and actual cost; the
	// emulator charges what was requested, which is what clients plan for.
	sh.available -= cost
	ext := map[string]any{"cost": map[string]any{"requestedQueryCost": cost, "actualQueryCost": cost, "throttleStatus": status()}}
	s.mu.Unlock()
	body := map[string]any{"data": data, "extensions": ext}
	if len(errs) > 0 {
		body["errors"] = errs
	}
	shopJSON(w, http.StatusOK, body)
}

func shopGQLErrors(err error) []map[string]any {
	var out []map[string]any
	list, ok := err.(gqlerror.List)
	if !ok {
		if e, ok := err.(*gqlerror.Error); ok {
			list = gqlerror.List{e}
		}
	}
	for _, e := range list {
		out = append(out, map[string]any{"message": e.Message, "locations": e.Locations})
	}
	if out == nil {
		out = []map[string]any{{"message": err.Error()}}
	}
	return out
}

func shopResponseKey(f *ast.Field) string {
	if f.Alias != "" {
		return f.Alias
	}
	return f.Name
}

func shopArgs(f *ast.Field, vars map[string]any) map[string]any {
	out := map[string]any{}
	for _, a := range f.Arguments {
		v, err := a.Value.Value(vars)
		if err == nil {
			out[a.Name] = v
		}
	}
	return out
}

func shopIntArg(a map[string]any, name string) (int, bool) {
	switch v := a[name].(type) {
	case int64:
		return int(v), true
	case int:
		return v, true
	case float64:
		return int(v), true
	case json.Number:
		n, err := v.Int64()
		return int(n), err == nil
	case string:
		n, err := strconv.Atoi(v)
		return n, err == nil
	}
	return 0, false
}

// selectionCost follows Shopify's calculated query cost: scalars cost 0,
// objects 1, and a connection 2 plus first (or last) times the cost of one
// of its nodes.
func shopQueryCost(set ast.SelectionSet, vars map[string]any) float64 {
	var total float64
	for _, sel := range set {
		switch f := sel.(type) {
		case *ast.Field:
			if len(f.SelectionSet) == 0 {
				continue
			}
			a := shopArgs(f, vars)
			n, isConn := shopIntArg(a, "first")
			if !isConn {
				n, isConn = shopIntArg(a, "last")
			}
			if isConn {
				var node float64
				for _, s := range f.SelectionSet {
					if cf, ok := s.(*ast.Field); ok && (cf.Name == "nodes" || cf.Name == "edges") {
						node = max(node, 1+shopQueryCost(cf.SelectionSet, vars))
					}
				}
				total += 2 + float64(n)*node
				continue
			}
			total += 1 + shopQueryCost(f.SelectionSet, vars)
		case *ast.InlineFragment:
			total += shopQueryCost(f.SelectionSet, vars)
		}
	}
	return total
}

// project keeps exactly the fields selected (with aliases), as a GraphQL
// server answers.
func shopProject(v any, set ast.SelectionSet, vars map[string]any) any {
	if len(set) == 0 {
		return v
	}
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = shopProject(e, set, vars)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		var walk func(ast.SelectionSet)
		walk = func(set ast.SelectionSet) {
			for _, sel := range set {
				switch f := sel.(type) {
				case *ast.Field:
					val := x[f.Name]
					if fn, ok := val.(func(map[string]any) any); ok {
						val = fn(shopArgs(f, vars))
					}
					out[shopResponseKey(f)] = shopProject(val, f.SelectionSet, vars)
				case *ast.InlineFragment:
					walk(f.SelectionSet)
				}
			}
		}
		walk(set)
		return out
	}
	return v
}

func (sh *sandboxShop) resolveRoot(f *ast.Field, vars map[string]any) (any, error) {
	a := shopArgs(f, vars)
	switch f.Name {
	case "shop":
		return map[string]any{"name": sh.domain, "myshopifyDomain": sh.domain, "__typename": "Shop"}, nil
	case "orders":
		var nodes []shopRecord
		for _, o := range sh.orders {
			nodes = append(nodes, shopRecord{id: o.ID, updated: o.UpdatedAt, created: o.CreatedAt, node: shopOrderNode(o)})
		}
		return shopConnection(nodes, a)
	case "customers":
		var nodes []shopRecord
		for _, c := range sh.customers {
			var u, cr time.Time
			if c.UpdatedAt != nil {
				u = *c.UpdatedAt
			}
			if c.CreatedAt != nil {
				cr = *c.CreatedAt
			}
			nodes = append(nodes, shopRecord{id: c.ID, updated: u, created: cr, node: shopCustomerNode(c)})
		}
		return shopConnection(nodes, a)
	}
	//lint:ignore ST1005 the sandbox answers with Shopify's own error text
	return nil, fmt.Errorf("Field '%s' doesn't exist on type 'QueryRoot'", f.Name)
}

type shopRecord struct {
	id               int64
	updated, created time.Time
	node             map[string]any
}

var shopSearchTerm = regexp.MustCompile(`^(updated_at|created_at):(>=|<=|>|<)?'?([^']+)'?$`)

// connection filters (search syntax on updated_at/created_at), sorts and
// paginates records.
func shopConnection(recs []shopRecord, a map[string]any) (any, error) {
	if q, _ := a["query"].(string); q != "" {
		for _, term := range strings.Fields(strings.ReplaceAll(q, " AND ", " ")) {
			m := shopSearchTerm.FindStringSubmatch(term)
			if m == nil {
				return nil, fmt.Errorf("sandbox: unsupported search term %q (the sandbox knows updated_at and created_at)", term)
			}
			t, err := time.Parse(time.RFC3339, m[3])
			if err != nil {
				return nil, fmt.Errorf("invalid date in search query: %q", m[3])
			}
			recs = shopFilterTime(recs, m[1], m[2], t)
		}
	}
	key := func(r shopRecord) time.Time { return r.created }
	sortKey, _ := a["sortKey"].(string)
	if sortKey == "UPDATED_AT" {
		key = func(r shopRecord) time.Time { return r.updated }
	}
	if sortKey == "ID" {
		key = func(r shopRecord) time.Time { return time.Unix(r.id, 0) }
	}
	sort.Slice(recs, func(i, j int) bool {
		if !key(recs[i]).Equal(key(recs[j])) {
			return key(recs[i]).Before(key(recs[j]))
		}
		return recs[i].id < recs[j].id
	})
	if rev, _ := a["reverse"].(bool); rev {
		for i, j := 0, len(recs)-1; i < j; i, j = i+1, j-1 {
			recs[i], recs[j] = recs[j], recs[i]
		}
	}
	first, ok := shopIntArg(a, "first")
	if !ok || first < 1 || first > 250 {
		return nil, fmt.Errorf("you must provide one of first or last, between 1 and 250")
	}
	start := 0
	if after, _ := a["after"].(string); after != "" {
		id, err := shopDecodeCursor(after)
		if err != nil {
			return nil, err
		}
		start = len(recs)
		for i, r := range recs {
			if r.id == id {
				start = i + 1
				break
			}
		}
	}
	end := min(start+first, len(recs))
	page := recs[start:end]
	nodes := make([]any, len(page))
	edges := make([]any, len(page))
	for i, r := range page {
		nodes[i] = r.node
		edges[i] = map[string]any{"cursor": shopEncodeCursor(r.id), "node": r.node}
	}
	info := map[string]any{"hasNextPage": end < len(recs), "hasPreviousPage": start > 0, "startCursor": nil, "endCursor": nil}
	if len(page) > 0 {
		info["startCursor"] = shopEncodeCursor(page[0].id)
		info["endCursor"] = shopEncodeCursor(page[len(page)-1].id)
	}
	return map[string]any{"nodes": nodes, "edges": edges, "pageInfo": info}, nil
}

func shopFilterTime(recs []shopRecord, field, op string, t time.Time) []shopRecord {
	var out []shopRecord
	for _, r := range recs {
		v := r.created
		if field == "updated_at" {
			v = r.updated
		}
		keep := false
		switch op {
		case ">=":
			keep = !v.Before(t)
		case "<=":
			keep = !v.After(t)
		case ">":
			keep = v.After(t)
		case "<":
			keep = v.Before(t)
		default:
			keep = v.Equal(t)
		}
		if keep {
			out = append(out, r)
		}
	}
	return out
}

// Cursors are opaque base64 JSON, like Shopify's.
func shopEncodeCursor(id int64) string {
	b, _ := json.Marshal(map[string]int64{"last_id": id})
	return base64.StdEncoding.EncodeToString(b)
}

func shopDecodeCursor(c string) (int64, error) {
	b, err := base64.StdEncoding.DecodeString(c)
	var v map[string]int64
	if err != nil || json.Unmarshal(b, &v) != nil || v["last_id"] == 0 {
		//lint:ignore ST1005 the sandbox answers with Shopify's own error text
		return 0, fmt.Errorf("Invalid cursor for current pagination sort.")
	}
	return v["last_id"], nil
}

func shopMoneySet(amount, currency string) map[string]any {
	m := map[string]any{"amount": amount, "currencyCode": currency}
	return map[string]any{"shopMoney": m, "presentmentMoney": m}
}

func shopTime(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func shopOrderNode(o shopify.Order) map[string]any {
	fulfil := "UNFULFILLED"
	if o.FulfillmentStatus != nil {
		fulfil = strings.ToUpper(*o.FulfillmentStatus)
	}
	var cust any
	if c := o.Customer; c != nil {
		cust = map[string]any{"id": shopify.GID("Customer", c.ID), "legacyResourceId": strconv.FormatInt(c.ID, 10),
			"email": c.Email, "phone": shopNil(c.Phone), "firstName": c.FirstName, "lastName": c.LastName}
	}
	items := make([]any, len(o.LineItems))
	for i, li := range o.LineItems {
		items[i] = map[string]any{
			"id": shopify.GID("LineItem", li.ID), "title": li.Title, "quantity": li.Quantity, "sku": li.SKU, "vendor": li.Vendor,
			"originalUnitPriceSet": shopMoneySet(li.Price, o.Currency),
			"product":              map[string]any{"id": shopify.GID("Product", li.ProductID), "legacyResourceId": strconv.FormatInt(li.ProductID, 10)},
			"variant":              map[string]any{"id": shopify.GID("ProductVariant", li.VariantID), "legacyResourceId": strconv.FormatInt(li.VariantID, 10)},
		}
	}
	var tags []any
	for _, t := range strings.Split(o.Tags, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	if tags == nil {
		tags = []any{}
	}
	created, updated := o.CreatedAt, o.UpdatedAt
	return map[string]any{
		"__typename": "Order", "id": shopify.GID("Order", o.ID), "legacyResourceId": strconv.FormatInt(o.ID, 10),
		"name": o.Name, "email": shopNil(o.Email), "phone": shopNil(o.Phone),
		"createdAt": shopTime(&created), "updatedAt": shopTime(&updated), "processedAt": shopTime(o.ProcessedAt),
		"cancelledAt": shopTime(o.CancelledAt), "cancelReason": shopNil(strings.ToUpper(o.CancelReason)), "closedAt": shopTime(o.ClosedAt),
		"currencyCode": o.Currency, "displayFinancialStatus": strings.ToUpper(o.FinancialStatus), "displayFulfillmentStatus": fulfil,
		"tags": tags, "sourceName": o.SourceName,
		"totalPriceSet": shopMoneySet(o.TotalPrice, o.Currency), "subtotalPriceSet": shopMoneySet(o.SubtotalPrice, o.Currency),
		"totalTaxSet": shopMoneySet(o.TotalTax, o.Currency), "totalDiscountsSet": shopMoneySet(o.TotalDiscounts, o.Currency),
		"customer": cust,
		"lineItems": func(a map[string]any) any {
			recs := make([]shopRecord, len(items))
			for i := range items {
				recs[i] = shopRecord{id: int64(i + 1), node: items[i].(map[string]any)}
			}
			c, err := shopConnection(recs, a)
			if err != nil {
				return nil
			}
			return c
		},
	}
}

func shopConsentNode(c *shopify.MarketingConsent) any {
	if c == nil {
		return nil
	}
	return map[string]any{"marketingState": strings.ToUpper(c.State), "marketingOptInLevel": shopNil(strings.ToUpper(c.OptInLevel)),
		"consentUpdatedAt": shopTime(c.ConsentUpdatedAt), "consentCollectedFrom": shopNil(c.ConsentCollectedFrom)}
}

func shopCustomerNode(c shopify.Customer) map[string]any {
	var addr any
	if a := c.DefaultAddress; a != nil {
		addr = map[string]any{"firstName": a.FirstName, "lastName": a.LastName, "address1": a.Address1, "city": a.City, "province": a.Province,
			"provinceCode": a.ProvinceCode, "zip": a.Zip, "country": a.Country, "countryCodeV2": a.CountryCode, "phone": shopNil(a.Phone)}
	}
	var tags []any
	for _, t := range strings.Split(c.Tags, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	if tags == nil {
		tags = []any{}
	}
	cur := c.Currency
	if cur == "" {
		cur = "USD"
	}
	spent := c.TotalSpent
	if spent == "" {
		spent = "0.00"
	}
	return map[string]any{
		"__typename": "Customer", "id": shopify.GID("Customer", c.ID), "legacyResourceId": strconv.FormatInt(c.ID, 10),
		"email": shopNil(c.Email), "phone": shopNil(c.Phone), "firstName": c.FirstName, "lastName": c.LastName,
		"createdAt": shopTime(c.CreatedAt), "updatedAt": shopTime(c.UpdatedAt), "state": strings.ToUpper(c.State), "tags": tags,
		"verifiedEmail": c.VerifiedEmail, "numberOfOrders": strconv.Itoa(c.OrdersCount),
		"amountSpent":           map[string]any{"amount": spent, "currencyCode": cur},
		"emailMarketingConsent": shopConsentNode(c.EmailMarketingConsent), "smsMarketingConsent": shopConsentNode(c.SMSMarketingConsent),
		"defaultAddress": addr,
	}
}

func shopNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func shopJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
