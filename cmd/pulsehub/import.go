package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/pulsehub/pulsehub/shared/importer"
	"github.com/pulsehub/pulsehub/shared/shopify"
)

// importCommand: pulsehub import orders FILE.csv --map ... --to URL --shop D --secret S
func importCommand() command {
	return command{
		summary: "import order history from a CSV file as signed Shopify webhooks",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			fs := newFlags("import", `import orders FILE.csv --map "customer_id=cust,date=day,total=amount[,email=…,order_id=…,quantity=…,sku=…,title=…]" --shop SHOP.myshopify.com --secret WEBHOOK_SECRET [--to http://127.0.0.1:8080]`, stderr)
			mapping := fs.String("map", "", "field=column pairs; fields: "+strings.Join(importer.Fields(), ", "))
			to := fs.String("to", "http://127.0.0.1:8080", "PulseHub base URL (webhooks go to /webhooks/shopify)")
			shop := fs.String("shop", "", "the workspace's Shopify shop domain (selects the workspace)")
			secret := fs.String("secret", "", "the shop's webhook secret (Shopify integration settings)")
			conc := fs.Int("concurrency", 16, "parallel requests")
			dry := fs.Bool("dry-run", false, "parse and report, send nothing")
			if len(args) == 0 || args[0] != "orders" {
				fs.Usage()
				return errUsage
			}
			files, err := parseInterspersed(fs, args[1:])
			if err != nil {
				return err
			}
			if len(files) != 1 {
				return fmt.Errorf("want exactly one CSV file, got %d: %q", len(files), files)
			}
			m, err := importer.ParseMapping(*mapping)
			if err != nil {
				return err
			}
			f, err := os.Open(files[0])
			if err != nil {
				return err
			}
			defer f.Close()
			rows, err := importer.ReadCSV(f, m)
			if err != nil {
				return fmt.Errorf("%s: %w", files[0], err)
			}
			h := importer.FromRows(rows)
			fmt.Fprintf(stdout, "%d rows → %d customers, %d orders\n", len(rows), len(h.Customers), len(h.Orders))
			if *dry {
				return nil
			}
			if *shop == "" || *secret == "" {
				return fmt.Errorf("--shop and --secret are required to send")
			}
			ds, err := importer.Deliveries(*shop, h)
			if err != nil {
				return err
			}
			s := &importer.Sender{URL: strings.TrimRight(*to, "/") + "/webhooks/shopify", Secret: *secret, Concurrency: *conc}
			start := time.Now()
			if err := s.Send(ctx, ds); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "sent %d webhooks in %.1fs\n", s.Sent.Load(), time.Since(start).Seconds())
			return nil
		},
	}
}

// replayCommand re-signs and posts recorded Shopify webhooks (API Gateway
// HTTP events like events/http-webhook-shopify-orders-create.json).
func replayCommand() command {
	return command{
		summary: "replay recorded Shopify webhooks (events/http-webhook-shopify-*.json), signed with --secret",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			fs := newFlags("replay", "replay FILE.json... --secret WEBHOOK_SECRET [--to http://127.0.0.1:8080/webhooks/shopify]", stderr)
			to := fs.String("to", "http://127.0.0.1:8080/webhooks/shopify", "where to post")
			secret := fs.String("secret", "", "the shop's webhook secret")
			files, err := parseInterspersed(fs, args)
			if err != nil {
				return err
			}
			if *secret == "" || len(files) == 0 {
				return fmt.Errorf("need --secret and at least one event file")
			}
			var ds []shopify.Delivery
			for _, path := range files {
				b, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				var ev struct {
					Headers map[string]string `json:"headers"`
					Body    string            `json:"body"`
				}
				if err := json.Unmarshal(b, &ev); err != nil || ev.Body == "" {
					return fmt.Errorf("%s: not an API Gateway HTTP event with a body", path)
				}
				hd := map[string]string{}
				for k, v := range ev.Headers {
					hd[strings.ToLower(k)] = v
				}
				d := shopify.Delivery{Topic: hd["x-shopify-topic"], ShopDomain: hd["x-shopify-shop-domain"], WebhookID: hd["x-shopify-webhook-id"],
					EventID: hd["x-shopify-event-id"], Body: []byte(ev.Body)}
				if t, err := time.Parse(time.RFC3339Nano, hd["x-shopify-triggered-at"]); err == nil {
					d.TriggeredAt = t
				}
				if d.Topic == "" || d.ShopDomain == "" || d.WebhookID == "" {
					return fmt.Errorf("%s: X-Shopify-Topic, -Shop-Domain and -Webhook-Id headers are required", path)
				}
				ds = append(ds, d)
			}
			s := &importer.Sender{URL: *to, Secret: *secret, Concurrency: 4}
			if err := s.Send(ctx, ds); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "replayed %d webhooks\n", s.Sent.Load())
			return nil
		},
	}
}

// parseInterspersed parses flags that may follow positional arguments
// ("import orders FILE.csv --map …") and returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parse(fs, args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
