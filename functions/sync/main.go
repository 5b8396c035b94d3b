// Command sync is the sync function: Shopify backfill and reconciliation,
// Meta Conversions API forwarding and the GTM check (see shared/syncfn).
package main

import (
	"github.com/pulsehub/pulsehub/shared/lambdafn"
	"github.com/pulsehub/pulsehub/shared/syncfn"
)

func main() { lambdafn.Run("sync", syncfn.NewFunction) }
