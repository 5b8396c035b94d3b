// Package idem makes side effects happen once per business identity
// (a provider event id, campaign#customer#channel for a send, an
// EventBridge event id) across retries, redeliveries and concurrent
// duplicates, using conditional writes on the single table:
//
//	PK IDEM#<scope>#<key>  SK IDEM  status INPROGRESS|COMPLETED  ttl
//
// Do runs a function once and hands its stored result to every duplicate;
// Seen is a cheap mark-once for webhook dedupe. Never an in-process map,
// never the SQS MessageId alone: those do not survive a second instance.
package idem
