package api

import (
	"net/http"

	"github.com/pulsehub/pulsehub/shared/auth"
	"github.com/pulsehub/pulsehub/shared/httpapi"
)

// registerIdentity mounts the auth and user routes.
func registerIdentity(srv *httpapi.Server, a *auth.Service) {
	srv.HandlePublic("POST /v1/auth/signup", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Workspace, Email, Password string }
		if err := httpapi.DecodeJSON(r, &in); err != nil {
			httpapi.WriteProblem(w, r, err)
			return
		}
		pair, err := a.Signup(r.Context(), in.Workspace, in.Email, in.Password, httpapi.ClientIP(r))
		if err != nil {
			httpapi.WriteProblem(w, r, err)
			return
		}
		httpapi.WriteJSON(w, http.StatusCreated, pair)
	})
	srv.HandlePublic("POST /v1/auth/login", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Email, Password, Workspace string }
		if err := httpapi.DecodeJSON(r, &in); err != nil {
			httpapi.WriteProblem(w, r, err)
			return
		}
		pair, err := a.Login(r.Context(), in.Email, in.Password, in.Workspace, httpapi.ClientIP(r))
		if err != nil {
			httpapi.WriteProblem(w, r, err)
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, pair)
	})
	srv.HandlePublic("POST /v1/auth/refresh", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ RefreshToken string }
		if err := httpapi.DecodeJSON(r, &in); err != nil {
			httpapi.WriteProblem(w, r, err)
			return
		}
		pair, err := a.Refresh(r.Context(), in.RefreshToken, httpapi.ClientIP(r))
		if err != nil {
			httpapi.WriteProblem(w, r, err)
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, pair)
	})
	srv.HandlePublic("POST /v1/auth/logout", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ RefreshToken string }
		if err := httpapi.DecodeJSON(r, &in); err != nil {
			httpapi.WriteProblem(w, r, err)
			return
		}
		if err := a.Logout(r.Context(), in.RefreshToken, httpapi.ClientIP(r)); err != nil {
			httpapi.WriteProblem(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	srv.Handle("GET /v1/me", auth.Authenticated, func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		u, err := a.Me(r.Context(), p)
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, u)
		return nil
	})
	srv.Handle("GET /v1/users", auth.UsersRead, func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		users, err := a.Users(r.Context(), p.TenantID)
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"items": users})
		return nil
	})
	srv.Handle("POST /v1/users", auth.UsersManage, func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		var in struct{ Email, Role string }
		if err := httpapi.DecodeJSON(r, &in); err != nil {
			return err
		}
		role, err := auth.ParseRole(in.Role)
		if err != nil {
			return err
		}
		inv, err := a.Invite(r.Context(), p, in.Email, role, httpapi.ClientIP(r))
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusCreated, inv)
		return nil
	})
	srv.Handle("PATCH /v1/users/{id}", auth.UsersManage, func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		var in struct{ Role string }
		if err := httpapi.DecodeJSON(r, &in); err != nil {
			return err
		}
		role, err := auth.ParseRole(in.Role)
		if err != nil {
			return err
		}
		u, err := a.ChangeRole(r.Context(), p, r.PathValue("id"), role, httpapi.ClientIP(r))
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, u)
		return nil
	})
}
