package api

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/pulsehub/pulsehub/shared/auth"
	"github.com/pulsehub/pulsehub/shared/copilot"
	"github.com/pulsehub/pulsehub/shared/httpapi"
)

// Suggester writes checked campaign copy (copilot.Copilot).
type Suggester interface {
	Suggest(ctx context.Context, c copilot.Caller, req copilot.SuggestRequest) (copilot.Suggestions, error)
}

// registerContent mounts POST /v1/content/suggest: copy from the model,
// or from templates without one, each item with its checks
// (docs/copilot.md#content-suggestions).
func registerContent(srv *httpapi.Server, s Suggester) {
	srv.Handle("POST /v1/content/suggest", auth.CampaignsWrite, func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		var in copilot.SuggestRequest
		if err := httpapi.DecodeJSON(r, &in); err != nil {
			return err
		}
		out, err := s.Suggest(r.Context(), copilot.Caller{TenantID: p.TenantID, UserID: p.UserID, Role: p.Role}, in)
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, out)
		return nil
	})
}

// lazyCopilot builds the copilot on the first suggestion: reading the
// model key (a Secrets Manager call in AWS) is not worth slowing the cold
// start of every api instance, most of which never suggest anything.
type lazyCopilot struct {
	build func(ctx context.Context) (*copilot.Copilot, error)
	mu    sync.Mutex
	c     *copilot.Copilot
}

func (l *lazyCopilot) Suggest(ctx context.Context, c copilot.Caller, req copilot.SuggestRequest) (copilot.Suggestions, error) {
	l.mu.Lock()
	if l.c == nil {
		cp, err := l.build(ctx)
		if err != nil {
			l.mu.Unlock()
			return copilot.Suggestions{}, fmt.Errorf("api: content: %w", err)
		}
		l.c = cp
	}
	cp := l.c
	l.mu.Unlock()
	return cp.Suggest(ctx, c, req)
}
