package stack

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/pulsehub/pulsehub/shared/catalog"
)

// Stack is PulseHub's stack with handles on what tests and outputs need.
type Stack struct {
	Stack     awscdk.Stack
	Settings  Settings
	Catalog   catalog.Catalog
	DataKey   awskms.Key // table, queues, backups, alarm topic
	PIIKey    awskms.Key // envelope encryption of personal data (PII_KMS_KEY_ID)
	Table     awsdynamodb.Table
	Queues    map[string]awssqs.Queue // catalog queue name, and its DLQ name, → queue
	EventsDLQ awssqs.Queue            // failed EventBridge deliveries and async invocations
	Bus       awsevents.EventBus
	JWTSecret awssecretsmanager.Secret
	// CursorSecret signs pagination cursors (CURSOR_SECRET of every function).
	CursorSecret awssecretsmanager.Secret
	Providers    awssecretsmanager.Secret // platform-level provider credentials under the prefix
	HTTPAPI      awsapigatewayv2.HttpApi
	HTTPStage    awsapigatewayv2.HttpStage
	WSAPI        awsapigatewayv2.WebSocketApi
	WSStage      awsapigatewayv2.WebSocketStage
	Functions    map[string]awslambda.Function
	Alarms       awssns.Topic
}

// New builds the stack for the catalog's functions selected by s.
func New(scope constructs.Construct, id string, c catalog.Catalog, s Settings, props *awscdk.StackProps) (*Stack, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if props == nil {
		props = &awscdk.StackProps{}
	}
	if props.Description == nil {
		props.Description = jsii.String("PulseHub " + s.Env + ": serverless marketing platform (generated from shared/catalog)")
	}
	st := &Stack{
		Stack:     awscdk.NewStack(scope, jsii.String(id), props),
		Settings:  s,
		Catalog:   c,
		Queues:    map[string]awssqs.Queue{},
		Functions: map[string]awslambda.Function{},
	}
	// Dashboards are left untagged: cfn-lint's schema (1.51) rejects Tags
	// on AWS::CloudWatch::Dashboard.
	untagged := &awscdk.TagProps{ExcludeResourceTypes: jsii.Strings("AWS::CloudWatch::Dashboard")}
	for k, v := range map[string]string{"app": "pulsehub", "environment": s.Env, "managed-by": "cdk"} {
		awscdk.Tags_Of(st.Stack).Add(jsii.String(k), jsii.String(v), untagged)
	}
	st.data()
	st.apis()
	for _, f := range s.Functions(c) {
		if err := st.function(f); err != nil {
			return nil, err
		}
	}
	st.alarms()
	st.dashboard()
	st.backup()
	st.outputs()
	st.suppressions()
	return st, nil
}

// removal keeps data in prod and cleans up dev.
func (st *Stack) removal() awscdk.RemovalPolicy {
	if st.Settings.Prod() {
		return awscdk.RemovalPolicy_RETAIN
	}
	return awscdk.RemovalPolicy_DESTROY
}

func (st *Stack) retention() awslogs.RetentionDays {
	if st.Settings.LogRetentionDays >= 365 {
		return awslogs.RetentionDays_ONE_YEAR
	}
	return awslogs.RetentionDays_ONE_MONTH
}

func (st *Stack) logGroup(id string) awslogs.LogGroup {
	return awslogs.NewLogGroup(st.Stack, jsii.String(id), &awslogs.LogGroupProps{
		Retention:     st.retention(),
		RemovalPolicy: st.removal(),
	})
}

// data builds keys, table, queues, bus and secrets.
func (st *Stack) data() {
	s, c := st.Settings, st.Catalog
	st.DataKey = awskms.NewKey(st.Stack, jsii.String("DataKey"), &awskms.KeyProps{
		Description:       jsii.String("PulseHub " + s.Env + ": table, queues, backups and alarm topic"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	// CloudWatch alarms publish to the encrypted alarm topic; a key policy's
	// "*" resource means this key.
	st.DataKey.AddToResourcePolicy(statement("AllowCloudWatchAlarms", []string{"kms:Decrypt", "kms:GenerateDataKey*"}, []string{"*"}, "cloudwatch.amazonaws.com"), nil)
	st.PIIKey = awskms.NewKey(st.Stack, jsii.String("PiiKey"), &awskms.KeyProps{
		Description:       jsii.String("PulseHub " + s.Env + ": envelope encryption of personal data (PII_KMS_KEY_ID)"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})

	t := c.Table
	st.Table = awsdynamodb.NewTable(st.Stack, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey:        &awsdynamodb.Attribute{Name: jsii.String(t.PartitionKey), Type: awsdynamodb.AttributeType_STRING},
		SortKey:             &awsdynamodb.Attribute{Name: jsii.String(t.SortKey), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute: jsii.String(t.TTLAttribute),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		Encryption:         awsdynamodb.TableEncryption_CUSTOMER_MANAGED,
		EncryptionKey:      st.DataKey,
		DeletionProtection: jsii.Bool(s.Prod()),
		RemovalPolicy:      st.removal(),
	})
	for _, g := range t.GSIs {
		st.Table.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(g.Name),
			PartitionKey:   &awsdynamodb.Attribute{Name: jsii.String(g.PartitionKey), Type: awsdynamodb.AttributeType_STRING},
			SortKey:        &awsdynamodb.Attribute{Name: jsii.String(g.SortKey), Type: awsdynamodb.AttributeType_STRING},
			ProjectionType: awsdynamodb.ProjectionType_ALL,
		})
	}

	for _, q := range c.Queues {
		id := pascal(q.Name)
		dlq := awssqs.NewQueue(st.Stack, jsii.String(id+"Dlq"), &awssqs.QueueProps{
			RetentionPeriod:     awscdk.Duration_Days(jsii.Number(14)),
			Encryption:          awssqs.QueueEncryption_KMS,
			EncryptionMasterKey: st.DataKey,
			EnforceSSL:          jsii.Bool(true),
			RemovalPolicy:       st.removal(),
		})
		st.Queues[q.DLQName()] = dlq
		st.Queues[q.Name] = awssqs.NewQueue(st.Stack, jsii.String(id+"Queue"), &awssqs.QueueProps{
			VisibilityTimeout:   awscdk.Duration_Seconds(jsii.Number(q.VisibilityTimeout.Seconds())),
			RetentionPeriod:     awscdk.Duration_Seconds(jsii.Number(q.Retention.Seconds())),
			Encryption:          awssqs.QueueEncryption_KMS,
			EncryptionMasterKey: st.DataKey,
			EnforceSSL:          jsii.Bool(true),
			DeadLetterQueue:     &awssqs.DeadLetterQueue{Queue: dlq, MaxReceiveCount: jsii.Number(float64(q.MaxReceiveCount))},
			RemovalPolicy:       st.removal(),
		})
	}
	// EventBridge delivers failed targets here; SQS-managed encryption
	// because EventBridge cannot use a customer key without a key-policy
	// grant to the service for every rule.
	st.EventsDLQ = awssqs.NewQueue(st.Stack, jsii.String("EventsDlq"), &awssqs.QueueProps{
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RemovalPolicy:   st.removal(),
	})

	st.Bus = awsevents.NewEventBus(st.Stack, jsii.String("Bus"), &awsevents.EventBusProps{
		EventBusName: jsii.String(s.Prefix()),
	})

	st.JWTSecret = awssecretsmanager.NewSecret(st.Stack, jsii.String("JwtSecret"), &awssecretsmanager.SecretProps{
		SecretName:  jsii.String(s.JWTSecretName()),
		Description: jsii.String("PulseHub " + s.Env + ": JWT signing keys; the generated value derives the key, a JSON key set enables rotation (docs/security.md)"),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength: jsii.Number(64), ExcludePunctuation: jsii.Bool(true),
		},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	st.CursorSecret = awssecretsmanager.NewSecret(st.Stack, jsii.String("CursorSecret"), &awssecretsmanager.SecretProps{
		SecretName:  jsii.String(s.CursorSecretName()),
		Description: jsii.String("PulseHub " + s.Env + ": pagination cursor signing secret (CURSOR_SECRET, resolved at deploy time)"),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength: jsii.Number(64), ExcludePunctuation: jsii.Bool(true),
		},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	st.Providers = awssecretsmanager.NewSecret(st.Stack, jsii.String("ProviderSecret"), &awssecretsmanager.SecretProps{
		SecretName:  jsii.String(s.SecretsPrefix() + "platform"),
		Description: jsii.String("PulseHub " + s.Env + ": platform provider credentials (e.g. the OpenAI key), JSON"),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			SecretStringTemplate: jsii.String(`{"openaiApiKey":""}`),
			GenerateStringKey:    jsii.String("placeholder"),
			ExcludePunctuation:   jsii.Bool(true),
		},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
}

// accessLogFormat is one JSON object per request, for CloudWatch Logs Insights.
func accessLogFormat(fields map[string]string) string {
	var b strings.Builder
	b.WriteString("{")
	first := true
	for _, k := range sortedKeys(fields) {
		if !first {
			b.WriteString(",")
		}
		first = false
		fmt.Fprintf(&b, "%q:%q", k, fields[k])
	}
	b.WriteString("}")
	return b.String()
}

// apis builds the HTTP API and the WebSocket API with their stages; routes
// are added per function.
func (st *Stack) apis() {
	s := st.Settings
	st.HTTPAPI = awsapigatewayv2.NewHttpApi(st.Stack, jsii.String("HttpApi"), &awsapigatewayv2.HttpApiProps{
		ApiName:            jsii.String(s.Prefix() + "-http"),
		CreateDefaultStage: jsii.Bool(false),
	})
	st.HTTPStage = st.HTTPAPI.AddStage(jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageOptions{
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle:   &awsapigatewayv2.ThrottleSettings{RateLimit: jsii.Number(s.HTTPRateLimit), BurstLimit: jsii.Number(s.HTTPBurstLimit)},
	})
	httpLogs := st.logGroup("HttpApiAccessLogs")
	st.HTTPStage.Node().DefaultChild().(awsapigatewayv2.CfnStage).SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: httpLogs.LogGroupArn(),
		Format: jsii.String(accessLogFormat(map[string]string{
			"requestId": "$context.requestId", "ip": "$context.identity.sourceIp", "time": "$context.requestTime",
			"routeKey": "$context.routeKey", "status": "$context.status", "latency": "$context.responseLatency",
			"integrationLatency": "$context.integrationLatency", "integrationError": "$context.integrationErrorMessage",
			"responseLength": "$context.responseLength", "userAgent": "$context.identity.userAgent",
		})),
	})

	st.WSAPI = awsapigatewayv2.NewWebSocketApi(st.Stack, jsii.String("WebSocketApi"), &awsapigatewayv2.WebSocketApiProps{
		ApiName:                  jsii.String(s.Prefix() + "-ws"),
		RouteSelectionExpression: jsii.String("$request.body.action"),
	})
	st.WSStage = awsapigatewayv2.NewWebSocketStage(st.Stack, jsii.String("WebSocketStage"), &awsapigatewayv2.WebSocketStageProps{
		WebSocketApi: st.WSAPI,
		StageName:    jsii.String(s.Env),
		AutoDeploy:   jsii.Bool(true),
		Throttle:     &awsapigatewayv2.ThrottleSettings{RateLimit: jsii.Number(s.WSRateLimit), BurstLimit: jsii.Number(s.WSBurstLimit)},
	})
	wsLogs := st.logGroup("WebSocketAccessLogs")
	st.WSStage.Node().DefaultChild().(awsapigatewayv2.CfnStage).SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: wsLogs.LogGroupArn(),
		Format: jsii.String(accessLogFormat(map[string]string{
			"requestId": "$context.requestId", "ip": "$context.identity.sourceIp", "time": "$context.requestTime",
			"connectionId": "$context.connectionId", "eventType": "$context.eventType", "routeKey": "$context.routeKey",
			"status": "$context.status", "integrationError": "$context.integrationErrorMessage",
			"error": "$context.error.message",
		})),
	})
	if s.ManageAPIGWRole {
		st.apiGatewayAccount()
	}
}

// env returns the value of a catalog environment key in this stack.
func (st *Stack) env(key string) (*string, error) {
	switch key {
	case catalog.EnvTable:
		return st.Table.TableName(), nil
	case catalog.EnvLogLevel:
		return jsii.String(st.Settings.LogLevel), nil
	case catalog.EnvBus:
		return st.Bus.EventBusName(), nil
	case catalog.EnvWSEndpoint:
		return st.WSStage.CallbackUrl(), nil
	case catalog.EnvKMSKey:
		return st.PIIKey.KeyArn(), nil
	case catalog.EnvJWTSecret:
		return st.JWTSecret.SecretArn(), nil
	case catalog.EnvCursorSecret:
		// A CloudFormation dynamic reference, resolved at deploy time: config
		// reads settings from the environment only, and a cold start need not
		// call Secrets Manager. The value then sits in the function's
		// configuration, readable by whoever may read that; it only signs
		// pagination cursors, which are also bound to the tenant and query.
		return st.CursorSecret.SecretValue().UnsafeUnwrap(), nil
	case catalog.EnvSecrets:
		return jsii.String(st.Settings.SecretsPrefix()), nil
	case catalog.EnvOpenAIBase:
		return jsii.String(st.Settings.OpenAIBaseURL), nil
	case catalog.EnvOpenAIModel:
		return jsii.String(st.Settings.OpenAIModel), nil
	case catalog.EnvPublicURL:
		if st.Settings.PublicBaseURL != "" {
			return jsii.String(st.Settings.PublicBaseURL), nil
		}
		return st.HTTPAPI.ApiEndpoint(), nil
	}
	for _, q := range st.Catalog.Queues {
		switch key {
		case q.EnvKey():
			return st.Queues[q.Name].QueueUrl(), nil
		case q.DLQEnvKey():
			return st.Queues[q.DLQName()].QueueUrl(), nil
		}
	}
	return nil, fmt.Errorf("environment key %q has no value in the stack: add it to stack.env", key)
}

func (st *Stack) outputs() {
	out := func(id string, v *string, desc string) {
		awscdk.NewCfnOutput(st.Stack, jsii.String(id), &awscdk.CfnOutputProps{Value: v, Description: jsii.String(desc)})
	}
	out("HttpApiUrl", st.HTTPAPI.ApiEndpoint(), "HTTP API base URL (webhooks, /collect, /v1)")
	out("WebSocketUrl", st.WSStage.Url(), "WebSocket URL for the web app (wss://…?token=)")
	out("TableName", st.Table.TableName(), "DynamoDB table (TABLE_NAME for `pulsehub migrate`)")
	out("JwtSecretArn", st.JWTSecret.SecretArn(), "JWT signing keys secret")
	out("AlarmTopicArn", st.Alarms.TopicArn(), "SNS topic of every alarm")
}

func pascal(name string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '-' || r == '_' || r == '$' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}
