package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/auth"
	"github.com/pulsehub/pulsehub/shared/copilot"
	"github.com/pulsehub/pulsehub/shared/logging"
)

// Job is one chat turn on the chat queue: who asks (from the connection
// record, made from a verified token), where to stream, and the message.
type Job struct {
	TenantID       string    `json:"tenantId"`
	UserID         string    `json:"userId"`
	Role           string    `json:"role"`
	ConnectionID   string    `json:"connectionId"`
	ConversationID string    `json:"conversationId"`
	MessageID      string    `json:"messageId"`
	RequestID      string    `json:"requestId,omitempty"`
	Title          string    `json:"title,omitempty"`
	Text           string    `json:"text"`
	At             time.Time `json:"at"`
}

func (j Job) owner() Owner { return Owner{TenantID: j.TenantID, UserID: j.UserID} }

func (j Job) turn() Turn {
	return Turn{ConversationID: j.ConversationID, MessageID: j.MessageID, Text: j.Text, At: j.At, Title: j.Title}
}

// DecodeJob reads a chat queue message; a malformed one is Invalid (it is
// dead-lettered, not retried).
func DecodeJob(body []byte) (Job, error) {
	var job Job
	if err := json.Unmarshal(body, &job); err != nil {
		return Job{}, apperr.Wrap(apperr.Invalid, err, "chat job is not JSON")
	}
	return job, job.check()
}

func (j Job) check() error {
	if j.TenantID == "" || j.UserID == "" || j.ConnectionID == "" || j.ConversationID == "" || j.MessageID == "" || j.Text == "" || j.At.IsZero() {
		return apperr.E(apperr.Invalid, "chat job is missing tenantId, userId, connectionId, conversationId, messageId, text or at")
	}
	return nil
}

// Answerer answers a question (copilot.Copilot).
type Answerer interface {
	Answer(ctx context.Context, q copilot.Question, emit copilot.Emit) (copilot.Answer, error)
}

// ConnectionDropper deletes the record of a connection that is gone.
type ConnectionDropper interface {
	Delete(ctx context.Context, id string) error
}

// Worker runs chat turns from the chat queue: it answers with the copilot,
// streams the answer to the connection, stores it, and always ends with
// chat.done or chat.error.
type Worker struct {
	store   *Store
	copilot Answerer
	send    Sender
	conns   ConnectionDropper
	log     *slog.Logger
	now     func() time.Time
}

// NewWorker returns the chat function's worker.
func NewWorker(s *Store, c Answerer, send Sender, conns ConnectionDropper, log *slog.Logger, now func() time.Time) *Worker {
	if now == nil {
		now = time.Now
	}
	return &Worker{store: s, copilot: c, send: send, conns: conns, log: log, now: now}
}

// Process handles one queue message (batch.Handler's process). A turn's
// own failures end in chat.error and are not retried: the user asks again.
// A message seen a second time means the first attempt died (a timeout);
// it is answered with chat.error rather than run again minutes later.
func (w *Worker) Process(ctx context.Context, msg events.SQSMessage) error {
	job, err := DecodeJob([]byte(msg.Body))
	if err != nil {
		return err
	}
	ctx = logging.With(ctx, logging.Tenant(job.TenantID), slog.String("conversationId", job.ConversationID), slog.String("messageId", job.MessageID))
	if n, _ := strconv.Atoi(msg.Attributes["ApproximateReceiveCount"]); n > 1 {
		w.log.WarnContext(ctx, "chat turn redelivered after a failed attempt", "receiveCount", n)
		w.fail(ctx, job, newStream(ctx, w.send, job), "the previous attempt to answer failed; please ask again")
		return nil
	}
	w.Run(ctx, job)
	return nil
}

// Run answers one turn.
func (w *Worker) Run(ctx context.Context, job Job) {
	st := newStream(ctx, w.send, job)
	history, err := w.store.Messages(ctx, job.owner(), job.ConversationID)
	if err != nil {
		w.log.ErrorContext(ctx, "chat: history", "err", err)
		w.fail(ctx, job, st, "the conversation could not be read; please try again")
		return
	}
	q := copilot.Question{
		Caller: copilot.Caller{TenantID: job.TenantID, UserID: job.UserID, Role: auth.Role(job.Role)},
		Text:   job.Text,
	}
	for _, m := range history {
		if m.TurnID != job.MessageID { // the question itself is stored already
			q.History = append(q.History, copilot.Message{Role: m.Role, Text: m.Text})
		}
	}
	a, err := w.copilot.Answer(ctx, q, st.write)
	if err != nil {
		w.log.ErrorContext(ctx, "chat: answer failed", "err", err)
		w.fail(ctx, job, st, "the copilot could not answer: "+apperr.Message(err))
		return
	}
	if err := w.store.FinishTurn(ctx, job.owner(), job.turn(), Message{Role: "assistant", Text: a.Text, At: w.now(), Engine: a.Engine}); err != nil {
		// The answer was streamed; only its copy in the history is lost
		// (the conversation was deleted meanwhile, or the store failed).
		w.log.WarnContext(ctx, "chat: answer not stored", "err", err)
	}
	st.finish(func(seq int) any {
		return DoneFrame{Type: TypeDone, ConversationID: job.ConversationID, MessageID: job.MessageID, Seq: seq,
			Text: a.Text, Engine: a.Engine, Model: a.Model, Title: job.Title, RequestID: job.RequestID}
	})
	frames := w.settle(ctx, job, st)
	w.log.InfoContext(ctx, "chat turn answered", "engine", a.Engine, "tokens", a.Usage.Total(), "frames", frames)
}

// fail ends the turn with chat.error and frees the conversation.
func (w *Worker) fail(ctx context.Context, job Job, st *stream, reason string) {
	if err := w.store.ReleaseTurn(ctx, job.owner(), job.turn()); err != nil {
		w.log.ErrorContext(ctx, "chat: release turn", "err", err)
	}
	st.finish(func(seq int) any {
		return ErrorFrame{Type: TypeError, ConversationID: job.ConversationID, MessageID: job.MessageID, Seq: seq, Error: reason, RequestID: job.RequestID}
	})
	w.settle(ctx, job, st)
}

// settle drops the record of a connection that went away and logs a
// stream that could not be delivered; it returns the frames numbered.
func (w *Worker) settle(ctx context.Context, job Job, st *stream) int {
	frames, gone, err := st.outcome()
	if gone {
		if derr := w.conns.Delete(ctx, job.ConnectionID); derr != nil {
			w.log.ErrorContext(ctx, "chat: drop gone connection", "err", derr)
		}
		w.log.InfoContext(ctx, "chat: the client left before the answer ended")
	}
	if err != nil {
		w.log.ErrorContext(ctx, "chat: frames could not be delivered", "err", fmt.Errorf("post to %s: %w", job.ConnectionID, err))
	}
	return frames
}
