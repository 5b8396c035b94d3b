package stack

import (
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"

	"github.com/pulsehub/pulsehub/shared/catalog"
)

// Synth adds PulseHub's stack to app as the context selects (environment,
// assets) and turns on cdk-nag; the caller runs app.Synth. The stack is
// named PulseHub-<env> and deploys to the CLI's account and region.
func Synth(app awscdk.App) (*Stack, error) {
	s, err := SettingsFromContext(app)
	if err != nil {
		return nil, err
	}
	Check(app)
	var env *awscdk.Environment
	if acct, region := os.Getenv("CDK_DEFAULT_ACCOUNT"), os.Getenv("CDK_DEFAULT_REGION"); acct != "" && region != "" {
		env = &awscdk.Environment{Account: &acct, Region: &region}
	}
	return New(app, "PulseHub-"+s.Env, catalog.System(), s, &awscdk.StackProps{Env: env})
}
