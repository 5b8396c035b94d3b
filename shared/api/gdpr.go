package api

import (
	"net/http"

	"github.com/pulsehub/pulsehub/shared/auth"
	"github.com/pulsehub/pulsehub/shared/gdpr"
	"github.com/pulsehub/pulsehub/shared/httpapi"
	"github.com/pulsehub/pulsehub/shared/profile"
)

// registerGDPR mounts GET /v1/customers/{id}/export and
// DELETE /v1/customers/{id}.
func registerGDPR(srv *httpapi.Server, s *gdpr.Service) {
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

// registerComplianceRequests mounts the record of the shop's privacy
// requests (Shopify's compliance webhooks, kept by package profile):
//
//	GET /v1/compliance-requests       → {items:[ComplianceRequest…]}
//	GET /v1/compliance-requests/{id}  → ComplianceRequest + {export}
func registerComplianceRequests(srv *httpapi.Server, s *profile.Store) {
	srv.Handle("GET /v1/compliance-requests", auth.CustomersExport, func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		items, err := s.ComplianceRequests(r.Context(), p.TenantID)
		if err != nil {
			return err
		}
		if items == nil {
			items = []profile.ComplianceRequest{}
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"items": items})
		return nil
	})
	srv.Handle("GET /v1/compliance-requests/{id}", auth.CustomersExport, func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		c, err := s.ComplianceRequest(r.Context(), p.TenantID, r.PathValue("id"))
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, c)
		return nil
	})
}
