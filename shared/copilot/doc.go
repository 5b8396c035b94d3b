// Package copilot is PulseHub's AI copilot: one registry of typed tools over
// the merchant's data (Tool, Registry, Tools), a model engine that streams
// chat completions from any OpenAI-compatible server with go-openai and
// calls those tools, a deterministic offline engine that answers the common
// questions through the same tools, and the Copilot that picks between
// them (no key, the tenant's monthly token cap, a circuit breaker, a
// timeout) so an answer always comes.
//
// Every tool call carries the Caller (tenant and role from a verified
// token): tools read that tenant only and are offered to, and runnable by,
// the roles holding their permission. Tool results reach the model wrapped
// as data, size-limited, with customer-supplied text quoted between ⟦ ⟧;
// tools that create something make drafts only, and only in a turn whose
// user message asks for one (AsksForDraft), so text planted in customer
// data cannot start them. Applying a draft is always the user's own action
// in PulseHub (docs/copilot.md).
//
// The conversation around a turn (history, streaming to the WebSocket) is
// package chat's.
package copilot
