package api

import (
	"context"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/audit"
	"github.com/pulsehub/pulsehub/shared/auth"
	"github.com/pulsehub/pulsehub/shared/httpapi"
	"github.com/pulsehub/pulsehub/shared/integration"
)

// notifier hears about saved settings (publishing integration.connected,
// so sync starts a backfill). May be nil.
type notifier func(ctx context.Context, tenant, name string) error

// registerIntegrations mounts GET /v1/integrations and
// GET|PUT /v1/integrations/{name}.
func registerIntegrations(srv *httpapi.Server, s *integration.Store, log *audit.Log, notify notifier) {
	srv.Handle("GET /v1/integrations", auth.IntegrationsRead, func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		items := make([]integration.View, 0, len(integration.Names()))
		for _, name := range integration.Names() {
			v, err := s.View(r.Context(), p.TenantID, name)
			if err != nil {
				return err
			}
			items = append(items, v)
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"items": items})
		return nil
	})
	srv.Handle("GET /v1/integrations/{name}", auth.IntegrationsRead, func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		v, err := s.View(r.Context(), p.TenantID, r.PathValue("name"))
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, v)
		return nil
	})
	srv.Handle("PUT /v1/integrations/{name}", auth.IntegrationsWrite, func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		name := r.PathValue("name")
		if !slices.Contains(integration.Names(), name) {
			return apperr.E(apperr.NotFound, "unknown integration %q; one of %s", name, strings.Join(integration.Names(), ", "))
		}
		var body map[string]string
		if err := httpapi.DecodeJSON(r, &body); err != nil {
			return err
		}
		config, secrets := map[string]string{}, map[string]string{}
		for k, v := range body {
			if integration.IsSecret(name, k) {
				secrets[k] = v
			} else if v != "" {
				config[k] = strings.TrimSpace(v)
			}
		}
		if err := s.Put(r.Context(), p.TenantID, name, config, secrets); err != nil {
			return err
		}
		changed := make([]string, 0, len(body))
		for k := range body {
			changed = append(changed, k)
		}
		sort.Strings(changed)
		if err := log.Record(r.Context(), p.TenantID, audit.Entry{Action: audit.IntegrationUpdated, ActorID: p.UserID, Target: name, IP: httpapi.ClientIP(r),
			Detail: map[string]string{"keys": strings.Join(changed, ",")}}); err != nil {
			return err
		}
		if notify != nil {
			if err := notify(r.Context(), p.TenantID, name); err != nil {
				return err
			}
		}
		v, err := s.View(r.Context(), p.TenantID, name)
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, v)
		return nil
	})
}
