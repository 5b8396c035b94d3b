// Package queue sends messages to SQS: one message, batches (chunked to
// SQS's 10 entries and 256 KiB, with failed entries retried), and poison
// messages to a dead-letter queue with the reason they failed. Queue URLs
// come from the configuration (catalog.Queue.EnvKey / DLQEnvKey).
package queue
