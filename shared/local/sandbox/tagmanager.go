package sandbox

import (
	"net/http"
	"strings"
	"sync"

	"github.com/pulsehub/pulsehub/shared/gtm"
)

// TagManager emulates the Tag Manager API v2 read of a container's live
// version: GET /tagmanager/v2/accounts/{accountId}/containers/{containerId}/versions:live
// with a Bearer token, answering the ContainerVersion resource or Google's
// error object (401 without a token, 404 when nothing is published).
// Registered as "gtm" so PROVIDER_URL_GTM points at it.
type TagManager struct {
	mu   sync.Mutex
	live map[string]gtm.ContainerVersion // "account/container" → live version
}

// NewTagManager returns an emulator with no published containers.
func NewTagManager() *TagManager { return &TagManager{live: map[string]gtm.ContainerVersion{}} }

// Name implements Provider.
func (t *TagManager) Name() string { return "gtm" }

// Publish makes v the live version of its account and container.
func (t *TagManager) Publish(v gtm.ContainerVersion) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if v.Path == "" {
		v.Path = "accounts/" + v.AccountID + "/containers/" + v.ContainerID + "/versions/" + v.ContainerVersionID
	}
	t.live[v.AccountID+"/"+v.ContainerID] = v
}

// PublishPulseHubTag publishes a version holding the PulseHub Collect
// template and one tag built from it, as a merchant following docs/gtm.md would.
func (t *TagManager) PublishPulseHubTag(accountID, containerID, writeKey, endpoint string) {
	t.Publish(gtm.ContainerVersion{
		AccountID: accountID, ContainerID: containerID, ContainerVersionID: "1", Name: "PulseHub",
		CustomTemplate: []gtm.CustomTemplate{{TemplateID: "7", Name: "PulseHub Collect", TemplateData: string(gtm.Template)}},
		Tag: []gtm.Tag{{TagID: "3", Name: "PulseHub - all events", Type: "cvt_" + containerID + "_7", FiringTriggerID: []string{"2147479553"},
			Parameter: []gtm.Parameter{{Type: "template", Key: "endpoint", Value: endpoint}, {Type: "template", Key: "writeKey", Value: writeKey}}}},
	})
}

// Handler implements Provider.
func (t *TagManager) Handler(env Env) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /tagmanager/v2/accounts/{account}/containers/{rest...}", t.serveLive)
	return mux
}

func googleError(w http.ResponseWriter, status int, reason, msg string) {
	shopJSON(w, status, map[string]any{"error": map[string]any{"code": status, "message": msg, "status": reason,
		"errors": []map[string]any{{"message": msg, "domain": "global", "reason": strings.ToLower(reason)}}}})
}

func (t *TagManager) serveLive(w http.ResponseWriter, r *http.Request) {
	container, ok := strings.CutSuffix(r.PathValue("rest"), "/versions:live")
	if !ok || strings.Contains(container, "/") {
		googleError(w, http.StatusNotFound, "NOT_FOUND", "the sandbox serves only .../versions:live")
		return
	}
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "Bearer ") || strings.TrimSpace(auth[len("Bearer "):]) == "" {
		googleError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "Request is missing required authentication credential.")
		return
	}
	t.mu.Lock()
	v, found := t.live[r.PathValue("account")+"/"+container]
	t.mu.Unlock()
	if !found {
		googleError(w, http.StatusNotFound, "NOT_FOUND", "Not found or permission denied.")
		return
	}
	shopJSON(w, http.StatusOK, v)
}
