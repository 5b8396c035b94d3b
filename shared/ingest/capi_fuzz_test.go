package ingest

import (
	"encoding/json"
	"testing"
)

// FuzzEcommerceData reads the e-commerce properties a storefront's tag sends
// (untrusted) into the Conversions API custom_data the outbox stores as
// JSON: what comes out must encode, and its items add up.
func FuzzEcommerceData(f *testing.F) {
	f.Add(`{"ecommerce":{"currency":"eur","value":59.9,"items":[{"item_id":"SKU-1","price":19.95,"quantity":2},{"id":"SKU-2","price":"20.00"}]}}`)
	f.Add(`{"currency":"USD","value":"12.5","items":[{"item_id":7,"quantity":0},{"quantity":3},"x"]}`)
	f.Add(`{"value":"NaN","items":[{"item_id":"a","quantity":"1e400","price":"-Inf"}]}`)
	f.Add(`{"ecommerce":null,"value":1e308,"items":[{"item_id":"a","quantity":9e18},{"item_id":"b","quantity":9e18}]}`)
	f.Fuzz(func(t *testing.T, props string) {
		var m map[string]any
		if json.Unmarshal([]byte(props), &m) != nil {
			return
		}
		cd := ecommerceData(m)
		if cd == nil {
			return
		}
		if _, err := json.Marshal(cd); err != nil {
			t.Fatalf("custom_data from %s does not encode: %v", props, err)
		}
		if len(cd.ContentIDs) != len(cd.Contents) {
			t.Fatalf("%d ids, %d contents", len(cd.ContentIDs), len(cd.Contents))
		}
		n := 0
		for i, c := range cd.Contents {
			if c.ID == "" || c.ID != cd.ContentIDs[i] || c.Quantity < 1 {
				t.Fatalf("content %+v", c)
			}
			n += c.Quantity
		}
		if n != cd.NumItems || cd.NumItems < 0 {
			t.Fatalf("num_items %d, quantities add up to %d", cd.NumItems, n)
		}
	})
}
