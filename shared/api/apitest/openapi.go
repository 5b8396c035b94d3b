package apitest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// OpenAPIPath is the HTTP API's description, relative to the repository root.
const OpenAPIPath = "docs/api/openapi.yaml"

// Doc is the loaded OpenAPI document with a router over its operations.
type Doc struct {
	T      *openapi3.T
	router routers.Router
}

// Load reads the document once per test binary: it is immutable after
// loading, and every harness of a package shares it.
var load = sync.OnceValues(func() (*Doc, error) {
	// The webhooks answer Twilio with TwiML, serve the collector script and
	// the unsubscribe pages: bodies the checker compares as text.
	openapi3filter.RegisterBodyDecoder("text/xml", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("application/javascript", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(root, OpenAPIPath)
	doc, err := openapi3.NewLoader().LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", OpenAPIPath, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("%s is not a valid OpenAPI document: %w", OpenAPIPath, err)
	}
	// Match operations by method and path only: tests reach the API on
	// other hosts than the document's example server.
	doc.Servers = nil
	r, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", OpenAPIPath, err)
	}
	return &Doc{T: doc, router: r}, nil
})

// OpenAPI returns the loaded docs/api/openapi.yaml, failing t if it cannot
// be read or is not a valid OpenAPI document.
func OpenAPI(t testing.TB) *Doc {
	t.Helper()
	d, err := load()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// RepoRoot finds the repository root (the directory holding docs/api)
// upwards from the working directory, which go test sets to the package's.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, OpenAPIPath)); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no %s above the working directory", OpenAPIPath)
		}
		dir = parent
	}
}

// localOnly are the local runtime's own paths (docs/local-runtime.md):
// not part of the API that AWS serves, so not in the document.
var localOnly = []string{"/healthz", "/metrics", "/dev/", "/sandbox/", "/_aws/", "/ws"}

var (
	filterOptions = &openapi3filter.Options{
		MultiError:         true,
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, // the handlers check tokens; the tests check that
	}
	// For operations marked x-unparsed-body (webhooks passed on as signed).
	unparsedBodyOptions = &openapi3filter.Options{
		MultiError:         true,
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		ExcludeRequestBody: true,
	}
)

// Check validates one exchange: req (its body in reqBody) answered with
// status, header and body.
//
//   - The operation must be in the document, unless the server answered
//     404 or 405 (a test of an unknown route or method).
//   - A request the document refuses must be refused by the server too
//     (any 4xx); the server may refuse more (a taken workspace name). The
//     body of an operation marked x-unparsed-body is not checked: the
//     server accepts any correctly signed body.
//   - The response must match the operation's response for its status
//     (or its default): media type, headers and body schema.
func (d *Doc) Check(t testing.TB, req *http.Request, reqBody []byte, status int, header http.Header, body []byte) {
	t.Helper()
	if isLocalOnly(req.URL.Path) {
		return
	}
	op := req.Method + " " + req.URL.Path
	route, params, err := d.router.FindRoute(req)
	if err != nil {
		if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
			return
		}
		t.Errorf("%s answered %d, but %s has no such operation: add the path and method under paths, with an operationId, "+
			"the x-permission the route needs (if any), its parameters, request body and responses", op, status, OpenAPIPath)
		return
	}
	ctx := context.Background()
	r := req.Clone(ctx)
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	opts := filterOptions
	if unparsed, _ := route.Operation.Extensions["x-unparsed-body"].(bool); unparsed {
		opts = unparsedBodyOptions
	}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts}
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil && status < 400 {
		t.Errorf("%s (operation %s): %s refuses this request, but the server answered %d; make the document and the handler agree:\n%v\nrequest body: %s",
			op, route.Operation.OperationID, OpenAPIPath, status, err, clip(reqBody))
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header, Options: opts}
	out.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		t.Errorf("%s (operation %s) answered %d, which does not match %s; document the response or fix the handler:\n%v\nresponse body: %s",
			op, route.Operation.OperationID, status, OpenAPIPath, err, clip(body))
	}
}

func isLocalOnly(path string) bool {
	for _, p := range localOnly {
		if path == strings.TrimSuffix(p, "/") || strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

func clip(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}

// Transport returns a RoundTripper that sends through base
// (http.DefaultTransport when nil) and checks every exchange with Check.
func (d *Doc) Transport(t testing.TB, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return checking{t: t, d: d, base: base}
}

type checking struct {
	t    testing.TB
	d    *Doc
	base http.RoundTripper
}

func (c checking) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	res, err := c.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	c.d.Check(c.t, req, reqBody, res.StatusCode, res.Header, body)
	return res, nil
}
