// Package stack builds PulseHub's AWS stack from the catalog
// (shared/catalog): one Lambda function per deployable catalog function with
// its trigger, limits, environment and least-privilege role, and the shared
// resources around them (table, queues, bus, keys, secrets, APIs, alarms,
// dashboard, backups). Nothing here restates what the catalog declares; a
// function added to the catalog appears in the stack on the next synth.
//
// cdk-nag (AwsSolutions) runs as an aspect over the app; every suppression
// carries its reason next to the construct it applies to (see nag.go).
package stack
