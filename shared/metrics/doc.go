// Package metrics records business metrics in CloudWatch Embedded Metric
// Format: a function counts and times things while it handles an
// invocation, then Flush writes one JSON line per dimension set to stdout,
// where CloudWatch Logs turns it into metrics without an API call. A Sink
// lets the local runtime mirror the same numbers into Prometheus.
package metrics
