package testenv

import (
	"bytes"
	"io"
	"net/http"
)

// Respond is an http.RoundTripper that gives every request the same
// answer, for driving a provider client with fuzzed or fixed responses
// through its real http.Client.
type Respond struct {
	Status int
	Body   []byte
}

// RoundTrip answers with r's status and body.
func (r Respond) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: r.Status, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(r.Body))}, nil
}
