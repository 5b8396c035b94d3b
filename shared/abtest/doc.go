// Package abtest is the statistics of A/B tests on campaigns, pure Go:
//
//   - Plan.Assign: deterministic assignment of a customer to an arm by
//     hashing (campaign, customer), with weights and an optional holdout
//     group that receives nothing;
//   - SampleSize: customers per arm to detect a difference between two
//     conversion rates with a given significance and power;
//   - ZTest: the two-proportion z-test with confidence intervals of the
//     difference and of the relative lift;
//   - ProbabilityBest: the Bayesian probability that each arm has the
//     highest conversion rate (exact for two arms, Monte Carlo otherwise);
//   - Monitor: the guard against peeking, either a fixed horizon (read the
//     test once, when every arm reached its planned size) or the mixture
//     sequential probability ratio test (mSPRT), whose always-valid
//     p-value may be watched continuously.
//
// docs/predictions.md documents the rules and how each is checked.
package abtest
