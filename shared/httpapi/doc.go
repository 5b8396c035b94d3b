// Package httpapi holds the HTTP mechanics every API route shares: routing
// with net/http ServeMux patterns, request ids, the body size limit, strict
// JSON decoding, problem+json errors, authentication, per-tenant/per-token
// rate limiting and role checks. Permissions are checked here, in one place:
// a route declares the permission it needs when it is registered and its
// handler never sees a caller who lacks it.
package httpapi
