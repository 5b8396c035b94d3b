// Command chat is the AI copilot's turn function: chat queue → model or
// offline engine with tools → streamed to the WebSocket (see shared/chat).
package main

import (
	"github.com/pulsehub/pulsehub/shared/chatfn"
	"github.com/pulsehub/pulsehub/shared/lambdafn"
)

func main() { lambdafn.Run("chat", chatfn.NewFunction) }
