// Command ws-message is the WebSocket message function ($default and action routes) (see shared/realtime).
package main

import (
	"github.com/pulsehub/pulsehub/shared/lambdafn"
	"github.com/pulsehub/pulsehub/shared/realtime/wsmessage"
)

func main() { lambdafn.Run("ws-message", wsmessage.NewFunction) }
