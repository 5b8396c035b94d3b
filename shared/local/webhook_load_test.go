package local_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/local"
)

// envInt reads a positive integer setting of the load run.
func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// BenchmarkWebhookLoad sends signed Shopify orders/create webhooks at a
// steady rate to the whole local runtime and measures, per order, the time
// from the webhook's 200 (accepted) to the customer's profile showing it
// (the order.created that follows the profile's update, seen on the bus),
// then checks that every customer's orders count and total equal exactly
// what was sent. A short run by
// default; LOAD_SECONDS=60 LOAD_RATE=200 is issue 4's full run
// (LOAD_CUSTOMERS spreads the orders, default 200).
func BenchmarkWebhookLoad(b *testing.B) {
	seconds, rate, nCust := envInt(b, "LOAD_SECONDS", 5), envInt(b, "LOAD_RATE", 50), envInt(b, "LOAD_CUSTOMERS", 200)
	// Observer: the bus tap sees each order.created, which ingest publishes
	// right after the transaction that updated the customer's profile, so
	// its arrival is when the profile shows the order (read no earlier). It
	// is matched with the oldest accepted order of that customer not yet
	// seen. Watching the bus puts no load on DynamoDB Local; polling the
	// profiles took up to a core of the emulator at 200/s.
	var (
		mu        sync.Mutex
		index     = map[string]int{} // customer id → position, once listed
		accepted  = make([][]time.Time, nCust)
		seen      = make([]int, nCust)
		latencies []time.Duration
	)
	tap := func(ev events.CloudWatchEvent) {
		if ev.DetailType != catalog.EventOrderCreated {
			return
		}
		at := time.Now()
		var d struct {
			CustomerID string `json:"customerId"`
		}
		if json.Unmarshal(ev.Detail, &d) != nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		i, ok := index[d.CustomerID]
		if !ok {
			return
		}
		l := time.Duration(0) // published before its webhook's 200 was recorded
		if seen[i] < len(accepted[i]) {
			l = max(at.Sub(accepted[i][seen[i]]), 0)
		}
		seen[i]++
		latencies = append(latencies, l)
	}
	p := bootPlatformWith(b, func(o *local.Options) { o.EventTap = tap })
	p.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 512, MaxConnsPerHost: 512}}
	p.signup("load-shop", "load-shop.myshopify.com", "load-shopify-secret")
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)

	// Customers first (not measured), then their ids from the API.
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range nCust {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			id := int64(10_000 + i)
			if r := p.webhook("customers/create", fmt.Sprintf("lc-%d", i), fmt.Sprintf("lce-%d", i), customerJSON(id, fmt.Sprintf("load%d@example.com", i), "Load", now.Add(-time.Hour)), p.secret); r.status != 200 {
				b.Errorf("customers/create %d: %d %s", i, r.status, r.raw)
			}
		})
	}
	wg.Wait()
	ids := map[string]string{} // shopify id → customer id
	eventually(b, fmt.Sprintf("%d customers listed", nCust), func() bool {
		clear(ids)
		cursor := ""
		for {
			r := p.call("GET", "/v1/customers?limit=100&cursor="+cursor, p.token, nil, nil)
			if r.status != 200 {
				b.Fatalf("GET /v1/customers: %d %s", r.status, r.raw)
			}
			for _, it := range r.body["items"].([]any) {
				c := it.(map[string]any)
				ids[fmt.Sprint(c["shopifyId"])] = c["id"].(string)
			}
			cursor, _ = r.body["nextCursor"].(string)
			if cursor == "" {
				return len(ids) == nCust
			}
		}
	})
	cids := make([]string, nCust)
	mu.Lock()
	for i := range nCust {
		cids[i] = ids[strconv.Itoa(10_000+i)]
		index[cids[i]] = i
	}
	mu.Unlock()

	db := dynamodb.NewFromConfig(p.rt.AWS())
	table := p.rt.Resources().TableName
	// read returns every customer's orders count and total, one
	// BatchGetItem per 100 (the exact-count check after the run).
	read := func() ([]int, []int64) {
		counts, cents := make([]int, nCust), make([]int64, nCust)
		for start := 0; start < nCust; start += 100 {
			keys := []map[string]types.AttributeValue{}
			for _, cid := range cids[start:min(start+100, nCust)] {
				keys = append(keys, map[string]types.AttributeValue{
					"PK": &types.AttributeValueMemberS{Value: "T#" + p.tenant + "#CUST#" + cid}, "SK": &types.AttributeValueMemberS{Value: "PROFILE"}})
			}
			req := map[string]types.KeysAndAttributes{table: {Keys: keys, ProjectionExpression: aws.String("id, ordersCount, totalSpentCents")}}
			for len(req) > 0 {
				out, err := db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
				if err != nil {
					b.Fatal(err)
				}
				for _, it := range out.Responses[table] {
					var row struct {
						ID     string `dynamodbav:"id"`
						Orders int    `dynamodbav:"ordersCount"`
						Cents  int64  `dynamodbav:"totalSpentCents"`
					}
					_ = attributevalue.UnmarshalMap(it, &row)
					i := slices.Index(cids, row.ID)
					counts[i], cents[i] = row.Orders, row.Cents
				}
				req = out.UnprocessedKeys
			}
		}
		return counts, cents
	}
	// Steady sender.
	total := seconds * rate
	wantCount, wantCents := make([]int, nCust), make([]int64, nCust)
	var acceptLat []time.Duration
	failures := 0
	interval := time.Second / time.Duration(rate)
	sendSem := make(chan struct{}, 256)
	start := time.Now()
	b.ResetTimer()
	for k := range total {
		if d := time.Until(start.Add(time.Duration(k) * interval)); d > 0 {
			time.Sleep(d)
		}
		c := k % nCust
		cents := int64(500 + (k*7919)%20_000)
		wantCount[c]++
		wantCents[c] += cents
		body := orderJSON(int64(1_000_000+k), int64(10_000+c), fmt.Sprintf("load%d@example.com", c), fmt.Sprintf("%d.%02d", cents/100, cents%100), now.Add(time.Duration(k)*time.Millisecond))
		sendSem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sendSem }()
			t0 := time.Now()
			r := p.webhook("orders/create", fmt.Sprintf("lo-%d", k), fmt.Sprintf("loe-%d", k), body, p.secret)
			done := time.Now()
			mu.Lock()
			defer mu.Unlock()
			if r.status != 200 {
				failures++
				return
			}
			acceptLat = append(acceptLat, done.Sub(t0))
			accepted[c] = append(accepted[c], done)
			slices.SortFunc(accepted[c], func(a, b time.Time) int { return a.Compare(b) })
		})
	}
	wg.Wait()
	sendDur := time.Since(start)

	// Everything accepted must show up, exactly once. A batch that failed
	// (e.g. a timeout under overload) comes back after the ingest queue's
	// visibility timeout (3 min), so the wait covers one redelivery.
	deadline := time.Now().Add(5 * time.Minute)
	for {
		mu.Lock()
		done := len(latencies)
		mu.Unlock()
		if done >= total-failures || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	processed := time.Since(start)
	// Every webhook was queued before its 200: once the ingest queue is
	// drained each was handled, so a double count would show now.
	sqsClient := sqs.NewFromConfig(p.rt.AWS())
	eventually(b, "the ingest queue drained", func() bool { return local.Drained(b, sqsClient, p.rt.Resources().QueueURLs["ingest"]) })
	b.StopTimer()

	counts, cents := read()
	mismatches := 0
	for i := range nCust {
		if counts[i] != wantCount[i] || cents[i] != wantCents[i] {
			if mismatches < 5 {
				b.Errorf("customer %d: %d orders / %d cents, sent %d / %d", i, counts[i], cents[i], wantCount[i], wantCents[i])
			}
			mismatches++
		}
	}
	dlq := p.rt.Resources().QueueURLs["ingest-dlq"]
	attrs, err := sqs.NewFromConfig(p.rt.AWS()).GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(dlq), AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages"}})
	if err != nil {
		b.Fatal(err)
	}
	if n := attrs.Attributes["ApproximateNumberOfMessages"]; n != "0" {
		b.Errorf("%s messages in the ingest DLQ", n)
	}
	if failures > 0 || mismatches > 0 {
		b.Errorf("%d webhooks not accepted, %d customers with wrong totals", failures, mismatches)
	}

	pct := func(ds []time.Duration, q float64) float64 {
		if len(ds) == 0 {
			return 0
		}
		s := slices.Clone(ds)
		slices.Sort(s)
		return float64(s[min(int(q*float64(len(s))), len(s)-1)].Microseconds()) / 1000
	}
	b.ReportMetric(float64(total)/sendDur.Seconds(), "sent/s")
	b.ReportMetric(pct(acceptLat, 0.50), "accept-p50-ms")
	b.ReportMetric(pct(acceptLat, 0.95), "accept-p95-ms")
	b.ReportMetric(pct(latencies, 0.50), "updated-p50-ms")
	b.ReportMetric(pct(latencies, 0.95), "updated-p95-ms")
	b.ReportMetric(pct(latencies, 0.99), "updated-p99-ms")
	b.ReportMetric(pct(latencies, 1), "updated-max-ms")
	b.Logf("%d orders to %d customers over %.1fs (%.1f/s); all applied %.1fs after the first send; accept p50 %.1f ms p95 %.1f ms; "+
		"accept→profile updated p50 %.0f ms p95 %.0f ms p99 %.0f ms max %.0f ms; %d not accepted, %d customers with wrong totals",
		total, nCust, sendDur.Seconds(), float64(total)/sendDur.Seconds(), processed.Seconds(), pct(acceptLat, .5), pct(acceptLat, .95),
		pct(latencies, .5), pct(latencies, .95), pct(latencies, .99), pct(latencies, 1), failures, mismatches)
}
