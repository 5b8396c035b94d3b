// Package wsapi holds what every function that talks to WebSocket clients
// needs: the connection records (who is connected, for which tenant) in the
// single table, and a Client that posts to a connection through the API
// Gateway management API with the real apigatewaymanagementapi client.
//
// Connection items: PK "CONN#<connectionId>", SK "CONN"; GSI1
// "T#<tenantId>#CONNS" / "<connectionId>" lists a tenant's connections (only
// for authenticated connections; the index is sparse); "ttl" removes records
// two hours after connecting, API Gateway's maximum connection duration, so
// a missed $disconnect never leaves a record behind for long.
package wsapi
