// Package realtime is the WebSocket side of PulseHub: the $connect,
// $disconnect and message handlers behind the ws-connect, ws-disconnect and
// ws-message functions.
//
// $connect checks the access token (through a TokenVerifier) and stores the
// connection with its tenant and user; $disconnect deletes it; messages are
// JSON objects {"action", "requestId"?, ...} dispatched from one table of
// actions, and every reply goes back through the API Gateway management API
// (wsapi.Client), never as the function's return value. Replies carry
// "type" and echo "requestId" when the client sent one; a bad message gets
// {"type":"error","error"} and the connection stays open.
package realtime
