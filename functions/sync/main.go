// Command sync is the sync function: Shopify backfill and reconciliation,
// Meta Conversions API forwarding and the GTM check (see shared/sync).
package main

import (
	"github.com/pulsehub/pulsehub/shared/lambdafn"
	syncfn "github.com/pulsehub/pulsehub/shared/sync"
)

func main() { lambdafn.Run("sync", syncfn.NewFunction) }
