// Command ws-connect is the WebSocket $connect function (see shared/realtime/wsconnect).
package main

import (
	"github.com/pulsehub/pulsehub/shared/lambdafn"
	"github.com/pulsehub/pulsehub/shared/realtime/wsconnect"
)

func main() { lambdafn.Run("ws-connect", wsconnect.NewFunction) }
