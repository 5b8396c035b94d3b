package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/pulsehub/pulsehub/shared/importer"
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
