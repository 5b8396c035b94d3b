package local

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/pulsehub/pulsehub/shared/local/sandbox"
)

// eventsPath is where the EventBridge emulator listens (AWS_ENDPOINT_URL_EVENTBRIDGE).
const eventsPath = "/_aws/events"

func (r *Runtime) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if !r.ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(map[string]string{"status": "starting"})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "ok"})
	})
	mux.Handle("GET /metrics", r.metrics.handler())
	mux.Handle("/dev/outbox", r.sandbox.Outbox)
	mux.Handle("/dev/sandbox", r.messages)
	mux.Handle("/dev/sandbox/", r.messages)
	mux.Handle("/sandbox/", r.sandbox)
	mux.Handle(eventsPath+"/", http.StripPrefix(eventsPath, r.bus))
	mux.Handle(eventsPath, http.StripPrefix(eventsPath, r.bus))
	mux.Handle("/", r.fallback())
	return mux
}

// fallback serves the console's files and hands everything else to the gateway.
func (r *Runtime) fallback() http.Handler {
	var files http.Handler
	if r.opts.Console != nil {
		files = http.FileServerFS(r.opts.Console)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodGet || req.Method == http.MethodHead {
			if req.URL.Path == "/" {
				if files == nil {
					w.Header().Set("Content-Type", "text/html; charset=utf-8")
					_, _ = w.Write([]byte(builtinPage))
					return
				}
				files.ServeHTTP(w, req)
				return
			}
			if files != nil && r.isConsoleFile(req.URL.Path) {
				files.ServeHTTP(w, req)
				return
			}
		}
		g := r.gw.Load()
		if g == nil {
			w.Header().Set("Retry-After", "1")
			sandbox.Problem(w, http.StatusServiceUnavailable, "the local runtime is starting; watch GET /healthz")
			return
		}
		g.ServeHTTP(w, req)
	})
}

func (r *Runtime) isConsoleFile(p string) bool {
	name := strings.TrimPrefix(path.Clean(p), "/")
	if name == "" || strings.HasPrefix(name, "v1/") || strings.HasPrefix(name, "ws") || strings.HasPrefix(name, "webhooks/") {
		return false
	}
	st, err := fs.Stat(r.opts.Console, name)
	return err == nil && !st.IsDir()
}

const builtinPage = `<!doctype html>
<meta charset="utf-8"><title>PulseHub (local)</title>
<h1>PulseHub local runtime</h1>
<p>The web console is not built into this binary. The API is at <code>/v1/</code>, the WebSocket at <code>/ws</code>.</p>
<ul>
<li><a href="/healthz">/healthz</a></li>
<li><a href="/metrics">/metrics</a></li>
<li><a href="/dev/outbox">/dev/outbox</a> — messages the provider sandbox received</li>
</ul>
<p>See docs/local-runtime.md.</p>
`
