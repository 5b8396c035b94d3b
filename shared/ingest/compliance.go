package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/audit"
	"github.com/pulsehub/pulsehub/shared/gdpr"
	"github.com/pulsehub/pulsehub/shared/integration"
	"github.com/pulsehub/pulsehub/shared/profile"
)

// Privacy exports and erases customers (gdpr.Service).
type Privacy interface {
	Export(ctx context.Context, tenant, id, actorID, ip string) (gdpr.Export, error)
	Erase(ctx context.Context, tenant, id, actorID, ip string) (gdpr.Erasure, error)
	ShredTenant(ctx context.Context, tenant, actorID string) error
}

// Integrations reads and writes integration settings (integration.Store).
type Integrations interface {
	Get(ctx context.Context, tenant, name string) (integration.Settings, error)
	Put(ctx context.Context, tenant, name string, config, secrets map[string]string) error
}

// Auditor records actions in the tenant's audit log (audit.Log).
type Auditor interface {
	Record(ctx context.Context, tenant string, e audit.Entry) error
}

// Compliance is what Shopify's privacy and uninstall webhooks need.
type Compliance struct {
	Privacy      Privacy
	Integrations Integrations
	Audit        Auditor
}

// ActionIntegrationDisconnected is the audit action of app/uninstalled.
const ActionIntegrationDisconnected = "integration.disconnected"

// shopifyPrivacy is the body of customers/data_request, customers/redact
// and shop/redact (Shopify's mandatory compliance webhooks).
type shopifyPrivacy struct {
	ShopDomain string `json:"shop_domain"`
	Customer   *struct {
		ID    int64  `json:"id"`
		Email string `json:"email"`
		Phone string `json:"phone"`
	} `json:"customer"`
	OrdersRequested []int64 `json:"orders_requested"`
	OrdersToRedact  []int64 `json:"orders_to_redact"`
	DataRequest     *struct {
		ID int64 `json:"id"`
	} `json:"data_request"`
}

// privacyRequest is what the processor reads from a compliance webhook.
// The workspace is the envelope's tenant (resolved from the verified
// shop), so shop_id and shop_domain are not read here.
type privacyRequest struct {
	Customer        profile.Identity // customers/*: who the request is about
	OrdersToRedact  []int64          // customers/redact
	OrdersRequested []int64          // customers/data_request
	DataRequestID   string           // customers/data_request: Shopify's request id, when given
}

// parseCompliance reads the body of customers/data_request,
// customers/redact, shop/redact or app/uninstalled. The customer topics
// need a customer object; the shop-wide topics read nothing from the body
// but must still be JSON of that shape. Bad input is apperr.Invalid.
func parseCompliance(env Envelope) (privacyRequest, error) {
	var b shopifyPrivacy
	if err := json.Unmarshal(env.Body, &b); err != nil {
		return privacyRequest{}, invalid(env, err)
	}
	var req privacyRequest
	switch env.Topic {
	case "customers/redact", "customers/data_request":
		if b.Customer == nil {
			return privacyRequest{}, invalid(env, fmt.Errorf("no customer object"))
		}
		req.Customer = profile.Identity{Email: b.Customer.Email, Phone: b.Customer.Phone}
		if b.Customer.ID != 0 {
			req.Customer.ShopifyID = strconv.FormatInt(b.Customer.ID, 10)
		}
		req.OrdersToRedact, req.OrdersRequested = b.OrdersToRedact, b.OrdersRequested
		if b.DataRequest != nil && b.DataRequest.ID != 0 {
			req.DataRequestID = strconv.FormatInt(b.DataRequest.ID, 10)
		}
	}
	return req, nil
}

// redactMargin is the time left for the last steps when shop/redact
// erases customers until its invocation deadline.
const redactMargin = 5 * time.Second

func (p *Processor) compliance(ctx context.Context, env Envelope) error {
	if p.comp.Privacy == nil || p.comp.Integrations == nil || p.comp.Audit == nil {
		return apperr.E(apperr.Internal, "ingest: %s needs the compliance dependencies", env.Topic)
	}
	req, err := parseCompliance(env)
	if err != nil {
		return err
	}
	actor := env.Source + ":" + env.Topic
	rec := profile.ComplianceRequest{ID: requestID(env), Source: env.Source, Topic: env.Topic, ReceivedAt: env.ReceivedAt.UTC().Format(time.RFC3339Nano)}
	var export []byte
	switch env.Topic {
	case "customers/redact", "customers/data_request":
		ids, err := p.profiles.Lookup(ctx, env.Tenant, req.Customer)
		if err != nil {
			return err
		}
		rec.CustomerIDs = ids
		if env.Topic == "customers/redact" {
			rec.Outcome, err = p.redactCustomers(ctx, env.Tenant, ids, actor, req.OrdersToRedact)
		} else {
			if req.DataRequestID != "" {
				rec.ProviderID = req.DataRequestID
				rec.ID = "shopify-data-request-" + rec.ProviderID
			}
			export, rec.Outcome, err = p.exportCustomers(ctx, env.Tenant, ids, actor, req.OrdersRequested)
		}
		if err != nil {
			return err
		}
	case "shop/redact":
		outcome, err := p.redactShop(ctx, env.Tenant, actor)
		if err != nil {
			return err
		}
		rec.Outcome = outcome
		// The keys are gone: the record itself must hold nothing sealed.
		if err := p.profiles.SaveComplianceRequest(ctx, env.Tenant, rec, nil); err != nil {
			return err
		}
		return nil
	case "app/uninstalled":
		outcome, err := p.disconnect(ctx, env.Tenant, actor)
		if err != nil {
			return err
		}
		rec.Outcome = outcome
	}
	return p.profiles.SaveComplianceRequest(ctx, env.Tenant, rec, export)
}

// requestID names a compliance record after the delivery (URL-safe).
func requestID(env Envelope) string {
	id := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, env.ID)
	return env.Source + "-" + strings.ReplaceAll(env.Topic, "/", "-") + "-" + id
}

// redactCustomers erases every matching customer with the GDPR erasure
// (partition, identity index, segment memberships, delivery records).
// Orders live in the customer's partition and go with it; orders_to_redact
// held under another profile carry no personal data (docs/webhooks.md).
func (p *Processor) redactCustomers(ctx context.Context, tenant string, ids []string, actor string, orders []int64) (string, error) {
	if len(ids) == 0 {
		if err := p.comp.Audit.Record(ctx, tenant, audit.Entry{Action: audit.CustomerErased, ActorID: actor,
			Detail: map[string]string{"outcome": "no data held", "ordersToRedact": strconv.Itoa(len(orders))}}); err != nil {
			return "", err
		}
		return "no data held about this customer", nil
	}
	items := 0
	for _, id := range ids {
		e, err := p.comp.Privacy.Erase(ctx, tenant, id, actor, "")
		if apperr.KindOf(err) == apperr.NotFound {
			continue // erased by an earlier attempt of this delivery
		}
		if err != nil {
			return "", fmt.Errorf("ingest: erase %s: %w", id, err)
		}
		items += e.ItemsDeleted
	}
	return fmt.Sprintf("erased %d customer(s), %d items", len(ids), items), nil
}

// exportCustomers produces the GDPR export of every matching customer (each
// export is audited by the privacy service).
func (p *Processor) exportCustomers(ctx context.Context, tenant string, ids []string, actor string, orders []int64) ([]byte, string, error) {
	exports := make([]gdpr.Export, 0, len(ids))
	for _, id := range ids {
		e, err := p.comp.Privacy.Export(ctx, tenant, id, actor, "")
		if err != nil {
			return nil, "", fmt.Errorf("ingest: export %s: %w", id, err)
		}
		exports = append(exports, e)
	}
	if len(ids) == 0 {
		if err := p.comp.Audit.Record(ctx, tenant, audit.Entry{Action: audit.CustomerExported, ActorID: actor,
			Detail: map[string]string{"outcome": "no data held"}}); err != nil {
			return nil, "", err
		}
	}
	b, err := json.Marshal(map[string]any{"customers": exports, "ordersRequested": orders})
	if err != nil {
		return nil, "", fmt.Errorf("ingest: export: %w", err)
	}
	return b, fmt.Sprintf("exported %d customer(s); fetch GET /v1/compliance-requests/{id}", len(ids)), nil
}

// redactShop crypto-shreds the workspace's keys first (every sealed value
// and blind index is unreadable from then on), then erases the customers
// until the invocation deadline nears; an unfinished erasure is retried
// (Transient) and resumes where it stopped, since erased customers leave
// the listing.
func (p *Processor) redactShop(ctx context.Context, tenant, actor string) (string, error) {
	if err := p.comp.Privacy.ShredTenant(ctx, tenant, actor); err != nil {
		return "", err
	}
	deadline, bounded := ctx.Deadline()
	n := 0
	errBudget := apperr.E(apperr.Transient, "shop/redact: more customers to erase; continuing on redelivery")
	err := p.profiles.EachID(ctx, tenant, func(id string) error {
		if bounded && time.Until(deadline) < redactMargin {
			return errBudget
		}
		_, err := p.comp.Privacy.Erase(ctx, tenant, id, actor, "")
		if err != nil && apperr.KindOf(err) != apperr.NotFound {
			return fmt.Errorf("ingest: shop/redact erase %s: %w", id, err)
		}
		n++
		return nil
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("workspace keys destroyed; %d customer(s) erased", n), nil
}

// disconnect marks the Shopify integration disconnected after
// app/uninstalled: the access token (revoked by Shopify anyway) is removed,
// so sync stops calling the Admin API, while the shop domain and webhook
// secret stay so the shop/redact that follows 48 hours later still
// verifies and finds the workspace.
func (p *Processor) disconnect(ctx context.Context, tenant, actor string) (string, error) {
	st, err := p.comp.Integrations.Get(ctx, tenant, integration.Shopify)
	if apperr.KindOf(err) == apperr.NotFound {
		return "no Shopify integration was configured", nil
	}
	if err != nil {
		return "", err
	}
	if st.Secrets["accessToken"] != "" {
		if err := p.comp.Integrations.Put(ctx, tenant, integration.Shopify, st.Config, map[string]string{"accessToken": ""}); err != nil {
			return "", err
		}
	}
	if err := p.comp.Audit.Record(ctx, tenant, audit.Entry{Action: ActionIntegrationDisconnected, ActorID: actor, Target: integration.Shopify,
		Detail: map[string]string{"shopDomain": st.Config["shopDomain"]}}); err != nil {
		return "", err
	}
	return "Shopify disconnected: access token removed; webhook secret kept for shop/redact", nil
}
