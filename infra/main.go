// Command infra is PulseHub's CDK app: `cdk deploy -c pulsehub:env=prod`
// (see docs/deploy.md) builds the stack from shared/catalog.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/pulsehub/pulsehub/infra/stack"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	if _, err := stack.Synth(app); err != nil {
		fmt.Fprintln(os.Stderr, "infra:", err)
		os.Exit(1)
	}
	app.Synth(nil)
}
