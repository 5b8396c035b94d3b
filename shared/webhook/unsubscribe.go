package webhook

import (
	"context"
	"encoding/json"
	"html/template"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/channel/unsubscribe"
	"github.com/pulsehub/pulsehub/shared/ingest"
	"github.com/pulsehub/pulsehub/shared/logging"
)

// Unsubscribes verifies unsubscribe links (unsubscribe.Signer).
type Unsubscribes interface {
	Verify(ctx context.Context, token string) (unsubscribe.Claims, error)
}

// unsubscribePage serves GET and POST /unsubscribe/{token}, the landing
// route of every marketing email's unsubscribe link. GET only shows a
// confirmation (link scanners and prefetchers open links; they must not
// unsubscribe anyone); POST unsubscribes: a mailbox provider's RFC 8058
// one-click request (body List-Unsubscribe=One-Click) or the page's own
// form. The opt-out goes to ingest like any provider's, where it is
// recorded as consent and audited.
func (h *Handler) unsubscribePage(ctx context.Context, r request) (events.APIGatewayV2HTTPResponse, error) {
	token := r.pathParams["token"]
	if token == "" {
		token = strings.TrimPrefix(r.path, unsubscribe.Path)
	}
	if h.unsub == nil {
		return events.APIGatewayV2HTTPResponse{}, apperr.E(apperr.NotFound, "unsubscribe links are not served here")
	}
	c, err := h.unsub.Verify(ctx, token)
	if apperr.KindOf(err) == apperr.NotFound {
		return page(404, "This link is not valid", "This unsubscribe link is not valid. If you copied it, check that it is complete.", ""), nil
	}
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, apperr.Wrap(apperr.Transient, err, "could not check the unsubscribe link; try again")
	}
	what := map[string]string{"email": "emails", "sms": "text messages", "push": "notifications", "whatsapp": "WhatsApp messages"}[c.Channel]
	if r.method == "GET" {
		return page(200, "Unsubscribe", "Stop receiving marketing "+what+" from this shop?", "Unsubscribe"), nil
	}
	method := ingest.UnsubscribePage
	if strings.Contains(string(r.body), "List-Unsubscribe=One-Click") {
		method = ingest.UnsubscribeOneClick
	}
	body, _ := json.Marshal(ingest.Unsubscribe{CustomerID: c.CustomerID, Channel: c.Channel, CampaignID: c.CampaignID, Variant: c.Variant, Method: method})
	now := h.now().UTC()
	env := ingest.Envelope{
		V: ingest.Version, Source: ingest.SourceUnsubscribe, Tenant: c.Tenant, Topic: ingest.TopicUnsubscribe,
		// One opt-out per link: a second click (or the provider's retry) dedupes.
		ID: bodyID([]byte(token)), TriggeredAt: now, ReceivedAt: now, Body: body,
	}
	if err := h.enqueue(logging.With(ctx, logging.Tenant(c.Tenant)), env); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return page(200, "Unsubscribed", "You will not receive marketing "+what+" from this shop any more.", ""), nil
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}button{font-size:1rem;padding:.6rem 1.2rem}</style>
</head><body><h1>{{.Title}}</h1><p>{{.Text}}</p>{{if .Button}}<form method="post"><button type="submit">{{.Button}}</button></form>{{end}}</body></html>
`))

// page is a small HTML answer. The link's token is in the URL, so the
// page sends no referrer and is never cached.
func page(status int, title, text, button string) events.APIGatewayV2HTTPResponse {
	var b strings.Builder
	_ = pageTemplate.Execute(&b, map[string]string{"Title": title, "Text": text, "Button": button})
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Body: b.String(), Headers: map[string]string{
		"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
		"X-Frame-Options": "DENY", "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
	}}
}
