package api

import (
	"net/http"
	"strconv"

	"github.com/pulsehub/pulsehub/shared/audit"
	"github.com/pulsehub/pulsehub/shared/auth"
	"github.com/pulsehub/pulsehub/shared/httpapi"
)

// registerAudit mounts GET /v1/audit?month=yyyy-mm&cursor=&limit=.
func registerAudit(srv *httpapi.Server, log *audit.Log) {
	srv.Handle("GET /v1/audit", auth.AuditRead, func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		q := r.URL.Query()
		limit, _ := strconv.Atoi(q.Get("limit"))
		page, err := log.List(r.Context(), p.TenantID, q.Get("month"), q.Get("cursor"), int32(limit))
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"items": page.Items, "nextCursor": page.Next})
		return nil
	})
}
