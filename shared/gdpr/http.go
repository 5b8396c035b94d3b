package gdpr

import (
	"net/http"

	"github.com/pulsehub/pulsehub/shared/auth"
	"github.com/pulsehub/pulsehub/shared/httpapi"
)

// Register mounts GET /v1/customers/{id}/export and DELETE /v1/customers/{id}.
func Register(srv *httpapi.Server, s *Service) {
	srv.Handle("GET /v1/customers/{id}/export", auth.CustomersExport, func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		out, err := s.Export(r.Context(), p.TenantID, r.PathValue("id"), p.UserID, httpapi.ClientIP(r))
		if err != nil {
			return err
		}
		w.Header().Set("Content-Disposition", `attachment; filename="customer-`+r.PathValue("id")+`.json"`)
		httpapi.WriteJSON(w, http.StatusOK, out)
		return nil
	})
	srv.Handle("DELETE /v1/customers/{id}", auth.CustomersErase, func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		out, err := s.Erase(r.Context(), p.TenantID, r.PathValue("id"), p.UserID, httpapi.ClientIP(r))
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, out)
		return nil
	})
}
