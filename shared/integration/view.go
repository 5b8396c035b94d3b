package integration

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

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

// View is the settings of integration name as the API shows them
// (unconfigured ones too); an unknown name is apperr.NotFound.
func (s *Store) View(ctx context.Context, tenant, name string) (View, error) {
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
