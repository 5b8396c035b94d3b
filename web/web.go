// Package web holds the PulseHub web console: static files served at "/" by
// the local runtime (and by any static host in production, e.g. S3 +
// CloudFront). It talks to the platform only through the public HTTP API
// and WebSocket described in docs/api, like any other client.
package web

import (
	"embed"
	"io/fs"
)

//go:embed static
var static embed.FS

// Files returns the console's files rooted at its index.html.
func Files() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded directory is fixed at build time
	}
	return sub
}
