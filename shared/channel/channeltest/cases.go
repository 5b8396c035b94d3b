package channeltest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/channel"
	"github.com/pulsehub/pulsehub/shared/local/sandbox"
)

// ErrorCase is one way a send fails, and how the failure must be classified.
type ErrorCase struct {
	Name   string
	Setup  func(env *Env)           // e.g. change a setting
	Faults *sandbox.Faults          // injected at the provider
	Edit   func(m *channel.Message) // change the message
	// What the error must say.
	Outcome    channel.Outcome
	Code       string        // "" skips the check
	RetryAfter time.Duration // 0 skips the check
	MaybeSent  bool
	Contains   string // a substring of the error, "" skips
	// Requests is how many requests the provider must have seen (0: the
	// sender refused before calling).
	Requests int
}

// RunErrorCases runs each case against a fresh sandbox: provider names
// the emulator, newSender builds the sender under test, message the
// message each case edits.
func RunErrorCases(t *testing.T, provider string, cases []ErrorCase, newSender func(env *Env) Sender, message func(env *Env) channel.Message) {
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			cfg := sandbox.DefaultConfig()
			if tc.Faults != nil {
				cfg.Faults[provider] = *tc.Faults
			}
			env := Start(t, &cfg)
			if tc.Setup != nil {
				tc.Setup(env)
			}
			m := message(env)
			if tc.Edit != nil {
				tc.Edit(&m)
			}
			_, err := newSender(env).Send(context.Background(), m)
			var ce *channel.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *channel.Error", err)
			}
			if ce.Outcome != tc.Outcome || (tc.Code != "" && ce.Code != tc.Code) || ce.MaybeSent != tc.MaybeSent {
				t.Fatalf("got %v (outcome %v, code %q, maybe sent %v)", err, ce.Outcome, ce.Code, ce.MaybeSent)
			}
			if tc.RetryAfter != 0 && ce.RetryAfter != tc.RetryAfter {
				t.Errorf("retry after %v, want %v", ce.RetryAfter, tc.RetryAfter)
			}
			if tc.Contains != "" && !strings.Contains(err.Error(), tc.Contains) {
				t.Errorf("error %q does not say %q", err, tc.Contains)
			}
			if n := len(env.Messaging.Requests(provider)); n != tc.Requests {
				t.Errorf("%s saw %d requests, want %d", provider, n, tc.Requests)
			}
			if n := len(env.Sandbox.Outbox.List(sandbox.Filter{})); n != 0 {
				t.Errorf("a failed send left %d messages in the outbox", n)
			}
		})
	}
}
