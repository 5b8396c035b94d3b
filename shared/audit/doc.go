// Package audit records security-relevant actions per tenant — logins,
// failed logins, refresh-token reuse, invitations and role changes, exports,
// erasures, integration changes — in month partitions
// (PK "T#<tenant>#AUDIT#<yyyy-mm>", SK "<RFC3339Nano>#<id>"), newest first
// on read. Entries hold ids, never personal data such as emails. The HTTP
// route (GET /v1/audit) is mounted by shared/api.
package audit
