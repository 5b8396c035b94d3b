// Package batch is the one way PulseHub consumes SQS batches: each record is
// processed on its own, a panic is contained to its record, retryable
// failures are reported as BatchItemFailures (so SQS redelivers only those),
// and poison records (invalid input, panics) go straight to the dead-letter
// queue with a reason instead of burning through their receive count.
package batch
