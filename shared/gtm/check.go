package gtm

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

// Checker asks the Tag Manager API v2 whether a container's live (published)
// version holds the PulseHub Collect tag.
type Checker struct {
	http *http.Client
	base string
}

// NewChecker returns a checker; base overrides
// https://tagmanager.googleapis.com (the sandbox, tests).
func NewChecker(hc *http.Client, base string) *Checker {
	if hc == nil {
		hc = &http.Client{Timeout: 20 * time.Second}
	}
	if base == "" {
		base = "https://tagmanager.googleapis.com"
	}
	return &Checker{http: hc, base: strings.TrimRight(base, "/")}
}

// ContainerVersion is the subset of the API's ContainerVersion resource read here.
type ContainerVersion struct {
	Path               string           `json:"path"`
	AccountID          string           `json:"accountId"`
	ContainerID        string           `json:"containerId"`
	ContainerVersionID string           `json:"containerVersionId"`
	Name               string           `json:"name,omitempty"`
	Tag                []Tag            `json:"tag,omitempty"`
	CustomTemplate     []CustomTemplate `json:"customTemplate,omitempty"`
}

// Tag is a tag of a container version.
type Tag struct {
	TagID     string      `json:"tagId"`
	Name      string      `json:"name"`
	Type      string      `json:"type"`
	Paused    bool        `json:"paused,omitempty"`
	Parameter []Parameter `json:"parameter,omitempty"`
	// FiringTriggerID lists the triggers that fire the tag.
	FiringTriggerID []string `json:"firingTriggerId,omitempty"`
}

// Parameter is a tag parameter ("template" type for text fields).
type Parameter struct {
	Type  string `json:"type"`
	Key   string `json:"key"`
	Value string `json:"value,omitempty"`
}

// CustomTemplate is a custom template of a container version.
type CustomTemplate struct {
	TemplateID   string `json:"templateId"`
	Name         string `json:"name"`
	TemplateData string `json:"templateData"`
}

// Status is the outcome of a check.
type Status struct {
	Published bool   `json:"published"`
	VersionID string `json:"versionId,omitempty"`
	TagName   string `json:"tagName,omitempty"`
	// Reason says what is missing when Published is false.
	Reason string `json:"reason,omitempty"`
}

// Check reads the live version of accounts/{accountID}/containers/{containerID}
// with an OAuth access token (scope tagmanager.readonly) and reports whether
// an unpaused tag built from the PulseHub template, with at least one firing
// trigger, is published. A non-empty writeKey must also match the tag's.
func (c *Checker) Check(ctx context.Context, token, accountID, containerID, writeKey string) (Status, error) {
	if accountID == "" || containerID == "" {
		return Status{}, apperr.E(apperr.Invalid, "gtm: accountId and containerId (numeric ids from the container's URL in Tag Manager) are required")
	}
	if token == "" {
		return Status{}, apperr.E(apperr.Unauthorized, "gtm: no Tag Manager API token; set the GTM integration's apiToken secret")
	}
	u := c.base + "/tagmanager/v2/accounts/" + url.PathEscape(accountID) + "/containers/" + url.PathEscape(containerID) + "/versions:live"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return Status{}, fmt.Errorf("gtm: request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.http.Do(req)
	if err != nil {
		return Status{}, apperr.Wrap(apperr.Transient, err, "gtm: get live version")
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return Status{Reason: "the container has no published version"}, nil
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return Status{}, apperr.E(apperr.Unauthorized, "gtm: Tag Manager API refused the token (%d): %s", resp.StatusCode, strings.TrimSpace(string(raw)))
	case resp.StatusCode == http.StatusTooManyRequests:
		return Status{}, apperr.E(apperr.RateLimited, "gtm: Tag Manager API rate limit")
	case resp.StatusCode >= 500:
		return Status{}, apperr.E(apperr.Transient, "gtm: Tag Manager API error %d", resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return Status{}, apperr.E(apperr.Invalid, "gtm: Tag Manager API answered %d: %s", resp.StatusCode, strings.TrimSpace(string(raw)))
	}
	var v ContainerVersion
	if err := json.Unmarshal(raw, &v); err != nil {
		return Status{}, fmt.Errorf("gtm: decode live version: %w", err)
	}
	return Evaluate(v, writeKey), nil
}

// Evaluate looks for the PulseHub tag in a container version.
func Evaluate(v ContainerVersion, writeKey string) Status {
	st := Status{VersionID: v.ContainerVersionID}
	var templateIDs []string
	for _, t := range v.CustomTemplate {
		if strings.Contains(t.TemplateData, Marker) {
			templateIDs = append(templateIDs, t.TemplateID)
		}
	}
	if len(templateIDs) == 0 {
		st.Reason = "the live version has no PulseHub Collect template; import pulsehub-collect.tpl and publish"
		return st
	}
	st.Reason = "the live version has the template but no tag using it; add a PulseHub Collect tag and publish"
	for _, tag := range v.Tag {
		if !usesTemplate(tag.Type, v.ContainerID, templateIDs) {
			continue
		}
		switch {
		case tag.Paused:
			st.Reason = fmt.Sprintf("tag %q is paused", tag.Name)
		case len(tag.FiringTriggerID) == 0:
			st.Reason = fmt.Sprintf("tag %q has no firing trigger", tag.Name)
		case writeKey != "" && param(tag, "writeKey") != writeKey:
			st.Reason = fmt.Sprintf("tag %q uses another write key than this workspace's", tag.Name)
		default:
			return Status{Published: true, VersionID: v.ContainerVersionID, TagName: tag.Name}
		}
	}
	return st
}

// usesTemplate: a tag built from custom template T in container C has type
// "cvt_<C>_<T>".
func usesTemplate(tagType, containerID string, templateIDs []string) bool {
	for _, id := range templateIDs {
		if tagType == "cvt_"+containerID+"_"+id || (strings.HasPrefix(tagType, "cvt_") && strings.HasSuffix(tagType, "_"+id)) {
			return true
		}
	}
	return false
}

func param(t Tag, key string) string {
	for _, p := range t.Parameter {
		if p.Key == key {
			return p.Value
		}
	}
	return ""
}
