// Command ws-connect is the WebSocket $connect function (see shared/realtime).
package main

import (
	"github.com/pulsehub/pulsehub/shared/lambdafn"
	"github.com/pulsehub/pulsehub/shared/realtime"
)

func main() { lambdafn.Run("ws-connect", realtime.NewConnectFunction) }
