package local

import (
	"github.com/pulsehub/pulsehub/shared/lambdafn"
	"github.com/pulsehub/pulsehub/shared/realtime"
	syncfn "github.com/pulsehub/pulsehub/shared/sync"
)

// Functions maps every deployable catalog function to the constructor its
// functions/<name>/main.go passes to lambdafn.Run, so the local runtime runs
// the same code as Lambda. Add one line per function.
func Functions() map[string]lambdafn.Constructor {
	return map[string]lambdafn.Constructor{
		"ws-connect":    realtime.NewConnectFunction,
		"ws-disconnect": realtime.NewDisconnectFunction,
		"ws-message":    realtime.NewMessageFunction,
		"sync":          syncfn.NewFunction,
	}
}
