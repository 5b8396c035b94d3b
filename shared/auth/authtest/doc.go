// Package authtest reads the permission matrix written out in
// docs/security.md, so tests check auth.Allowed (and every route's 403s)
// against the documented matrix instead of against auth.Allowed itself:
// if the code and the doc drift, the tests fail.
package authtest
