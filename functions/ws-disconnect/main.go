// Command ws-disconnect is the WebSocket $disconnect function (see shared/realtime).
package main

import (
	"github.com/pulsehub/pulsehub/shared/lambdafn"
	"github.com/pulsehub/pulsehub/shared/realtime"
)

func main() { lambdafn.Run("ws-disconnect", realtime.NewDisconnectFunction) }
