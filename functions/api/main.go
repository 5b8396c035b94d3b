// Command api is the HTTP API function (API Gateway HTTP API v2).
package main

import (
	"github.com/pulsehub/pulsehub/shared/api"
	"github.com/pulsehub/pulsehub/shared/lambdafn"
)

func main() { lambdafn.Run("api", api.NewFunction) }
