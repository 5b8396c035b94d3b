package local

import (
	"github.com/pulsehub/pulsehub/shared/api"
	"github.com/pulsehub/pulsehub/shared/chatfn"
	"github.com/pulsehub/pulsehub/shared/ingestfn"
	"github.com/pulsehub/pulsehub/shared/lambdafn"
	"github.com/pulsehub/pulsehub/shared/realtime"
	"github.com/pulsehub/pulsehub/shared/realtime/wsconnect"
	"github.com/pulsehub/pulsehub/shared/realtime/wsmessage"
	"github.com/pulsehub/pulsehub/shared/syncfn"
	"github.com/pulsehub/pulsehub/shared/webhook"
)

// Functions maps every deployable catalog function to the constructor its
// functions/<name>/main.go passes to lambdafn.Run, so the local runtime runs
// the same code as Lambda. Add one line per function.
func Functions() map[string]lambdafn.Constructor {
	return map[string]lambdafn.Constructor{
		"api":           api.NewFunction,
		"ws-connect":    wsconnect.NewFunction,
		"ws-disconnect": realtime.NewDisconnectFunction,
		"ws-message":    wsmessage.NewFunction,
		"chat":          chatfn.NewFunction,
		"sync":          syncfn.NewFunction,
		"webhooks":      webhook.NewFunction,
		"ingest":        ingestfn.NewFunction,
	}
}
