// Package ratelimit is a token bucket kept in DynamoDB, so limits hold
// across Lambda instances. It implements GCRA (the generic cell rate
// algorithm, equivalent to a token bucket) with one number per bucket — the
// theoretical arrival time, in microseconds — updated by conditional writes
// without a read. Buckets are items "RL#<scope>#<key>" / "RL" expiring when
// idle.
//
// Each instance (Limiter) leases tokens from the shared bucket in batches
// with one conditional write and spends them locally, so most calls touch
// no table. Every token spent was first taken from the shared bucket, so
// the total over time never exceeds the rule; what leasing loosens is
// timing: an instance may spend up to Rule.MaxLease tokens it leased up to
// LeaseLifetime earlier, so a short window can see at most MaxLease ×
// instances more than the bucket alone would grant. Once the shared bucket
// is empty the instance knows exactly when the next token comes and refuses
// without a write until then.
package ratelimit
