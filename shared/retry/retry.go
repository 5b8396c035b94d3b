// Package retry holds the waiting every client of a remote service needs:
// capped exponential backoff and a sleep that ends with its context.
package retry

import (
	"context"
	"io"
	"net/http"
	"time"
)

// Backoff is a capped exponential delay: Base, 2×Base, 4×Base … up to Max.
type Backoff struct {
	Base, Max time.Duration
}

// Delay is the wait before retry number attempt (0 for the first retry).
func (b Backoff) Delay(attempt int) time.Duration {
	if attempt < 0 {
		attempt = 0
	}
	// Shifting by more than ~30 overflows; the cap is reached long before.
	return min(b.Base<<min(attempt, 30), b.Max)
}

// Sleep waits for d or until ctx ends, whichever comes first, and returns
// ctx.Err() in the second case. A non-positive d only checks ctx.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// RetryableStatus reports whether an HTTP answer is worth sending again:
// 429 Too Many Requests and 5xx. Any other answer is final.
func RetryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || code >= 500
}

// HTTP sends the request newReq builds (anew for every attempt, so bodies
// are fresh) until an answer is final (RetryableStatus false) or attempts
// run out, waiting b.Delay between tries. It returns the last answer's
// status and up to 2 KB of its body; err is set when newReq fails, when
// the last attempt got no answer at all, or when ctx ends.
func HTTP(ctx context.Context, hc *http.Client, attempts int, b Backoff, newReq func(context.Context) (*http.Request, error)) (status int, body []byte, err error) {
	for attempt := 0; ; attempt++ {
		req, err := newReq(ctx)
		if err != nil {
			return 0, nil, err
		}
		res, err := hc.Do(req)
		status, body = 0, nil
		if err == nil {
			status = res.StatusCode
			body, _ = io.ReadAll(io.LimitReader(res.Body, 2048))
			res.Body.Close()
			if !RetryableStatus(status) {
				return status, body, nil
			}
		}
		if attempt+1 >= attempts {
			return status, body, err
		}
		if err := Sleep(ctx, b.Delay(attempt)); err != nil {
			return status, body, err
		}
	}
}
