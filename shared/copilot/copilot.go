package copilot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

// Engine names, as chat.done and POST /v1/content/suggest report them.
const (
	EngineModel   = "model"
	EngineOffline = "offline"
)

// Message is one earlier message of a conversation.
type Message struct {
	Role string // "user" or "assistant"
	Text string
}

// Question is one turn to answer.
type Question struct {
	Caller  Caller
	History []Message // earlier messages, oldest first
	Text    string
}

// Usage is the model's token count for one answer.
type Usage struct {
	PromptTokens     int `json:"promptTokens"`
	CompletionTokens int `json:"completionTokens"`
}

// Total is prompt plus completion tokens.
func (u Usage) Total() int { return u.PromptTokens + u.CompletionTokens }

// Answer is a finished answer.
type Answer struct {
	Text   string
	Engine string // EngineModel or EngineOffline
	Model  string // the model's name, for EngineModel
	// Notice says why the offline engine answered when a model is
	// configured (failure, open breaker, token cap); it is part of Text.
	Notice string
	Usage  Usage
}

// Emit receives an answer's text as it is produced, in order.
type Emit func(delta string)

// Engine answers questions.
type Engine interface {
	Answer(ctx context.Context, q Question, emit Emit) (Answer, error)
}

// JSONModel is a model engine that also answers one prompt with a JSON
// object (content suggestions).
type JSONModel interface {
	JSON(ctx context.Context, system, user string) (string, Usage, error)
}

// Usages records and reads a tenant's model token usage (UsageStore).
type Usages interface {
	Used(ctx context.Context, tenant string, at time.Time) (int64, error)
	Add(ctx context.Context, tenant string, at time.Time, u Usage) error
}

// Options configure a Copilot; zero fields take the defaults.
type Options struct {
	// Model is the model engine; nil runs offline only (no key).
	Model Engine
	// Offline answers without a model; required.
	Offline Engine
	Usage   Usages
	// MonthlyTokens caps a tenant's model tokens per calendar month (UTC);
	// DefaultMonthlyTokens when 0.
	MonthlyTokens int64
	// Timeout bounds one model answer, tool calls included.
	Timeout time.Duration
	Breaker *Breaker
	Logger  *slog.Logger
	Now     func() time.Time
}

// DefaultMonthlyTokens is a tenant's model allowance per month.
const DefaultMonthlyTokens = 2_000_000

// DefaultTimeout bounds a model answer; the chat function's 60 s leave room
// for the offline answer after it.
const DefaultTimeout = 40 * time.Second

// Copilot answers with the model when it can and with the offline engine
// when it cannot: no key, an open breaker, the tenant's token cap, or a
// model failure or timeout (the offline engine then finishes the answer).
type Copilot struct {
	o Options
}

// New returns a Copilot.
func New(o Options) (*Copilot, error) {
	if o.Offline == nil {
		return nil, errors.New("copilot: the offline engine is required")
	}
	if o.Model != nil && o.Usage == nil {
		return nil, errors.New("copilot: a model needs a usage store (token cap)")
	}
	if o.MonthlyTokens == 0 {
		o.MonthlyTokens = DefaultMonthlyTokens
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Breaker == nil {
		o.Breaker = NewBreaker(BreakerOptions{Now: o.Now})
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Copilot{o: o}, nil
}

// Breaker is the model's circuit breaker.
func (c *Copilot) Breaker() *Breaker { return c.o.Breaker }

// Answer answers q, streaming text to emit; Answer.Text is exactly what
// was emitted. It fails only when the offline engine fails too.
func (c *Copilot) Answer(ctx context.Context, q Question, emit Emit) (Answer, error) {
	var text strings.Builder
	out := func(d string) {
		text.WriteString(d)
		emit(d)
	}
	notice, err := c.modelNotice(ctx, q.Caller.TenantID)
	if err != nil {
		return Answer{}, err
	}
	if notice == "" {
		var a Answer
		err := c.askModel(ctx, q.Caller.TenantID, func(mctx context.Context) (Usage, error) {
			var err error
			a, err = c.o.Model.Answer(mctx, q, out)
			return a.Usage, err
		})
		if err == nil {
			a.Text = text.String()
			return a, nil
		}
		c.o.Logger.WarnContext(ctx, "copilot model failed; answering offline", "err", err, "breaker", c.o.Breaker.State())
		notice = "The AI model did not answer (" + apperr.Message(err) + "), so the offline engine answers instead."
		if errors.Is(err, context.DeadlineExceeded) {
			notice = "The AI model took too long, so the offline engine answers instead."
		}
		if text.Len() > 0 {
			out("\n\n")
		}
	}
	out(notice + "\n\n")
	a, err := c.o.Offline.Answer(ctx, q, out)
	if err != nil {
		return Answer{}, err
	}
	a.Notice, a.Text = notice, text.String()
	return a, nil
}

// modelNotice says why the model is not asked ("" when it is).
func (c *Copilot) modelNotice(ctx context.Context, tenant string) (string, error) {
	if c.o.Model == nil {
		return "No AI model is configured (OPENAI_API_KEY), so the offline engine answers.", nil
	}
	now := c.o.Now()
	used, err := c.o.Usage.Used(ctx, tenant, now)
	if err != nil {
		return "", fmt.Errorf("copilot: token usage: %w", err)
	}
	if used >= c.o.MonthlyTokens {
		next := time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, time.UTC)
		return fmt.Sprintf("This workspace has used its AI allowance for %s (%s of %s tokens), so the offline engine answers until %s.",
			now.UTC().Format("January 2006"), groupDigits(used), groupDigits(c.o.MonthlyTokens), next.Format("2 January")), nil
	}
	if !c.o.Breaker.Allow() {
		return "The AI model has failed several times in a row and is paused for a moment, so the offline engine answers.", nil
	}
	return "", nil
}

// askModel runs one use of the model within the timeout, reports the
// outcome to the breaker and records the tokens used, also for a use that
// failed half way.
func (c *Copilot) askModel(ctx context.Context, tenant string, run func(ctx context.Context) (Usage, error)) error {
	mctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	u, err := run(mctx)
	if ctx.Err() == nil { // our own deadline or a model fault, not the caller's cancel
		if err != nil {
			c.o.Breaker.Failure()
		} else {
			c.o.Breaker.Success()
		}
	}
	if u.Total() > 0 {
		if uerr := c.o.Usage.Add(ctx, tenant, c.o.Now(), u); uerr != nil {
			c.o.Logger.ErrorContext(ctx, "copilot: recording token usage failed", "err", uerr)
		}
	}
	if err != nil && mctx.Err() != nil && ctx.Err() == nil {
		err = fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
	}
	return err
}
