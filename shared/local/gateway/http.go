package gateway

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// serveHTTPAPI is the HTTP API: match a route, build the payload 2.0 event,
// invoke the function, convert its response.
func (g *Gateway) serveHTTPAPI(w http.ResponseWriter, r *http.Request) {
	requestID := newID()
	w.Header().Set("Apigw-Requestid", requestID)
	rt, params, ok := matchRoute(g.routes, r.Method, r.URL.EscapedPath())
	if !ok {
		problem(w, http.StatusNotFound, fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, g.limits.MaxPayload))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			problem(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds the HTTP API limit of %d bytes", g.limits.MaxPayload))
			return
		}
		problem(w, http.StatusBadRequest, "could not read the request body: "+err.Error())
		return
	}
	ev := g.httpEvent(r, rt, params, body, requestID, g.now())
	payload, err := json.Marshal(httpEventJSON{ev, httpContextJSON{APIGatewayV2HTTPRequestContext: ev.RequestContext}})
	if err != nil {
		g.log.Error("gateway: encode HTTP event", "route", rt.key, "err", err)
		awsMessage(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	out, err := g.invoke(r.Context(), rt.function, payload)
	switch {
	case errors.Is(err, errIntegrationTimeout):
		g.log.Warn("gateway: integration timeout", "route", rt.key, "function", rt.function, "requestId", requestID)
		awsMessage(w, http.StatusServiceUnavailable, "Service Unavailable")
		return
	case err != nil:
		g.log.Error("gateway: function error", "route", rt.key, "function", rt.function, "requestId", requestID, "err", err)
		awsMessage(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	resp, err := convertResponse(out)
	if err != nil {
		g.log.Error("gateway: malformed function response", "route", rt.key, "function", rt.function, "err", err)
		awsMessage(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	writeResponse(w, resp)
}

// httpEvent builds the HTTP API payload format 2.0 event for r.
func (g *Gateway) httpEvent(r *http.Request, rt route, params map[string]string, body []byte, requestID string, now time.Time) events.APIGatewayV2HTTPRequest {
	headers := map[string]string{}
	var cookies []string
	for k, vs := range r.Header {
		lk := strings.ToLower(k)
		if lk == "cookie" {
			// Payload 2.0 moves cookies out of the headers into their own field.
			for _, v := range vs {
				for c := range strings.SplitSeq(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		headers[lk] = strings.Join(vs, ",")
	}
	headers["host"] = r.Host
	ip := sourceIP(r)
	if prev := headers["x-forwarded-for"]; prev != "" {
		headers["x-forwarded-for"] = prev + ", " + ip
	} else {
		headers["x-forwarded-for"] = ip
	}
	headers["x-forwarded-proto"] = "http"
	if r.TLS != nil {
		headers["x-forwarded-proto"] = "https"
	}
	if _, port, err := net.SplitHostPort(r.Host); err == nil {
		headers["x-forwarded-port"] = port
	} else {
		headers["x-forwarded-port"] = "80"
	}
	headers["x-amzn-trace-id"] = traceID(now)

	var query map[string]string
	if r.URL.RawQuery != "" {
		values, _ := url.ParseQuery(r.URL.RawQuery) // API Gateway keeps what parses
		query = make(map[string]string, len(values))
		for k, vs := range values {
			query[k] = strings.Join(vs, ",")
		}
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              rt.key,
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     rt.key,
			AccountID:    accountID,
			Stage:        "$default",
			RequestID:    requestID,
			APIID:        httpAPIID,
			DomainName:   r.Host,
			DomainPrefix: domainPrefix(r.Host),
			Time:         now.UTC().Format(clfTime),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  ip,
				UserAgent: r.UserAgent(),
			},
		},
	}
	if len(body) > 0 {
		if isText(r.Header.Get("Content-Type")) && utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}

// httpEventJSON encodes an event as API Gateway sends it: the library type
// always writes requestContext.authentication, which AWS sends only for
// mutual TLS; the shallower field shadows it.
type httpEventJSON struct {
	events.APIGatewayV2HTTPRequest
	RequestContext httpContextJSON `json:"requestContext"`
}

type httpContextJSON struct {
	events.APIGatewayV2HTTPRequestContext
	Authentication *struct{} `json:"authentication,omitempty"`
}

// isText reports whether a content type is passed to the function as text;
// anything else is binary and arrives base64-encoded, as with HTTP APIs.
func isText(contentType string) bool {
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return true
	}
	switch mt {
	case "application/json", "application/xml", "application/javascript",
		"application/x-www-form-urlencoded", "application/graphql", "application/x-ndjson":
		return true
	}
	return false
}

// domainPrefix is the first label of the host, as API Gateway reports it.
func domainPrefix(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if i := strings.IndexByte(host, '.'); i > 0 && net.ParseIP(host) == nil {
		return host[:i]
	}
	return host
}

// traceID is an X-Ray trace header like the one API Gateway adds.
func traceID(now time.Time) string {
	id := newID()
	return fmt.Sprintf("Root=1-%08x-%x", now.Unix(), []byte(id)[:12])
}

// convertResponse interprets a function's output with payload 2.0 rules: a
// JSON object with a statusCode is a structured response; any other valid
// JSON is a 200 application/json response whose body is the output (a JSON
// string is unwrapped).
func convertResponse(out []byte) (events.APIGatewayV2HTTPResponse, error) {
	out = bytes.TrimSpace(out)
	if !json.Valid(out) {
		return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("function output is not JSON (%d bytes)", len(out))
	}
	simple := events.APIGatewayV2HTTPResponse{
		StatusCode: http.StatusOK,
		Headers:    map[string]string{"content-type": "application/json"},
		Body:       string(out),
	}
	switch out[0] {
	case '"':
		var s string
		if err := json.Unmarshal(out, &s); err != nil {
			return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("function output string: %w", err)
		}
		simple.Body = s
		return simple, nil
	case '{':
	default:
		return simple, nil
	}
	// One decode on the common path; the statusCode pointer tells a
	// structured response from a simple one.
	var shaped struct {
		events.APIGatewayV2HTTPResponse
		StatusCode *int `json:"statusCode"`
	}
	if err := json.Unmarshal(out, &shaped); err != nil {
		var probe map[string]json.RawMessage
		if perr := json.Unmarshal(out, &probe); perr != nil {
			return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("function output object: %w", perr)
		}
		if _, ok := probe["statusCode"]; ok {
			return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("function response: %w", err)
		}
		return simple, nil // an object that is not a response: API Gateway passes it through
	}
	if shaped.StatusCode == nil {
		return simple, nil
	}
	resp := shaped.APIGatewayV2HTTPResponse
	resp.StatusCode = *shaped.StatusCode
	if resp.StatusCode < 100 || resp.StatusCode > 599 {
		return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("function response: statusCode %d out of range", resp.StatusCode)
	}
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("function response: isBase64Encoded body: %w", err)
		}
		resp.Body = string(b)
		resp.IsBase64Encoded = false
	}
	return resp, nil
}

// writeResponse writes a converted (already decoded) response.
func writeResponse(w http.ResponseWriter, resp events.APIGatewayV2HTTPResponse) {
	h := w.Header()
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.WriteString(w, resp.Body)
}
