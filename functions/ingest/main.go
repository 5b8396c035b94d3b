// Command ingest consumes the ingest queue and keeps customer profiles,
// orders, events, consent and aggregates.
package main

import (
	"github.com/pulsehub/pulsehub/shared/ingestfn"
	"github.com/pulsehub/pulsehub/shared/lambdafn"
)

func main() { lambdafn.Run("ingest", ingestfn.NewFunction) }
