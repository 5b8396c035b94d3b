package catalog

import "time"

// Queue names.
const (
	QueueIngest = "ingest" // webhooks and /collect → ingest
	QueueSend   = "send"   // scheduler → send (one message per batch of recipients)
	QueueChat   = "chat"   // ws-message → chat (one message per chat turn)
)

// Domain event detail-types published on the bus.
const (
	EventOrderCreated          = "order.created"
	EventCheckoutAbandoned     = "checkout.abandoned"
	EventCustomerUpdated       = "customer.updated"
	EventConsentChanged        = "consent.changed"
	EventIntegrationConnected  = "integration.connected"
	EventCampaignScheduled     = "campaign.scheduled"
	EventMessageDelivered      = "message.delivered"
	EventMessageEngaged        = "message.engaged"
	EventSegmentRefreshRequest = "segment.refresh.requested"
)

// System returns PulseHub's catalog. It is a function, not a variable, so
// no caller can mutate a shared copy.
func System() Catalog {
	common := []string{EnvTable, EnvLogLevel, EnvCursorSecret}
	table := Grant{Kind: KindTable, Access: ReadWrite}
	pii := Grant{Kind: KindKMS, Access: Encrypt}
	bus := Grant{Kind: KindBus, Access: Publish}
	ws := Grant{Kind: KindWebSocket, Access: Manage}
	sendTo := func(q string) Grant { return Grant{Kind: KindQueue, Name: q, Access: Send} }
	consume := func(q string) Grant { return Grant{Kind: KindQueue, Name: q, Access: Consume} }
	env := func(keys ...string) []string { return append(append([]string{}, common...), keys...) }

	return Catalog{
		Table: Table{
			Name:         "main",
			PartitionKey: "PK",
			SortKey:      "SK",
			GSIs: []GSI{
				{Name: "GSI1", PartitionKey: "GSI1PK", SortKey: "GSI1SK"},
				{Name: "GSI2", PartitionKey: "GSI2PK", SortKey: "GSI2SK"},
			},
			TTLAttribute: "ttl",
		},
		Queues: []Queue{
			{Name: QueueIngest, VisibilityTimeout: 3 * time.Minute, Retention: 14 * 24 * time.Hour, MaxReceiveCount: 5},
			{Name: QueueSend, VisibilityTimeout: 6 * time.Minute, Retention: 4 * 24 * time.Hour, MaxReceiveCount: 5},
			{Name: QueueChat, VisibilityTimeout: 6 * time.Minute, Retention: time.Hour, MaxReceiveCount: 2},
		},
		Bus: Bus{Name: "pulsehub", Source: "pulsehub"},
		Functions: []Function{
			{
				Name:        "api",
				Description: "HTTP API: auth, customers, segments, campaigns, reports, integrations, GDPR",
				MemoryMB:    512, Timeout: 29 * time.Second,
				// The OpenAI settings serve POST /v1/content/suggest.
				Env:    env(EnvKMSKey, EnvJWTSecret, EnvBus, EnvSecrets, EnvOpenAIBase, EnvOpenAIModel),
				HTTP:   []Route{{"ANY", "/v1/{proxy+}"}},
				Grants: []Grant{table, pii, bus, {Kind: KindSecret, Name: "jwt", Access: Read}, {Kind: KindSecret, Name: "providers", Access: ReadWrite}},
			},
			{
				Name:        "webhooks",
				Description: "Verifies provider webhooks, /collect beacons and unsubscribe links and enqueues them for ingest (which deduplicates)",
				MemoryMB:    256, Timeout: 10 * time.Second,
				Env: env(QueueIngestEnv(), EnvKMSKey, EnvPublicURL),
				HTTP: []Route{
					{"POST", "/webhooks/shopify"},
					{"GET", "/webhooks/meta"}, {"POST", "/webhooks/meta"},
					{"POST", "/webhooks/twilio/{tenantId}"},
					{"POST", "/webhooks/sendgrid/{tenantId}"},
					{"GET", "/webhooks/whatsapp"}, {"POST", "/webhooks/whatsapp"},
					{"POST", "/collect"}, {"OPTIONS", "/collect"},
					{"GET", "/pulsehub-collect.js"},
					// The landing route of marketing emails' signed unsubscribe links.
					{"GET", "/unsubscribe/{token}"}, {"POST", "/unsubscribe/{token}"},
				},
				Grants: []Grant{table, pii, sendTo(QueueIngest)},
			},
			{
				Name:        "ingest",
				Description: "Normalises webhooks and events into profiles, orders, consent and engagement",
				MemoryMB:    512, Timeout: 30 * time.Second,
				Env: env(EnvKMSKey, EnvBus, Queue{Name: QueueIngest}.DLQEnvKey()),
				// No batching window: a poll hands over what it has (up to 10)
				// at once, so a quiet shop's webhook is applied in milliseconds,
				// not after a one-second wait; busy queues fill batches anyway.
				Queue: &QueueTrigger{Queue: QueueIngest, BatchSize: 10, MaxConcurrency: 20},
				// Abandoned checkouts are found by time, not by traffic.
				Schedules: []Schedule{{Name: "abandoned-checkouts", Expression: "rate(5 minutes)"}},
				Grants:    []Grant{table, pii, bus, consume(QueueIngest)},
			},
			{
				Name:        "ws-connect",
				Description: "WebSocket $connect: authenticates and stores the connection",
				MemoryMB:    256, Timeout: 10 * time.Second,
				Env:       env(EnvJWTSecret),
				WebSocket: []string{"$connect"},
				Grants:    []Grant{table, {Kind: KindSecret, Name: "jwt", Access: Read}},
			},
			{
				Name:        "ws-disconnect",
				Description: "WebSocket $disconnect: removes the connection",
				MemoryMB:    256, Timeout: 10 * time.Second,
				Env:       env(),
				WebSocket: []string{"$disconnect"},
				Grants:    []Grant{table},
			},
			{
				Name:        "ws-message",
				Description: "WebSocket messages: ping, conversations, dashboard subscriptions; queues chat turns",
				MemoryMB:    256, Timeout: 10 * time.Second,
				Env:       env(EnvWSEndpoint, QueueChatEnv()),
				WebSocket: []string{"$default"},
				Grants:    []Grant{table, ws, sendTo(QueueChat)},
			},
			{
				Name:        "chat",
				Description: "AI copilot turn: LLM with tools over the merchant's data, streamed to the WebSocket",
				MemoryMB:    512, Timeout: 60 * time.Second,
				// KMS: the tools open customer names (sealed) to answer "who".
				Env:    env(EnvWSEndpoint, EnvOpenAIBase, EnvOpenAIModel, EnvSecrets, EnvKMSKey, Queue{Name: QueueChat}.DLQEnvKey()),
				Queue:  &QueueTrigger{Queue: QueueChat, BatchSize: 1, MaxConcurrency: 10},
				Grants: []Grant{table, ws, consume(QueueChat), {Kind: KindSecret, Name: "providers", Access: Read}, {Kind: KindKMS, Access: Decrypt}},
			},
			{
				Name:        "sync",
				Description: "Shopify Admin backfill/reconcile, Meta Conversions API forwarding, GTM checks",
				MemoryMB:    512, Timeout: 5 * time.Minute,
				ReservedConcurrency: 5,
				Env:                 env(EnvKMSKey, EnvSecrets, QueueIngestEnv()),
				Schedules:           []Schedule{{Name: "reconcile", Expression: "rate(15 minutes)"}},
				Events:              []EventRule{{Name: "on-connect", DetailTypes: []string{EventIntegrationConnected}}},
				Grants:              []Grant{table, pii, sendTo(QueueIngest), {Kind: KindSecret, Name: "providers", Access: Read}},
			},
			{
				Name:        "segment",
				Description: "RFM, rule and cluster segments; send-time and channel predictions",
				MemoryMB:    1024, Timeout: 10 * time.Minute,
				ReservedConcurrency: 5,
				Env:                 env(EnvBus),
				Schedules:           []Schedule{{Name: "nightly", Expression: "cron(0 3 * * ? *)"}},
				Events:              []EventRule{{Name: "on-request", DetailTypes: []string{EventSegmentRefreshRequest}}},
				Grants:              []Grant{table, bus},
				Planned:             true,
			},
			{
				Name:        "scheduler",
				Description: "Finds due campaigns, resolves audiences and enqueues send batches",
				MemoryMB:    512, Timeout: 5 * time.Minute,
				ReservedConcurrency: 1,
				Env:                 env(QueueSendEnv(), EnvBus),
				Schedules:           []Schedule{{Name: "tick", Expression: "rate(1 minute)"}},
				Events:              []EventRule{{Name: "on-schedule", DetailTypes: []string{EventCampaignScheduled}}},
				Grants:              []Grant{table, bus, sendTo(QueueSend)},
				Planned:             true,
			},
			{
				Name:        "send",
				Description: "Consent, caps, quiet hours, rendering and provider delivery for one send batch",
				MemoryMB:    512, Timeout: 60 * time.Second,
				Env:     env(EnvKMSKey, EnvSecrets, EnvBus, EnvPublicURL),
				Queue:   &QueueTrigger{Queue: QueueSend, BatchSize: 5, MaxConcurrency: 10},
				Grants:  []Grant{table, pii, bus, consume(QueueSend), {Kind: KindSecret, Name: "providers", Access: Read}},
				Planned: true,
			},
			{
				Name:        "analytics",
				Description: "Counters, attribution and ROI; pushes dashboard updates to subscribers",
				MemoryMB:    256, Timeout: 30 * time.Second,
				Env:     env(EnvWSEndpoint),
				Events:  []EventRule{{Name: "on-activity", DetailTypes: []string{EventOrderCreated, EventMessageDelivered, EventMessageEngaged}}},
				Grants:  []Grant{table, ws},
				Planned: true,
			},
		},
	}
}

// QueueIngestEnv and friends name the env keys of the system's queues.
func QueueIngestEnv() string { return Queue{Name: QueueIngest}.EnvKey() }
func QueueSendEnv() string   { return Queue{Name: QueueSend}.EnvKey() }
func QueueChatEnv() string   { return Queue{Name: QueueChat}.EnvKey() }
