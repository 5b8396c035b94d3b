// Package gateway emulates the two API Gateway APIs PulseHub deploys, for the
// local runtime and end-to-end tests:
//
//   - an HTTP API (payload format 2.0): catalog routes matched the way HTTP
//     APIs match them (exact path, then {param}, then greedy {proxy+}; a
//     declared method beats ANY), requests turned into
//     events.APIGatewayV2HTTPRequest, responses converted back with the
//     "simple response" rules, the 10 MB payload limit and the 29 s
//     integration timeout;
//   - a WebSocket API at /ws: $connect runs before the upgrade and can refuse
//     it, messages are routed on $request.body.action (falling back to
//     $default), $disconnect runs once when either side closes, and the
//     quotas (128 KB messages, 10 min idle, 2 h per connection) close the
//     connection as AWS does;
//   - the @connections management API at /ws/@connections/{connectionId}, on
//     the wire exactly as the apigatewaymanagementapi SDK client expects it,
//     so Lambda code posts to connections with the real client and only a
//     base endpoint override (WS_ENDPOINT=http://HOST/ws).
//
// The gateway never runs a handler itself: it hands the raw JSON event to an
// Invoker, which the local runtime implements with lambda.NewHandler(h).Invoke,
// the production decode path.
package gateway
