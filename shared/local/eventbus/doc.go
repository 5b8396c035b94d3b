// Package eventbus emulates the part of Amazon EventBridge that PulseHub
// uses, for the local runtime: the PutEvents API (AWS JSON 1.1, what the
// aws-sdk-go-v2 eventbridge client sends), routing of domain events to the
// functions whose catalog rules match their detail-type, Lambda's
// asynchronous invocation retries, and the catalog's schedules
// (rate(...) and cron(...) expressions, evaluated in UTC like AWS).
package eventbus
