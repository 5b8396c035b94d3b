package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// Check adds the cdk-nag AwsSolutions pack to the app: its findings become
// error/warning annotations that fail `cdk synth`/`cdk deploy` and the tests.
func Check(app awscdk.App) {
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
}

type suppression struct {
	id, reason string
	appliesTo  []string // exact findings ("Resource::…", "Action::…") or regexes wrapped in /…/
}

func suppress(c constructs.IConstruct, list ...suppression) {
	var out []*cdknag.NagPackSuppression
	for _, s := range list {
		p := &cdknag.NagPackSuppression{Id: jsii.String(s.id), Reason: jsii.String(s.reason)}
		if len(s.appliesTo) > 0 {
			var at []interface{}
			for _, a := range s.appliesTo {
				if len(a) > 1 && a[0] == '/' && a[len(a)-1] == '/' {
					at = append(at, &cdknag.RegexAppliesTo{Regex: jsii.String(a)})
				} else {
					at = append(at, a)
				}
			}
			p.AppliesTo = &at
		}
		out = append(out, p)
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c, &out, jsii.Bool(true))
}

// suppressions lists every accepted cdk-nag finding with its reason.
func (st *Stack) suppressions() {
	suppress(st.HTTPAPI, suppression{"AwsSolutions-APIG4",
		"Authorization happens in the functions, not in API Gateway: /v1 routes verify the JWT access token " +
			"in the api function (one code path with the local runtime), webhooks verify each provider's " +
			"HMAC signature and /collect checks the tenant's write key.", nil})
	suppress(st.WSAPI, suppression{"AwsSolutions-APIG4",
		"$connect authenticates the ?token= access token in ws-connect and refuses bad tokens; later " +
			"routes only act for connections stored by $connect.", nil})
	for _, s := range []constructs.IConstruct{st.JWTSecret, st.Providers} {
		suppress(s, suppression{"AwsSolutions-SMG4",
			"The JWT signing keys and provider credentials are rotated by the documented procedure " +
				"(docs/operations.md#secrets-rotation): new keys are added beside the old ones (kid) so " +
				"tokens stay valid; provider keys are issued by the providers, not generated here.", nil})
	}
	suppress(st.CursorSecret, suppression{"AwsSolutions-SMG4",
		"The cursor secret reaches the functions as a deploy-time dynamic reference, so a Secrets Manager " +
			"rotation would not reach them until the next deploy; it is rotated by the documented procedure " +
			"(docs/operations.md#secrets-rotation: new value, then deploy), which only ends open pagination.", nil})
	suppress(st.EventsDLQ, suppression{"AwsSolutions-SQS3",
		"This queue is itself the dead-letter queue of EventBridge targets and async invocations.", nil})
	for _, fn := range st.Functions {
		suppress(fn.Role(),
			suppression{"AwsSolutions-IAM5",
				"CDK's grant for a table encrypted with a customer-managed key: GenerateDataKey*/ReEncrypt* " +
					"on that one key ARN only.",
				[]string{"Action::kms:GenerateDataKey*", "Action::kms:ReEncrypt*"}},
			suppression{"AwsSolutions-IAM5",
				"Query on the table's global secondary indexes (GSI1, GSI2) of this one table; DynamoDB " +
					"authorises index reads on <table>/index/<name>.",
				[]string{"/^Resource::<Table[0-9A-F]+\\.Arn>\\/index\\/\\*$/"}},
			suppression{"AwsSolutions-IAM5",
				"PostToConnection/GetConnection/DeleteConnection on connections of this stage: connection " +
					"ids are created by API Gateway at run time.",
				[]string{"/^Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<WebSocketApi[0-9A-F]+>\\/(dev|prod)\\/\\*\\/@connections\\/\\*$/"}},
			suppression{"AwsSolutions-IAM5",
				"Provider credentials are separate secrets created at run time under PROVIDER_SECRETS_PREFIX; " +
					"the grant is limited to that prefix.",
				[]string{"/^Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:pulsehub\\/(dev|prod)\\/providers\\/\\*$/"}},
		)
	}
	suppress(st.Stack.Node().FindChild(jsii.String("BackupPlan")), suppression{"AwsSolutions-IAM4",
		"AWS Backup's own service role policy (AWSBackupServiceRolePolicyForBackup) is the documented way " +
			"to let the service snapshot the table; it is only assumable by backup.amazonaws.com.", nil})
	if st.Settings.ManageAPIGWRole {
		suppress(st.Stack.Node().FindChild(jsii.String("ApiGatewayLogsRole")), suppression{"AwsSolutions-IAM4",
			"AmazonAPIGatewayPushToCloudWatchLogs is the documented role policy for API Gateway's account " +
				"logging setting (needed for WebSocket stage logs); only apigateway.amazonaws.com assumes it.", nil})
	}
}
