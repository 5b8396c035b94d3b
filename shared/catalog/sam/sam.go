package sam

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pulsehub/pulsehub/shared/catalog"
)

// Generate renders the SAM template for the catalog's deployable functions.
// The output is deterministic: the same catalog gives the same bytes.
func Generate(c catalog.Catalog) ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	g := &gen{c: c, resources: &yaml.Node{Kind: yaml.MappingNode}}
	g.data()
	g.httpAPI()
	g.webSocketAPI()
	for _, f := range c.Deployable() {
		if err := g.function(f); err != nil {
			return nil, err
		}
	}
	g.alarms()

	root := mapping(
		"AWSTemplateFormatVersion", "2010-09-09",
		"Transform", "AWS::Serverless-2016-10-31",
		"Description", "PulseHub: serverless marketing platform. GENERATED from shared/catalog by "+
			"`go generate ./shared/catalog/sam` (make sam); do not edit by hand.",
		"Parameters", mapping(
			"Env", mapping("Type", "String", "Default", "dev", "AllowedValues", seq("dev", "prod"),
				"Description", "Environment: names resources and turns on deletion protection in prod."),
			"LogLevel", mapping("Type", "String", "Default", "info", "AllowedValues", seq("debug", "info", "warn", "error")),
			"PublicBaseUrl", mapping("Type", "String", "Default", "",
				"Description", "External URL of the HTTP API (custom domain); empty uses the API's own URL."),
			"OpenAIBaseUrl", mapping("Type", "String", "Default", "https://api.openai.com/v1"),
			"OpenAIModel", mapping("Type", "String", "Default", catalog.DefaultOpenAIModel),
			"HttpRateLimit", mapping("Type", "Number", "Default", 50, "Description", "HTTP API requests per second (steady state)."),
			"HttpBurstLimit", mapping("Type", "Number", "Default", 100),
			"AlarmEmail", mapping("Type", "String", "Default", "", "Description", "Optional e-mail for the alarm topic."),
		),
		"Conditions", mapping(
			"IsProd", tagged("!Equals", seq(ref("Env"), "prod")),
			"HasPublicBaseUrl", tagged("!Not", seq(tagged("!Equals", seq(ref("PublicBaseUrl"), "")))),
			"HasAlarmEmail", tagged("!Not", seq(tagged("!Equals", seq(ref("AlarmEmail"), "")))),
		),
		"Globals", mapping("Function", mapping(
			"Runtime", "provided.al2023",
			"Architectures", seq("arm64"),
			"Handler", "bootstrap",
			"Tags", mapping("app", "pulsehub", "environment", ref("Env"), "managed-by", "sam"),
		)),
		"Resources", g.resources,
		"Outputs", mapping(
			"HttpApiUrl", mapping("Value", sub("https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}")),
			"WebSocketUrl", mapping("Value", sub("wss://${WebSocketApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${Env}")),
			"TableName", mapping("Value", ref("Table")),
		),
	)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("sam: encode: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("sam: encode: %w", err)
	}
	return buf.Bytes(), nil
}

type gen struct {
	c         catalog.Catalog
	resources *yaml.Node
}

func (g *gen) add(id string, r *yaml.Node) {
	g.resources.Content = append(g.resources.Content, scalar(id), r)
}

// data declares keys, table, queues, bus and secrets.
func (g *gen) data() {
	keyPolicy := func(extra ...any) *yaml.Node {
		statements := []any{mapping(
			"Sid", "AccountAdmin", "Effect", "Allow",
			"Principal", mapping("AWS", sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")),
			"Action", "kms:*", "Resource", "*",
		)}
		return mapping("Version", "2012-10-17", "Statement", seq(append(statements, extra...)...))
	}
	g.add("DataKey", mapping("Type", "AWS::KMS::Key", "DeletionPolicy", "Retain", "UpdateReplacePolicy", "Retain",
		"Properties", mapping(
			"Description", sub("PulseHub ${Env}: table, queues and alarm topic"),
			"EnableKeyRotation", true,
			"KeyPolicy", keyPolicy(mapping(
				"Sid", "AllowCloudWatchAlarms", "Effect", "Allow",
				"Principal", mapping("Service", "cloudwatch.amazonaws.com"),
				"Action", seq("kms:Decrypt", "kms:GenerateDataKey*"), "Resource", "*",
			)),
		)))
	g.add("PiiKey", mapping("Type", "AWS::KMS::Key", "DeletionPolicy", "Retain", "UpdateReplacePolicy", "Retain",
		"Properties", mapping(
			"Description", sub("PulseHub ${Env}: envelope encryption of personal data (PII_KMS_KEY_ID)"),
			"EnableKeyRotation", true,
			"KeyPolicy", keyPolicy(),
		)))

	t := g.c.Table
	attrs := []any{attr(t.PartitionKey), attr(t.SortKey)}
	var gsis []any
	for _, x := range t.GSIs {
		attrs = append(attrs, attr(x.PartitionKey), attr(x.SortKey))
		gsis = append(gsis, mapping(
			"IndexName", x.Name,
			"KeySchema", seq(mapping("AttributeName", x.PartitionKey, "KeyType", "HASH"), mapping("AttributeName", x.SortKey, "KeyType", "RANGE")),
			"Projection", mapping("ProjectionType", "ALL"),
		))
	}
	g.add("Table", mapping("Type", "AWS::DynamoDB::Table", "DeletionPolicy", "Retain", "UpdateReplacePolicy", "Retain",
		"Properties", mapping(
			"BillingMode", "PAY_PER_REQUEST",
			"AttributeDefinitions", seq(attrs...),
			"KeySchema", seq(mapping("AttributeName", t.PartitionKey, "KeyType", "HASH"), mapping("AttributeName", t.SortKey, "KeyType", "RANGE")),
			"GlobalSecondaryIndexes", seq(gsis...),
			"TimeToLiveSpecification", mapping("AttributeName", t.TTLAttribute, "Enabled", true),
			"PointInTimeRecoverySpecification", mapping("PointInTimeRecoveryEnabled", true),
			"SSESpecification", mapping("SSEEnabled", true, "SSEType", "KMS", "KMSMasterKeyId", getAtt("DataKey.Arn")),
			"DeletionProtectionEnabled", tagged("!If", seq("IsProd", true, false)),
		)))

	for _, q := range g.c.Queues {
		id := pascal(q.Name)
		g.add(id+"Dlq", mapping("Type", "AWS::SQS::Queue", "Properties", mapping(
			"MessageRetentionPeriod", 14*24*3600,
			"KmsMasterKeyId", ref("DataKey"),
		)))
		g.add(id+"Queue", mapping("Type", "AWS::SQS::Queue", "Properties", mapping(
			"VisibilityTimeout", int(q.VisibilityTimeout.Seconds()),
			"MessageRetentionPeriod", int(q.Retention.Seconds()),
			"KmsMasterKeyId", ref("DataKey"),
			"RedrivePolicy", mapping("deadLetterTargetArn", getAtt(id+"Dlq.Arn"), "maxReceiveCount", q.MaxReceiveCount),
		)))
	}
	g.add("EventsDlq", mapping("Type", "AWS::SQS::Queue", "Properties", mapping(
		"MessageRetentionPeriod", 14*24*3600,
		"SqsManagedSseEnabled", true,
	)))
	queues := []string{"EventsDlq"}
	for _, q := range g.c.Queues {
		queues = append(queues, pascal(q.Name)+"Queue", pascal(q.Name)+"Dlq")
	}
	for _, id := range queues {
		g.add(id+"Policy", mapping("Type", "AWS::SQS::QueuePolicy", "Properties", mapping(
			"Queues", seq(ref(id)),
			"PolicyDocument", mapping("Version", "2012-10-17", "Statement", seq(mapping(
				"Sid", "DenyInsecureTransport", "Effect", "Deny", "Principal", "*", "Action", "sqs:*",
				"Resource", getAtt(id+".Arn"),
				"Condition", mapping("Bool", mapping("aws:SecureTransport", "false")),
			))),
		)))
	}

	g.add("Bus", mapping("Type", "AWS::Events::EventBus", "Properties", mapping("Name", sub("pulsehub-${Env}"))))
	g.add("JwtSecret", mapping("Type", "AWS::SecretsManager::Secret", "DeletionPolicy", "Retain", "UpdateReplacePolicy", "Retain",
		"Properties", mapping(
			"Name", sub("pulsehub/${Env}/jwt"),
			"Description", "JWT signing keys: the generated value derives the key; a JSON key set enables rotation (docs/security.md)",
			"GenerateSecretString", mapping("PasswordLength", 64, "ExcludePunctuation", true),
		)))
	g.add("CursorSecret", mapping("Type", "AWS::SecretsManager::Secret", "DeletionPolicy", "Retain", "UpdateReplacePolicy", "Retain",
		"Properties", mapping(
			"Name", sub("pulsehub/${Env}/cursor"),
			"Description", "Pagination cursor signing secret (CURSOR_SECRET, resolved at deploy time)",
			"GenerateSecretString", mapping("PasswordLength", 64, "ExcludePunctuation", true),
		)))
	g.add("ProviderSecret", mapping("Type", "AWS::SecretsManager::Secret", "DeletionPolicy", "Retain", "UpdateReplacePolicy", "Retain",
		"Properties", mapping(
			"Name", sub("pulsehub/${Env}/providers/platform"),
			"Description", "Platform provider credentials (e.g. the OpenAI key), JSON",
			"GenerateSecretString", mapping("SecretStringTemplate", `{"openaiApiKey":""}`, "GenerateStringKey", "placeholder", "ExcludePunctuation", true),
		)))
}

// httpAPI declares the HTTP API and its $default stage. Routes are plain
// AWS::ApiGatewayV2 resources, not SAM HttpApi events: SAM would inline them
// into the API's definition, and the webhooks function, which reads the
// API's own URL (PUBLIC_BASE_URL), would then depend on itself.
func (g *gen) httpAPI() {
	g.add("HttpApi", mapping("Type", "AWS::ApiGatewayV2::Api", "Properties", mapping(
		"Name", sub("pulsehub-${Env}-http"),
		"ProtocolType", "HTTP",
	)))
	g.add("HttpApiAccessLogs", mapping("Type", "AWS::Logs::LogGroup", "Properties", mapping("RetentionInDays", 30)))
	g.add("HttpApiStage", mapping("Type", "AWS::ApiGatewayV2::Stage", "Properties", mapping(
		"ApiId", ref("HttpApi"),
		"StageName", "$default",
		"AutoDeploy", true,
		"DefaultRouteSettings", mapping("ThrottlingRateLimit", ref("HttpRateLimit"), "ThrottlingBurstLimit", ref("HttpBurstLimit")),
		"AccessLogSettings", mapping(
			"DestinationArn", getAtt("HttpApiAccessLogs.Arn"),
			"Format", `{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","time":"$context.requestTime",`+
				`"routeKey":"$context.routeKey","status":"$context.status","latency":"$context.responseLatency",`+
				`"integrationError":"$context.integrationErrorMessage"}`,
		),
	)))
}

// webSocketAPI declares the API and its stage; routes come with functions.
func (g *gen) webSocketAPI() {
	g.add("WebSocketApi", mapping("Type", "AWS::ApiGatewayV2::Api", "Properties", mapping(
		"Name", sub("pulsehub-${Env}-ws"),
		"ProtocolType", "WEBSOCKET",
		"RouteSelectionExpression", "$request.body.action",
	)))
	g.add("WebSocketAccessLogs", mapping("Type", "AWS::Logs::LogGroup", "Properties", mapping("RetentionInDays", 30)))
	// WebSocket stage logs need API Gateway's account-level CloudWatch role
	// (see docs/operations.md); the CDK stack can set it, SAM leaves it.
	g.add("WebSocketStage", mapping("Type", "AWS::ApiGatewayV2::Stage", "Properties", mapping(
		"ApiId", ref("WebSocketApi"),
		"StageName", ref("Env"),
		"AutoDeploy", true,
		"DefaultRouteSettings", mapping("ThrottlingRateLimit", 20, "ThrottlingBurstLimit", 50),
		"AccessLogSettings", mapping(
			"DestinationArn", getAtt("WebSocketAccessLogs.Arn"),
			"Format", `{"requestId":"$context.requestId","connectionId":"$context.connectionId","eventType":"$context.eventType",`+
				`"routeKey":"$context.routeKey","status":"$context.status","error":"$context.error.message"}`,
		),
	)))
}

// env is the value of a catalog environment key in the template.
func (g *gen) env(key string) (any, error) {
	switch key {
	case catalog.EnvTable:
		return ref("Table"), nil
	case catalog.EnvLogLevel:
		return ref("LogLevel"), nil
	case catalog.EnvBus:
		return ref("Bus"), nil
	case catalog.EnvWSEndpoint:
		return sub("https://${WebSocketApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${Env}"), nil
	case catalog.EnvKMSKey:
		return getAtt("PiiKey.Arn"), nil
	case catalog.EnvJWTSecret:
		return ref("JwtSecret"), nil
	case catalog.EnvCursorSecret:
		// A dynamic reference, resolved by CloudFormation at deploy time:
		// config reads its settings from the environment only, and a cold
		// start need not call Secrets Manager. The value then sits in the
		// function's configuration, readable by whoever may read that; it
		// only signs pagination cursors, which are also bound to the tenant.
		return sub("{{resolve:secretsmanager:${CursorSecret}:SecretString}}"), nil
	case catalog.EnvSecrets:
		return sub("pulsehub/${Env}/providers/"), nil
	case catalog.EnvOpenAIBase:
		return ref("OpenAIBaseUrl"), nil
	case catalog.EnvOpenAIModel:
		return ref("OpenAIModel"), nil
	case catalog.EnvPublicURL:
		return tagged("!If", seq("HasPublicBaseUrl", ref("PublicBaseUrl"),
			sub("https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"))), nil
	}
	for _, q := range g.c.Queues {
		switch key {
		case q.EnvKey():
			return ref(pascal(q.Name) + "Queue"), nil
		case q.DLQEnvKey():
			return ref(pascal(q.Name) + "Dlq"), nil
		}
	}
	return nil, fmt.Errorf("sam: environment key %q has no value in the template", key)
}

// policies turns the catalog grants into SAM policy templates and statements.
func (g *gen) policies(f catalog.Function) ([]any, error) {
	var out []any
	statement := func(actions []string, resource any) {
		var a []any
		for _, s := range actions {
			a = append(a, s)
		}
		out = append(out, mapping("Statement", seq(mapping("Effect", "Allow", "Action", seq(a...), "Resource", resource))))
	}
	usesQueues := false
	for _, gr := range f.Grants {
		bad := fmt.Errorf("sam: function %q: grant %s %q %s is not supported", f.Name, gr.Kind, gr.Name, gr.Access)
		switch gr.Kind {
		case catalog.KindTable:
			switch gr.Access {
			case catalog.Read:
				out = append(out, mapping("DynamoDBReadPolicy", mapping("TableName", ref("Table"))))
			case catalog.ReadWrite:
				out = append(out, mapping("DynamoDBCrudPolicy", mapping("TableName", ref("Table"))))
			default:
				return nil, bad
			}
		case catalog.KindQueue:
			usesQueues = true
			name := getAtt(pascal(gr.Name) + "Queue.QueueName")
			switch gr.Access {
			case catalog.Send:
				out = append(out, mapping("SQSSendMessagePolicy", mapping("QueueName", name)))
			case catalog.Consume:
				out = append(out, mapping("SQSPollerPolicy", mapping("QueueName", name)))
			default:
				return nil, bad
			}
		case catalog.KindBus:
			if gr.Access != catalog.Publish {
				return nil, bad
			}
			out = append(out, mapping("EventBridgePutEventsPolicy", mapping("EventBusName", ref("Bus"))))
		case catalog.KindWebSocket:
			if gr.Access != catalog.Manage {
				return nil, bad
			}
			statement([]string{"execute-api:ManageConnections"},
				sub("arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${WebSocketApi}/${Env}/*/@connections/*"))
		case catalog.KindKMS:
			switch gr.Access {
			case catalog.Encrypt:
				statement([]string{"kms:GenerateDataKey", "kms:Decrypt"}, getAtt("PiiKey.Arn"))
			case catalog.Decrypt:
				statement([]string{"kms:Decrypt"}, getAtt("PiiKey.Arn"))
			default:
				return nil, bad
			}
		case catalog.KindSecret:
			actions := []string{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
			if gr.Access == catalog.ReadWrite {
				actions = append(actions, "secretsmanager:CreateSecret", "secretsmanager:PutSecretValue",
					"secretsmanager:UpdateSecret", "secretsmanager:DeleteSecret", "secretsmanager:TagResource")
			} else if gr.Access != catalog.Read {
				return nil, bad
			}
			switch gr.Name {
			case "jwt":
				statement(actions, ref("JwtSecret"))
			case "providers":
				statement(actions, sub("arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:pulsehub/${Env}/providers/*"))
			default:
				return nil, fmt.Errorf("sam: function %q: grant on unknown secret %q", f.Name, gr.Name)
			}
		default:
			return nil, bad
		}
	}
	for _, q := range g.c.Queues {
		if slices.Contains(f.Env, q.DLQEnvKey()) {
			usesQueues = true
			out = append(out, mapping("SQSSendMessagePolicy", mapping("QueueName", getAtt(pascal(q.Name)+"Dlq.QueueName"))))
		}
	}
	if usesQueues {
		// The queues are encrypted with the data key.
		statement([]string{"kms:GenerateDataKey", "kms:Decrypt"}, getAtt("DataKey.Arn"))
	}
	return out, nil
}

func (g *gen) function(f catalog.Function) error {
	id := pascal(f.Name) + "Function"
	vars := &yaml.Node{Kind: yaml.MappingNode}
	for _, k := range f.Env {
		v, err := g.env(k)
		if err != nil {
			return fmt.Errorf("function %q: %w", f.Name, err)
		}
		vars.Content = append(vars.Content, scalar(k), value(v))
	}
	policies, err := g.policies(f)
	if err != nil {
		return err
	}
	events := &yaml.Node{Kind: yaml.MappingNode}
	event := func(name string, e *yaml.Node) { events.Content = append(events.Content, scalar(name), e) }
	if t := f.Queue; t != nil {
		props := mapping(
			"Queue", getAtt(pascal(t.Queue)+"Queue.Arn"),
			"BatchSize", t.BatchSize,
			"FunctionResponseTypes", seq("ReportBatchItemFailures"),
		)
		if t.BatchWindow > 0 {
			props.Content = append(props.Content, scalar("MaximumBatchingWindowInSeconds"), value(int(t.BatchWindow.Seconds())))
		}
		if t.MaxConcurrency > 0 {
			props.Content = append(props.Content, scalar("ScalingConfig"), mapping("MaximumConcurrency", t.MaxConcurrency))
		}
		event(pascal(t.Queue)+"Queue", mapping("Type", "SQS", "Properties", props))
	}
	dlq := mapping("Arn", getAtt("EventsDlq.Arn"))
	for _, s := range f.Schedules {
		event(pascal(s.Name)+"Schedule", mapping("Type", "Schedule", "Properties", mapping(
			"Schedule", s.Expression,
			"RetryPolicy", mapping("MaximumRetryAttempts", 4, "MaximumEventAgeInSeconds", 7200),
			"DeadLetterConfig", dlq,
		)))
	}
	for _, e := range f.Events {
		var types []any
		for _, d := range e.DetailTypes {
			types = append(types, d)
		}
		event(pascal(e.Name)+"Rule", mapping("Type", "EventBridgeRule", "Properties", mapping(
			"EventBusName", ref("Bus"),
			"Pattern", mapping("source", seq(g.c.Bus.Source), "detail-type", seq(types...)),
			"RetryPolicy", mapping("MaximumRetryAttempts", 4, "MaximumEventAgeInSeconds", 7200),
			"DeadLetterConfig", dlq,
		)))
	}
	props := mapping(
		"FunctionName", sub("pulsehub-${Env}-"+f.Name),
		"Description", f.Description,
		"CodeUri", "build/"+f.Name+"/",
		"MemorySize", f.MemoryMB,
		"Timeout", int(f.Timeout.Seconds()),
	)
	if f.ReservedConcurrency > 0 {
		props.Content = append(props.Content, scalar("ReservedConcurrentExecutions"), value(f.ReservedConcurrency))
	}
	props.Content = append(props.Content, scalar("Environment"), mapping("Variables", vars))
	props.Content = append(props.Content, scalar("Policies"), seq(policies...))
	if len(f.Schedules)+len(f.Events) > 0 {
		props.Content = append(props.Content, scalar("EventInvokeConfig"), mapping(
			"MaximumRetryAttempts", 2,
			"DestinationConfig", mapping("OnFailure", mapping("Type", "SQS", "Destination", getAtt("EventsDlq.Arn"))),
		))
	}
	if len(events.Content) > 0 {
		props.Content = append(props.Content, scalar("Events"), events)
	}
	g.add(id, mapping("Type", "AWS::Serverless::Function", "Properties", props))

	if len(f.HTTP) > 0 {
		iid := pascal(f.Name) + "HttpIntegration"
		g.add(iid, mapping("Type", "AWS::ApiGatewayV2::Integration", "Properties", mapping(
			"ApiId", ref("HttpApi"),
			"IntegrationType", "AWS_PROXY",
			"IntegrationUri", getAtt(id+".Arn"),
			"PayloadFormatVersion", "2.0",
		)))
		g.add(pascal(f.Name)+"HttpPermission", mapping("Type", "AWS::Lambda::Permission", "Properties", mapping(
			"Action", "lambda:InvokeFunction",
			"FunctionName", ref(id),
			"Principal", "apigateway.amazonaws.com",
			"SourceArn", sub("arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpApi}/*"),
		)))
		for _, r := range f.HTTP {
			g.add(routeID(r)+"Route", mapping("Type", "AWS::ApiGatewayV2::Route", "Properties", mapping(
				"ApiId", ref("HttpApi"),
				"RouteKey", r.String(),
				"AuthorizationType", "NONE",
				"Target", sub("integrations/${"+iid+"}"),
			)))
		}
	}

	for _, key := range f.WebSocket {
		rid := pascal(f.Name) + pascal(key)
		g.add(rid+"Integration", mapping("Type", "AWS::ApiGatewayV2::Integration", "Properties", mapping(
			"ApiId", ref("WebSocketApi"),
			"IntegrationType", "AWS_PROXY",
			"IntegrationUri", sub("arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${"+id+".Arn}/invocations"),
		)))
		g.add(rid+"Route", mapping("Type", "AWS::ApiGatewayV2::Route", "Properties", mapping(
			"ApiId", ref("WebSocketApi"),
			"RouteKey", key,
			"AuthorizationType", "NONE",
			"Target", sub("integrations/${"+rid+"Integration}"),
		)))
		g.add(rid+"Permission", mapping("Type", "AWS::Lambda::Permission", "Properties", mapping(
			"Action", "lambda:InvokeFunction",
			"FunctionName", ref(id),
			"Principal", "apigateway.amazonaws.com",
			"SourceArn", sub("arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${WebSocketApi}/*/"+key),
		)))
	}
	return nil
}

// alarms: any DLQ message and function errors notify the alarm topic.
func (g *gen) alarms() {
	g.add("AlarmTopic", mapping("Type", "AWS::SNS::Topic", "Properties", mapping(
		"KmsMasterKeyId", ref("DataKey"),
		"Subscription", tagged("!If", seq("HasAlarmEmail",
			seq(mapping("Protocol", "email", "Endpoint", ref("AlarmEmail"))), ref("AWS::NoValue"))),
	)))
	alarm := func(id, description, namespace, metric, stat string, dims *yaml.Node) {
		g.add(id, mapping("Type", "AWS::CloudWatch::Alarm", "Properties", mapping(
			"AlarmDescription", description+" See docs/operations.md#alarms.",
			"Namespace", namespace, "MetricName", metric, "Dimensions", dims,
			"Statistic", stat, "Period", 60, "EvaluationPeriods", 1, "Threshold", 0,
			"ComparisonOperator", "GreaterThanThreshold", "TreatMissingData", "notBreaching",
			"AlarmActions", seq(ref("AlarmTopic")),
		)))
	}
	dlqs := []string{"EventsDlq"}
	for _, q := range g.c.Queues {
		dlqs = append(dlqs, pascal(q.Name)+"Dlq")
	}
	for _, id := range dlqs {
		alarm(id+"Messages", "A message reached a dead-letter queue.", "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum",
			seq(mapping("Name", "QueueName", "Value", getAtt(id+".QueueName"))))
	}
	for _, f := range g.c.Deployable() {
		id := pascal(f.Name)
		for _, m := range []string{"Errors", "Throttles"} {
			alarm(id+m, "Function "+f.Name+" reported "+m+".", "AWS/Lambda", m, "Sum",
				seq(mapping("Name", "FunctionName", "Value", ref(id+"Function"))))
		}
	}
}

// routeID is a stable logical id for an HTTP route, e.g.
// "POST /webhooks/twilio/{tenantId}" → PostWebhooksTwilioTenantId.
func routeID(r catalog.Route) string {
	var b strings.Builder
	b.WriteString(pascal(strings.ToLower(r.Method)))
	for _, part := range strings.FieldsFunc(r.Path, func(c rune) bool { return !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func pascal(name string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '-' || r == '_' || r == '$' || r == '.' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func attr(name string) *yaml.Node {
	return mapping("AttributeName", name, "AttributeType", "S")
}

// YAML node helpers: mapping(k1, v1, k2, v2, …), seq(v…), intrinsic tags.

func scalar(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func value(v any) *yaml.Node {
	switch v := v.(type) {
	case *yaml.Node:
		return v
	case string:
		return scalar(v)
	case int:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(v)}
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v)}
	}
	panic(fmt.Sprintf("sam: unsupported YAML value %T", v))
}

func mapping(kv ...any) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i < len(kv); i += 2 {
		n.Content = append(n.Content, scalar(kv[i].(string)), value(kv[i+1]))
	}
	return n
}

func seq(items ...any) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode}
	for _, it := range items {
		n.Content = append(n.Content, value(it))
	}
	return n
}

func tagged(tag string, n *yaml.Node) *yaml.Node { n.Tag = tag; return n }

func ref(name string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!Ref", Value: name} }
func getAtt(attr string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!GetAtt", Value: attr}
}
func sub(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!Sub", Value: s} }
