// Package ratelimit is a token bucket kept in DynamoDB, so limits hold
// across Lambda instances. It implements GCRA (the generic cell rate
// algorithm, equivalent to a token bucket) with one number per bucket — the
// theoretical arrival time, in microseconds — updated by conditional writes without a read:
// an idle bucket costs one UpdateItem per call, a busy one two.
// Buckets are items "RL#<scope>#<key>" / "RL" expiring when idle.
package ratelimit
