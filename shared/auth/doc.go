// Package auth is PulseHub's identity: workspaces (tenants), users and
// roles with one permission matrix, argon2id passwords, EdDSA-signed access
// tokens (JWT) with rotatable keys, opaque refresh tokens rotated on every
// use with reuse detection, and login throttling that runs before any
// password is hashed. Its HTTP routes are mounted by shared/api; shared/httpapi
// enforces the matrix for every route in one place.
package auth
