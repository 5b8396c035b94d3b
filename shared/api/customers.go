package api

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/audit"
	"github.com/pulsehub/pulsehub/shared/auth"
	"github.com/pulsehub/pulsehub/shared/httpapi"
	"github.com/pulsehub/pulsehub/shared/profile"
)

// registerCustomers mounts the customer routes:
//
//	GET /v1/customers?segment=&q=&cursor=&limit=  → {items:[Customer…], nextCursor}
//	GET /v1/customers/{id}                        → Customer + {timeline:[…], consent:[{channel,state,updatedAt,source}…]}
//	POST /v1/customers/{id}/merges/{mergedId}/undo → {customerId, restoredId}
//
// q is an exact email or E.164 phone (blind-index lookup); names are
// sealed and cannot be searched.
func registerCustomers(srv *httpapi.Server, s *profile.Store, l *profile.Lister, log *audit.Log) {
	srv.Handle("GET /v1/customers", auth.CustomersRead, func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		q := r.URL.Query()
		limit := 50
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 100 {
				return &apperr.Error{Kind: apperr.Invalid, Field: "limit", Message: "limit must be an integer from 1 to 100"}
			}
			limit = n
		}
		items, next, err := l.List(r.Context(), p.TenantID, profile.ListQuery{Segment: q.Get("segment"), Q: q.Get("q"), Cursor: q.Get("cursor"), Limit: limit})
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"items": items, "nextCursor": next})
		return nil
	})
	srv.Handle("GET /v1/customers/{id}", auth.CustomersRead, func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		pr, err := s.Profile(r.Context(), p.TenantID, r.PathValue("id"))
		if err != nil {
			if apperr.KindOf(err) == apperr.NotFound {
				return apperr.E(apperr.NotFound, "no customer with this id in this workspace")
			}
			return err
		}
		c, err := s.View(r.Context(), p.TenantID, pr)
		if err != nil {
			return err
		}
		tl, err := s.Timeline(r.Context(), p.TenantID, pr.ID, 200)
		if err != nil {
			return err
		}
		consent, err := s.ConsentByChannel(r.Context(), p.TenantID, pr.ID)
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, struct {
			profile.Customer
			Timeline []profile.TimelineEntry  `json:"timeline"`
			Consent  []profile.ChannelConsent `json:"consent"`
		}{c, tl, consent})
		return nil
	})
	// Undo an identity merge a marketer finds wrong (two people behind one
	// email, say): the merged profile comes back with what it brought.
	srv.Handle("POST /v1/customers/{id}/merges/{mergedId}/undo", auth.CustomersWrite, func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		ctx := r.Context()
		pr, err := s.Profile(ctx, p.TenantID, r.PathValue("id"))
		if err != nil {
			if apperr.KindOf(err) == apperr.NotFound {
				return apperr.E(apperr.NotFound, "no customer with this id in this workspace")
			}
			return err
		}
		merges, err := s.Merges(ctx, p.TenantID, pr.ID)
		if err != nil {
			return err
		}
		merged := r.PathValue("mergedId")
		i := slices.IndexFunc(merges, func(m profile.MergeRecord) bool { return m.MergedID == merged })
		if i < 0 {
			return apperr.E(apperr.NotFound, "customer %s has no merge of %s", pr.ID, merged)
		}
		// Idempotent: undoing an undone merge answers the same, so a client
		// may retry. The audit entry goes first: if it cannot be written
		// nothing changes, and a retry writes it (at worst twice).
		if !merges[i].Undone {
			if err := log.Record(ctx, p.TenantID, audit.Entry{Action: audit.CustomerUnmerged, ActorID: p.UserID, Target: pr.ID,
				IP: httpapi.ClientIP(r), Detail: map[string]string{"restoredId": merged}}); err != nil {
				return err
			}
			if err := s.Unmerge(ctx, p.TenantID, pr.ID, merges[i].SK); err != nil {
				return err
			}
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]string{"customerId": pr.ID, "restoredId": merged})
		return nil
	})
}
