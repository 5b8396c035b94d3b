// Package bus publishes PulseHub's domain events to EventBridge. Every event
// carries its tenant and a business id in its detail, so consumers can scope
// it and deduplicate redeliveries (shared/idem) on that id; publishing is
// chunked to EventBridge's request limits and failed entries are retried
// once more before being reported by name.
package bus
