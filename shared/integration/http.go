package integration

import (
	"context"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/audit"
	"github.com/pulsehub/pulsehub/shared/auth"
	"github.com/pulsehub/pulsehub/shared/httpapi"
)

// Auditor records integration changes.
type Auditor interface {
	Record(ctx context.Context, tenant string, e audit.Entry) error
}

// Notifier hears about saved settings (e.g. to publish
// integration.connected so sync starts a backfill). May be nil.
type Notifier func(ctx context.Context, tenant, name string) error

// View is what GET /v1/integrations/{name} shows.
type View struct {
	Name       string                `json:"name"`
	Configured bool                  `json:"configured"`
	Config     map[string]string     `json:"config"`
	Secrets    map[string]SecretView `json:"secrets"`
	UpdatedAt  *time.Time            `json:"updatedAt,omitempty"`
}

// SecretView says whether a secret is set; Last4 only for secrets of 12 or
// more characters, so a short secret is never half revealed.
type SecretView struct {
	Set   bool   `json:"set"`
	Last4 string `json:"last4,omitempty"`
}

// ViewOf renders settings without secret values.
func ViewOf(name string, s Settings, configured bool) View {
	sc, _ := schemaOf(name)
	v := View{Name: name, Configured: configured, Config: map[string]string{}, Secrets: map[string]SecretView{}}
	for k, val := range s.Config {
		v.Config[k] = val
	}
	for _, k := range sc.secrets {
		val := s.Secrets[k]
		sv := SecretView{Set: val != ""}
		if len(val) >= 12 {
			sv.Last4 = val[len(val)-4:]
		}
		v.Secrets[k] = sv
	}
	if configured {
		at := s.UpdatedAt
		v.UpdatedAt = &at
	}
	return v
}

// Register mounts GET|PUT /v1/integrations/{name}.
func Register(srv *httpapi.Server, s *Store, log Auditor, notify Notifier) {
	srv.Handle("GET /v1/integrations", auth.IntegrationsRead, func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		items := make([]View, 0, len(Names()))
		for _, name := range Names() {
			v, err := s.view(r.Context(), p.TenantID, name)
			if err != nil {
				return err
			}
			items = append(items, v)
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"items": items})
		return nil
	})
	srv.Handle("GET /v1/integrations/{name}", auth.IntegrationsRead, func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		v, err := s.view(r.Context(), p.TenantID, r.PathValue("name"))
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, v)
		return nil
	})
	srv.Handle("PUT /v1/integrations/{name}", auth.IntegrationsWrite, func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		name := r.PathValue("name")
		if _, ok := schemaOf(name); !ok {
			return apperr.E(apperr.NotFound, "unknown integration %q; one of %s", name, strings.Join(Names(), ", "))
		}
		var body map[string]string
		if err := httpapi.DecodeJSON(r, &body); err != nil {
			return err
		}
		config, secrets := map[string]string{}, map[string]string{}
		for k, v := range body {
			if IsSecret(name, k) {
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
		v, err := s.view(r.Context(), p.TenantID, name)
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, v)
		return nil
	})
}

func (s *Store) view(ctx context.Context, tenant, name string) (View, error) {
	if !slices.Contains(Names(), name) {
		return View{}, apperr.E(apperr.NotFound, "unknown integration %q; one of %s", name, strings.Join(Names(), ", "))
	}
	st, err := s.Get(ctx, tenant, name)
	switch {
	case apperr.KindOf(err) == apperr.NotFound:
		return ViewOf(name, Settings{}, false), nil
	case err != nil:
		return View{}, err
	}
	return ViewOf(name, st, true), nil
}
