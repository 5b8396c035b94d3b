package stack

import (
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/jsii-runtime-go"

	"github.com/pulsehub/pulsehub/shared/catalog"
)

// function builds one catalog function: role, log group, code, environment,
// grants and triggers.
func (st *Stack) function(f catalog.Function) error {
	s := st.Settings
	id := pascal(f.Name)
	code, err := s.assetPath(f.Name)
	if err != nil {
		return err
	}
	env := map[string]*string{}
	for _, k := range f.Env {
		v, err := st.env(k)
		if err != nil {
			return fmt.Errorf("function %q: %w", f.Name, err)
		}
		env[k] = v
	}
	logs := st.logGroup(id + "Logs")
	role := awsiam.NewRole(st.Stack, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("PulseHub " + s.Env + " " + f.Name + ": least privilege from the catalog grants"),
	})
	logs.GrantWrite(role)
	props := &awslambda.FunctionProps{
		FunctionName: jsii.String(s.Prefix() + "-" + f.Name),
		Description:  jsii.String(f.Description),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         awslambda.Code_FromAsset(jsii.String(code), nil),
		MemorySize:   jsii.Number(float64(f.MemoryMB)),
		Timeout:      awscdk.Duration_Seconds(jsii.Number(f.Timeout.Seconds())),
		Environment:  &env,
		Role:         role,
		LogGroup:     logs,
	}
	if f.ReservedConcurrency > 0 {
		props.ReservedConcurrentExecutions = jsii.Number(float64(f.ReservedConcurrency))
	}
	fn := awslambda.NewFunction(st.Stack, jsii.String(id+"Function"), props)
	st.Functions[f.Name] = fn

	for _, g := range f.Grants {
		if err := st.grant(fn, g); err != nil {
			return fmt.Errorf("function %q: %w", f.Name, err)
		}
	}
	// Consumers send poison messages to their DLQ themselves, with a reason
	// (catalog.Queue.DLQEnvKey): they may send there and nowhere else.
	for _, q := range st.Catalog.Queues {
		if slices.Contains(f.Env, q.DLQEnvKey()) {
			st.Queues[q.DLQName()].GrantSendMessages(fn)
		}
	}
	st.triggers(f, fn)
	return nil
}

// grant turns one catalog grant into IAM statements on the named resource only.
func (st *Stack) grant(fn awslambda.Function, g catalog.Grant) error {
	bad := func() error { return fmt.Errorf("grant %s %q %s is not supported", g.Kind, g.Name, g.Access) }
	switch g.Kind {
	case catalog.KindTable:
		switch g.Access {
		case catalog.Read:
			st.Table.GrantReadData(fn)
		case catalog.ReadWrite:
			st.Table.GrantReadWriteData(fn)
		default:
			return bad()
		}
	case catalog.KindQueue:
		q, ok := st.Queues[g.Name]
		if !ok {
			return fmt.Errorf("grant on unknown queue %q", g.Name)
		}
		switch g.Access {
		case catalog.Send:
			q.GrantSendMessages(fn)
		case catalog.Consume:
			q.GrantConsumeMessages(fn)
		default:
			return bad()
		}
	case catalog.KindBus:
		if g.Access != catalog.Publish {
			return bad()
		}
		st.Bus.GrantPutEventsTo(fn, nil)
	case catalog.KindWebSocket:
		if g.Access != catalog.Manage {
			return bad()
		}
		st.WSStage.GrantManagementApiAccess(fn)
	case catalog.KindKMS:
		switch g.Access {
		case catalog.Encrypt:
			st.PIIKey.Grant(fn, jsii.String("kms:GenerateDataKey"), jsii.String("kms:Decrypt"))
		case catalog.Decrypt:
			st.PIIKey.Grant(fn, jsii.String("kms:Decrypt"))
		default:
			return bad()
		}
	case catalog.KindSecret:
		return st.grantSecret(fn, g)
	default:
		return bad()
	}
	return nil
}

// Secret actions per access level.
var (
	secretRead      = []string{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
	secretReadWrite = append(slices.Clone(secretRead),
		"secretsmanager:CreateSecret", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecret",
		"secretsmanager:DeleteSecret", "secretsmanager:TagResource")
)

func (st *Stack) grantSecret(fn awslambda.Function, g catalog.Grant) error {
	var actions []string
	switch g.Access {
	case catalog.Read:
		actions = secretRead
	case catalog.ReadWrite:
		actions = secretReadWrite
	default:
		return fmt.Errorf("grant secret %q %s is not supported", g.Name, g.Access)
	}
	var resource string
	switch g.Name {
	case "jwt":
		resource = *st.JWTSecret.SecretArn()
	case "providers":
		// Provider credentials are created per name at run time under the
		// prefix, so the resource is the prefix (documented wildcard).
		resource = *st.Stack.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("secretsmanager"), Resource: jsii.String("secret"),
			ResourceName: jsii.String(st.Settings.SecretsPrefix() + "*"),
			ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
		})
	default:
		return fmt.Errorf("grant on unknown secret %q (known: jwt, providers)", g.Name)
	}
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings(actions...),
		Resources: jsii.Strings(resource),
	}))
	return nil
}

// triggers wires the function's HTTP routes, WebSocket routes, queue,
// schedules and event rules.
func (st *Stack) triggers(f catalog.Function, fn awslambda.Function) {
	id := pascal(f.Name)
	if len(f.HTTP) > 0 {
		integration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String(id+"Http"), fn, nil)
		for _, r := range f.HTTP {
			st.HTTPAPI.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
				Path:        jsii.String(r.Path),
				Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod(r.Method)},
				Integration: integration,
			})
		}
	}
	for _, key := range f.WebSocket {
		st.WSAPI.AddRoute(jsii.String(key), &awsapigatewayv2.WebSocketRouteOptions{
			Integration: awsapigatewayv2integrations.NewWebSocketLambdaIntegration(jsii.String(id+pascal(key)+"Ws"), fn, nil),
		})
	}
	if t := f.Queue; t != nil {
		props := &awslambdaeventsources.SqsEventSourceProps{
			BatchSize:               jsii.Number(float64(t.BatchSize)),
			ReportBatchItemFailures: jsii.Bool(true),
		}
		if t.BatchWindow > 0 {
			props.MaxBatchingWindow = awscdk.Duration_Seconds(jsii.Number(t.BatchWindow.Seconds()))
		}
		if t.MaxConcurrency > 0 {
			props.MaxConcurrency = jsii.Number(float64(t.MaxConcurrency))
		}
		fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(st.Queues[t.Queue], props))
	}
	if len(f.Schedules) == 0 && len(f.Events) == 0 {
		return
	}
	// EventBridge invokes asynchronously: Lambda retries twice, then the
	// event goes to the events DLQ; EventBridge's own delivery failures too.
	fn.ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{
		RetryAttempts: jsii.Number(2),
		OnFailure:     awslambdadestinations.NewSqsDestination(st.EventsDLQ),
	})
	target := awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
		DeadLetterQueue: st.EventsDLQ,
		RetryAttempts:   jsii.Number(4),
		MaxEventAge:     awscdk.Duration_Hours(jsii.Number(2)),
	})
	for _, sc := range f.Schedules {
		awsevents.NewRule(st.Stack, jsii.String(id+pascal(sc.Name)+"Schedule"), &awsevents.RuleProps{
			Description: jsii.String(f.Name + " schedule " + sc.Name),
			Schedule:    awsevents.Schedule_Expression(jsii.String(sc.Expression)),
			Targets:     &[]awsevents.IRuleTarget{target},
		})
	}
	for _, e := range f.Events {
		awsevents.NewRule(st.Stack, jsii.String(id+pascal(e.Name)+"Rule"), &awsevents.RuleProps{
			Description: jsii.String(f.Name + " rule " + e.Name),
			EventBus:    st.Bus,
			EventPattern: &awsevents.EventPattern{
				Source:     jsii.Strings(st.Catalog.Bus.Source),
				DetailType: jsii.Strings(e.DetailTypes...),
			},
			Targets: &[]awsevents.IRuleTarget{target},
		})
	}
}

// statement is a resource-policy statement for a service principal.
func statement(sid string, actions, resources []string, service string) awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String(sid),
		Actions:    jsii.Strings(actions...),
		Resources:  jsii.Strings(resources...),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String(service), nil)},
	})
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
