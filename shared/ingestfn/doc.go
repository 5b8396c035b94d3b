// Package ingestfn is the ingest function's wiring (catalog "ingest"): it
// builds package ingest's Processor from the function's dependencies and
// serves its two triggers, SQS batches from the ingest queue (partial batch
// failures, poison messages dead-lettered with the reason) and the
// EventBridge schedule of the abandoned-checkout sweep.
package ingestfn
