// Package apitest holds the tests' checks that the code keeps to its
// published contract in docs/api: every HTTP exchange a test makes is
// validated against docs/api/openapi.yaml (kin-openapi's openapi3filter:
// the operation exists, the request and the response match its schemas),
// and every WebSocket frame against docs/api/websocket.schema.json.
//
// Use OpenAPI(t).Transport around a test's http.Client (end-to-end tests)
// or OpenAPI(t).Check on one exchange (shared/api's harness), and
// Frames(t) for WebSocket frames. A mismatch fails the test with the
// operation, the status and what the document says, so a route or field
// added to the code without the document (or the reverse) cannot pass.
package apitest
