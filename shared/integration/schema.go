package integration

import (
	"regexp"
	"slices"
	"strings"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

// Integration names.
const (
	Shopify  = "shopify"
	Meta     = "meta"
	GTM      = "gtm"
	SendGrid = "sendgrid"
	Twilio   = "twilio"
	FCM      = "fcm"
	WhatsApp = "whatsapp"
)

// schema lists the keys an integration accepts, split into configuration
// (shown on GET) and secrets (write-only).
type schema struct {
	config  []string
	secrets []string
}

func schemaOf(name string) (schema, bool) {
	switch name {
	case Shopify:
		return schema{config: []string{"shopDomain", "apiVersion", "shopName"}, secrets: []string{"webhookSecret", "previousWebhookSecret", "accessToken"}}, true
	case Meta:
		return schema{config: []string{"appId", "pixelId", "pageIds", "graphApiVersion"}, secrets: []string{"appSecret", "verifyToken", "accessToken"}}, true
	case GTM:
		return schema{config: []string{"containerId", "accountId", "workspaceId", "allowedOrigins"}, secrets: []string{"writeKey", "apiToken"}}, true
	case SendGrid:
		return schema{config: []string{"fromEmail", "fromName", "replyToEmail", "replyToName", "webhookPublicKey"}, secrets: []string{"apiKey"}}, true
	case Twilio:
		return schema{config: []string{"accountSid", "fromNumber", "messagingServiceSid"}, secrets: []string{"authToken"}}, true
	case FCM:
		return schema{config: []string{"projectId"}, secrets: []string{"serviceAccountJson"}}, true
	case WhatsApp:
		return schema{config: []string{"phoneNumberId", "businessAccountId", "graphApiVersion", "messagesPerSecond"}, secrets: []string{"accessToken", "appSecret", "verifyToken"}}, true
	}
	return schema{}, false
}

// Names lists every integration.
func Names() []string { return []string{Shopify, Meta, GTM, SendGrid, Twilio, FCM, WhatsApp} }

var (
	shopDomainRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*\.myshopify\.com$`)
	numericIDRE  = regexp.MustCompile(`^[0-9]{1,32}$`)
)

// validate checks keys against the schema and the few formats lookups
// depend on.
func validate(name string, config, secrets map[string]string) error {
	s, ok := schemaOf(name)
	if !ok {
		return apperr.E(apperr.NotFound, "unknown integration %q; one of %s", name, strings.Join(Names(), ", "))
	}
	for k, v := range config {
		if !slices.Contains(s.config, k) {
			return &apperr.Error{Kind: apperr.Invalid, Field: k, Message: "unknown " + name + " setting " + k}
		}
		if len(v) > 4096 {
			return &apperr.Error{Kind: apperr.Invalid, Field: k, Message: k + " is longer than 4096 characters"}
		}
	}
	for k, v := range secrets {
		if !slices.Contains(s.secrets, k) {
			return &apperr.Error{Kind: apperr.Invalid, Field: k, Message: "unknown " + name + " secret " + k}
		}
		if len(v) > 8192 {
			return &apperr.Error{Kind: apperr.Invalid, Field: k, Message: k + " is longer than 8192 characters"}
		}
	}
	if d, ok := config["shopDomain"]; ok && name == Shopify && !shopDomainRE.MatchString(d) {
		return &apperr.Error{Kind: apperr.Invalid, Field: "shopDomain", Message: "shopDomain must look like your-store.myshopify.com (lowercase)"}
	}
	for _, k := range []string{"appId", "pixelId", "phoneNumberId"} {
		if v, ok := config[k]; ok && v != "" && !numericIDRE.MatchString(v) {
			return &apperr.Error{Kind: apperr.Invalid, Field: k, Message: k + " must be a numeric id"}
		}
	}
	if v, ok := config["pageIds"]; ok && v != "" {
		for _, id := range splitList(v) {
			if !numericIDRE.MatchString(id) {
				return &apperr.Error{Kind: apperr.Invalid, Field: "pageIds", Message: "pageIds must be comma-separated numeric ids"}
			}
		}
	}
	return nil
}

// splitList splits a comma-separated setting, trimming and dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// IsSecret reports whether key is a write-only secret of integration name.
func IsSecret(name, key string) bool {
	s, _ := schemaOf(name)
	return slices.Contains(s.secrets, key)
}
