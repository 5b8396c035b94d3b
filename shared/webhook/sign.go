package webhook

import (
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"sort"
)

// The signing side of the verifiers above, for whatever plays a provider:
// `pulsehub replay` and the local provider sandbox. The tests check each
// against its verifier.

// SignTwilio is X-Twilio-Signature for a form POST to fullURL:
// base64(HMAC-SHA1(auth token, URL + each parameter's name and value,
// sorted by name)). twilio-go only validates, so the signing lives here.
func SignTwilio(token, fullURL string, body []byte) (string, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return "", fmt.Errorf("a Twilio webhook body is form-encoded: %v", err)
	}
	names := make([]string, 0, len(form))
	for k := range form {
		names = append(names, k)
	}
	sort.Strings(names)
	m := hmac.New(sha1.New, []byte(token))
	io.WriteString(m, fullURL)
	for _, k := range names {
		// Twilio sends each parameter once; the receiver reads the first.
		io.WriteString(m, k+form[k][0])
	}
	return base64.StdEncoding.EncodeToString(m.Sum(nil)), nil
}

// SignSendGrid is X-Twilio-Email-Event-Webhook-Signature: base64 of the
// ASN.1 ECDSA signature over SHA-256(timestamp + body).
func SignSendGrid(key *ecdsa.PrivateKey, ts string, body []byte) (string, error) {
	h := sha256.New()
	io.WriteString(h, ts)
	h.Write(body)
	sig, err := ecdsa.SignASN1(rand.Reader, key, h.Sum(nil))
	if err != nil {
		return "", fmt.Errorf("sign the SendGrid event batch: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// SignMeta is X-Hub-Signature-256 of a Meta or WhatsApp Cloud callback:
// "sha256=" + hex(HMAC-SHA256(app secret, body)).
func SignMeta(appSecret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}
