// Command webhooks verifies provider webhooks and /collect beacons and
// enqueues them for ingest.
package main

import (
	"github.com/pulsehub/pulsehub/shared/lambdafn"
	"github.com/pulsehub/pulsehub/shared/webhook"
)

func main() { lambdafn.Run("webhooks", webhook.NewFunction) }
