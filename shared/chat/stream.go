package chat

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/pulsehub/pulsehub/shared/wsapi"
)

// Frames the chat sends (docs/api/websocket.md). Seq numbers every frame
// of one answer from 1: the deltas in order, then chat.done or chat.error,
// so a client can tell that nothing was lost or reordered.
type (
	// DeltaFrame carries the next piece of the answer.
	DeltaFrame struct {
		Type           string `json:"type"` // chat.delta
		ConversationID string `json:"conversationId"`
		MessageID      string `json:"messageId"`
		Seq            int    `json:"seq"`
		Delta          string `json:"delta"`
		RequestID      string `json:"requestId,omitempty"`
	}
	// DoneFrame ends an answer with its whole text.
	DoneFrame struct {
		Type           string `json:"type"` // chat.done
		ConversationID string `json:"conversationId"`
		MessageID      string `json:"messageId"`
		Seq            int    `json:"seq"`
		Text           string `json:"text"`
		Engine         string `json:"engine"`          // model | offline
		Model          string `json:"model,omitempty"` // the model, when it answered
		Title          string `json:"title,omitempty"` // a new conversation's title
		RequestID      string `json:"requestId,omitempty"`
	}
	// ErrorFrame ends an answer that failed, or refuses a chat.send.
	ErrorFrame struct {
		Type           string `json:"type"` // chat.error
		ConversationID string `json:"conversationId,omitempty"`
		MessageID      string `json:"messageId,omitempty"`
		Seq            int    `json:"seq,omitempty"`
		Error          string `json:"error"`
		RequestID      string `json:"requestId,omitempty"`
	}
)

// Frame types.
const (
	TypeDelta = "chat.delta"
	TypeDone  = "chat.done"
	TypeError = "chat.error"
)

// Sender posts a frame to a connection (wsapi.Client); a connection that is
// gone yields an error wrapping wsapi.ErrGone.
type Sender interface {
	Send(ctx context.Context, connectionID string, msg any) error
}

// Coalescing of small tokens into deltas: a delta goes out when this many
// bytes are waiting, or this long after the first of them arrived. The
// first delta of an answer goes out at once.
const (
	CoalesceBytes = 64
	CoalesceDelay = 50 * time.Millisecond
)

// stream sends one answer's frames in order. write may be called from the
// engine while the timer flushes: one mutex orders both, and each frame is
// posted before the next is numbered.
type stream struct {
	ctx       context.Context
	send      Sender
	conn      string
	job       Job
	bytes     int
	delay     time.Duration
	postTries int

	mu      sync.Mutex
	buf     strings.Builder
	seq     int
	timer   *time.Timer
	gone    bool  // the client left: nothing more is posted
	failed  error // a post failed for good: nothing more is posted
	started bool
}

func newStream(ctx context.Context, send Sender, job Job) *stream {
	return &stream{ctx: ctx, send: send, conn: job.ConnectionID, job: job, bytes: CoalesceBytes, delay: CoalesceDelay, postTries: 3}
}

// write queues a piece of the answer.
func (s *stream) write(delta string) {
	if delta == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.WriteString(delta)
	switch {
	case !s.started || s.buf.Len() >= s.bytes:
		s.started = true
		s.flushLocked()
	case s.timer == nil:
		s.timer = time.AfterFunc(s.delay, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.timer = nil
			s.flushLocked()
		})
	}
}

func (s *stream) flushLocked() {
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	if s.buf.Len() == 0 {
		return
	}
	s.seq++
	f := DeltaFrame{Type: TypeDelta, ConversationID: s.job.ConversationID, MessageID: s.job.MessageID, Seq: s.seq, Delta: s.buf.String(), RequestID: s.job.RequestID}
	s.buf.Reset()
	s.postLocked(f)
}

// finish flushes what is waiting and posts the last frame (chat.done or
// chat.error), numbered after the deltas.
func (s *stream) finish(last func(seq int) any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flushLocked()
	s.seq++
	s.postLocked(last(s.seq))
}

// postLocked posts one frame, retrying a transient failure (a lost delta
// would garble the answer); after that, or once the client is gone,
// nothing more is posted.
func (s *stream) postLocked(frame any) {
	if s.gone || s.failed != nil {
		return
	}
	var err error
	for try := range s.postTries {
		if err = s.send.Send(s.ctx, s.conn, frame); err == nil {
			return
		}
		if errors.Is(err, wsapi.ErrGone) || s.ctx.Err() != nil {
			break
		}
		time.Sleep(time.Duration(try+1) * 20 * time.Millisecond)
	}
	if errors.Is(err, wsapi.ErrGone) {
		s.gone = true
		return
	}
	s.failed = err
}

// outcome reports how many frames were numbered, whether the client left
// and the post error, if any.
func (s *stream) outcome() (frames int, gone bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seq, s.gone, s.failed
}
