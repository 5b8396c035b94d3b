package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsbackup"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"
)

// apiGatewayAccount sets the account-wide role API Gateway uses to write
// WebSocket stage logs. It is one setting per account and region: turn it
// off with context pulsehub:apigwAccount=false when something else owns it.
func (st *Stack) apiGatewayAccount() {
	role := awsiam.NewRole(st.Stack, jsii.String("ApiGatewayLogsRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("apigateway.amazonaws.com"), nil),
		ManagedPolicies: &[]awsiam.IManagedPolicy{
			awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String("service-role/AmazonAPIGatewayPushToCloudWatchLogs")),
		},
	})
	role.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN)
	account := awsapigateway.NewCfnAccount(st.Stack, jsii.String("ApiGatewayAccount"), &awsapigateway.CfnAccountProps{
		CloudWatchRoleArn: role.RoleArn(),
	})
	account.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN, nil)
	// The stage's logs need the account role in place first.
	st.WSStage.Node().AddDependency(account)
}

func minutes(n float64) awscdk.Duration { return awscdk.Duration_Minutes(jsii.Number(n)) }

// alarm raises when metric > threshold for periods consecutive periods;
// missing data (no traffic) is not a breach.
func (st *Stack) alarm(id, description string, metric awscloudwatch.IMetric, threshold, periods float64) {
	a := awscloudwatch.NewAlarm(st.Stack, jsii.String(id), &awscloudwatch.AlarmProps{
		Metric:             metric,
		Threshold:          jsii.Number(threshold),
		EvaluationPeriods:  jsii.Number(periods),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		AlarmDescription:   jsii.String(description + " See docs/operations.md#alarms."),
	})
	a.AddAlarmAction(awscloudwatchactions.NewSnsAction(st.Alarms))
}

// alarms: any DLQ message, function errors and throttles, API 5xx and p99
// latency, WebSocket errors. Every alarm notifies the alarm topic.
func (st *Stack) alarms() {
	st.Alarms = awssns.NewTopic(st.Stack, jsii.String("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("PulseHub " + st.Settings.Env + " alarms"),
		MasterKey:   st.DataKey,
		EnforceSSL:  jsii.Bool(true),
	})
	if e := st.Settings.AlarmEmail; e != "" {
		st.Alarms.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(e), nil))
	}
	max1m := &awscloudwatch.MetricOptions{Period: minutes(1), Statistic: jsii.String("Maximum")}
	sum5m := &awscloudwatch.MetricOptions{Period: minutes(5), Statistic: jsii.String("Sum")}

	dlqs := map[string]awssqs.Queue{"events-dlq": st.EventsDLQ}
	for _, q := range st.Catalog.Queues {
		dlqs[q.DLQName()] = st.Queues[q.DLQName()]
	}
	for _, name := range sortedKeys(dlqs) {
		st.alarm(pascal(name)+"Messages", "A message reached the "+name+" dead-letter queue.",
			dlqs[name].MetricApproximateNumberOfMessagesVisible(max1m), 0, 1)
	}
	for _, name := range sortedKeys(st.Functions) {
		fn := st.Functions[name]
		st.alarm(pascal(name)+"Errors", "Function "+name+" returned errors (unhandled error, timeout or crash).",
			fn.MetricErrors(sum5m), 0, 1)
		st.alarm(pascal(name)+"Throttles", "Function "+name+" was throttled (reserved or account concurrency).",
			fn.MetricThrottles(sum5m), 0, 1)
	}
	st.alarm("HttpApi5xx", "The HTTP API answered 5xx.", st.HTTPAPI.MetricServerError(sum5m), 5, 1)
	st.alarm("HttpApiLatencyP99", "HTTP API p99 latency above 3 s for 15 minutes.",
		st.HTTPAPI.MetricLatency(&awscloudwatch.MetricOptions{Period: minutes(5), Statistic: jsii.String("p99")}), 3000, 3)
	for _, m := range []string{"IntegrationError", "ExecutionError"} {
		st.alarm("WebSocket"+m, "The WebSocket API reported "+m+" (failed route integration).",
			st.WSStage.Metric(jsii.String(m), sum5m), 0, 1)
	}
}

// dashboard shows the API, the functions and the queues on one page.
func (st *Stack) dashboard() {
	d := awscloudwatch.NewDashboard(st.Stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName: jsii.String(st.Settings.Prefix()),
	})
	sum := &awscloudwatch.MetricOptions{Period: minutes(5), Statistic: jsii.String("Sum")}
	p99 := &awscloudwatch.MetricOptions{Period: minutes(5), Statistic: jsii.String("p99")}
	max := &awscloudwatch.MetricOptions{Period: minutes(5), Statistic: jsii.String("Maximum")}
	graph := func(title string, left ...awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String(title), Left: &left, Width: jsii.Number(8)})
	}
	d.AddWidgets(
		graph("HTTP API requests and errors", st.HTTPAPI.MetricCount(sum), st.HTTPAPI.MetricClientError(sum), st.HTTPAPI.MetricServerError(sum)),
		graph("HTTP API latency p99 (ms)", st.HTTPAPI.MetricLatency(p99), st.HTTPAPI.MetricIntegrationLatency(p99)),
		graph("WebSocket", st.WSStage.Metric(jsii.String("ConnectCount"), sum), st.WSStage.Metric(jsii.String("MessageCount"), sum),
			st.WSStage.Metric(jsii.String("IntegrationError"), sum), st.WSStage.Metric(jsii.String("ExecutionError"), sum)),
	)
	for _, name := range sortedKeys(st.Functions) {
		fn := st.Functions[name]
		d.AddWidgets(
			graph(name+" invocations, errors, throttles", fn.MetricInvocations(sum), fn.MetricErrors(sum), fn.MetricThrottles(sum)),
			graph(name+" duration p99 (ms)", fn.MetricDuration(p99)),
			graph(name+" concurrency", fn.Metric(jsii.String("ConcurrentExecutions"), max)),
		)
	}
	for _, q := range st.Catalog.Queues {
		queue, dlq := st.Queues[q.Name], st.Queues[q.DLQName()]
		d.AddWidgets(
			graph(q.Name+" queue depth", queue.MetricApproximateNumberOfMessagesVisible(max), queue.MetricApproximateNumberOfMessagesNotVisible(max)),
			graph(q.Name+" oldest message age (s)", queue.MetricApproximateAgeOfOldestMessage(max)),
			graph(q.Name+" DLQ depth", dlq.MetricApproximateNumberOfMessagesVisible(max)),
		)
	}
}

// backup adds an AWS Backup plan beside point-in-time recovery: PITR covers
// the last 35 days to the second; the plan keeps daily (and in prod weekly)
// recovery points in a vault encrypted with the data key.
func (st *Stack) backup() {
	vault := awsbackup.NewBackupVault(st.Stack, jsii.String("BackupVault"), &awsbackup.BackupVaultProps{
		EncryptionKey: st.DataKey,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	rules := []awsbackup.BackupPlanRule{
		awsbackup.NewBackupPlanRule(&awsbackup.BackupPlanRuleProps{
			RuleName:           jsii.String("Daily"),
			ScheduleExpression: awsevents.Schedule_Cron(&awsevents.CronOptions{Hour: jsii.String("4"), Minute: jsii.String("0")}),
			DeleteAfter:        awscdk.Duration_Days(jsii.Number(35)),
		}),
	}
	if st.Settings.Prod() {
		rules = append(rules, awsbackup.NewBackupPlanRule(&awsbackup.BackupPlanRuleProps{
			RuleName:           jsii.String("Weekly"),
			ScheduleExpression: awsevents.Schedule_Cron(&awsevents.CronOptions{WeekDay: jsii.String("SUN"), Hour: jsii.String("5"), Minute: jsii.String("0")}),
			DeleteAfter:        awscdk.Duration_Days(jsii.Number(365)),
		}))
	}
	plan := awsbackup.NewBackupPlan(st.Stack, jsii.String("BackupPlan"), &awsbackup.BackupPlanProps{
		BackupVault:     vault,
		BackupPlanRules: &rules,
	})
	plan.AddSelection(jsii.String("Table"), &awsbackup.BackupSelectionOptions{
		Resources: &[]awsbackup.BackupResource{awsbackup.BackupResource_FromDynamoDbTable(st.Table)},
	})
}
