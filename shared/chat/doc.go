// Package chat is the copilot's conversation side: conversations and their
// messages per user and tenant (Store, kept for Retention by the table's
// TTL), the WebSocket actions ws-message runs (chat.send,
// conversation.list|get|delete), and the Worker the chat function runs for
// each turn from the chat queue.
//
// A chat.send stores the question and holds the conversation for the turn
// (a second message meanwhile is refused with ErrBusy, in words), then
// queues a Job; the route answers within milliseconds and never waits for
// the model. The Worker answers with package copilot and streams
// chat.delta frames, numbered and coalesced (CoalesceBytes or
// CoalesceDelay; the first at once), then chat.done with the whole text and
// the engine that wrote it, or chat.error: a turn never ends in silence.
package chat
