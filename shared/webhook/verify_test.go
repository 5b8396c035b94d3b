package webhook

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

// The Shopify and Meta vectors were computed outside Go, with
// `openssl dgst -sha256 -hmac hush -binary body | base64` and
// `openssl dgst -sha256 -hmac demo-meta-secret body`.
const vectorBody = `{"id":820982911946154508,"email":"jon@example.com"}`

func TestVerifyShopify(t *testing.T) {
	body := []byte(vectorBody)
	const sig = "D0UMXmhjwBRi4y66TmhJrDlhQABD7zI2fm3p6/QLMo8="
	tests := []struct {
		name    string
		body    []byte
		sig     string
		secrets []string
		want    bool
	}{
		{"openssl vector", body, sig, []string{"hush"}, true},
		{"rotation: new secret first", body, sig, []string{"new-secret", "hush"}, true},
		{"rotation: old secret gone", body, sig, []string{"new-secret"}, false},
		{"wrong secret", body, sig, []string{"hush2"}, false},
		{"body changed by one byte", []byte(vectorBody + " "), sig, []string{"hush"}, false},
		{"no secret configured", body, sig, nil, false},
		{"empty secret is never a key", body, sig, []string{""}, false},
		{"not base64", body, "%%%", []string{"hush"}, false},
		{"truncated", body, sig[:20], []string{"hush"}, false},
		{"empty header", body, "", []string{"hush"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VerifyShopify(tt.body, tt.sig, tt.secrets); got != tt.want {
				t.Fatalf("VerifyShopify = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestVerifyMeta(t *testing.T) {
	body := []byte(vectorBody)
	const sig = "sha256=1872ee3266f9597125f17fd5e59364412c8f3fd3fa665938c00f7c0b92c871b2"
	tests := []struct {
		name, header string
		secrets      []string
		want         bool
	}{
		{"openssl vector", sig, []string{"demo-meta-secret"}, true},
		{"rotation", sig, []string{"other", "demo-meta-secret"}, true},
		{"wrong secret", sig, []string{"other"}, false},
		{"missing prefix", sig[len("sha256="):], []string{"demo-meta-secret"}, false},
		{"sha1 header", "sha1=" + sig[len("sha256="):], []string{"demo-meta-secret"}, false},
		{"not hex", "sha256=zz", []string{"demo-meta-secret"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VerifyMeta(body, tt.header, tt.secrets); got != tt.want {
				t.Fatalf("VerifyMeta = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMetaHandshake(t *testing.T) {
	q := func(mode, token, challenge string) map[string]string {
		return map[string]string{"hub.mode": mode, "hub.verify_token": token, "hub.challenge": challenge}
	}
	tests := []struct {
		name  string
		query map[string]string
		token string
		want  string
		ok    bool
	}{
		{"valid", q("subscribe", "demo-verify-token", "1158201444"), "demo-verify-token", "1158201444", true},
		{"wrong token", q("subscribe", "nope", "1158201444"), "demo-verify-token", "", false},
		{"wrong mode", q("unsubscribe", "demo-verify-token", "1"), "demo-verify-token", "", false},
		{"no challenge", q("subscribe", "demo-verify-token", ""), "demo-verify-token", "", false},
		{"no token configured", q("subscribe", "", "1"), "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := MetaHandshake(tt.query, tt.token)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("MetaHandshake = %q,%v want %q,%v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// Twilio's documented example (auth token 12345, the URL and parameters of
// the "Validating requests" guide as used by twilio-go's own tests).
func TestVerifyTwilio(t *testing.T) {
	const url = "https://mycompany.com/myapp.php?foo=1&bar=2"
	params := map[string]string{
		"Digits": "1234", "CallSid": "CA1234567890ABCDE", "To": "+18005551212",
		"Caller": "+14158675309", "From": "+14158675309",
		"ReasonConferenceEnded": "test", "Reason": "Participant",
	}
	const sig = "vOEb5UThFn24KEfnOFLQY2AE5FY="
	if !VerifyTwilio("12345", url, params, sig) {
		t.Fatal("documented vector rejected")
	}
	if VerifyTwilio("12346", url, params, sig) {
		t.Fatal("wrong token accepted")
	}
	if VerifyTwilio("12345", "https://mycompany.com/other.php?foo=1&bar=2", params, sig) {
		t.Fatal("other URL accepted")
	}
	changed := map[string]string{}
	for k, v := range params {
		changed[k] = v
	}
	changed["Digits"] = "9999"
	if VerifyTwilio("12345", url, changed, sig) {
		t.Fatal("changed parameter accepted")
	}
	if VerifyTwilio("", url, params, sig) {
		t.Fatal("empty token accepted")
	}
}

// SendGrid's published example (sendgrid-go helpers/eventwebhook tests and
// the "Event Webhook security" docs): key, signature, timestamp and payload.
const (
	sgPublicKey = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
	sgSignature = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM="
	sgTimestamp = "1600112502"
	sgPayload   = `[{"email":"hello@world.com","event":"dropped","reason":"Bounced Address","sg_event_id":"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA","sg_message_id":"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0","smtp-id":"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>","timestamp":1600112492}]` + "\r\n"
)

func TestVerifySendGrid(t *testing.T) {
	body := []byte(sgPayload)
	if !VerifySendGrid(sgPublicKey, body, sgSignature, sgTimestamp) {
		t.Fatal("SendGrid's example rejected")
	}
	tests := []struct {
		name, key, sig, ts string
		body               []byte
	}{
		{"other timestamp", sgPublicKey, sgSignature, "1600112503", body},
		{"changed body", sgPublicKey, sgSignature, sgTimestamp, append([]byte(" "), body...)},
		{"garbage signature", sgPublicKey, "bm90IGEgc2ln", sgTimestamp, body},
		{"bad key", "AAAA", sgSignature, sgTimestamp, body},
		{"empty key", "", sgSignature, sgTimestamp, body},
		{"non-ECDSA key does not panic", otherKeyB64, sgSignature, sgTimestamp, body},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if VerifySendGrid(tt.key, tt.body, tt.sig, tt.ts) {
				t.Fatal("accepted")
			}
		})
	}
}

// A non-ECDSA (Ed25519) public key, SubjectPublicKeyInfo base64, that
// sendgrid-go's helper would type-assert to ECDSA and panic on.
// Generated with `openssl genpkey -algorithm ed25519 | openssl pkey -pubout`.
const otherKeyB64 = "MCowBQYDK2VwAyEA9lIi0Lxf1hheN61NmphLMUNHOkPXdNHZ5b+VXepkoIY="

// signSendGrid signs like SendGrid does, for handler tests.
func signSendGrid(t testing.TB, key *ecdsa.PrivateKey, body []byte, ts string) string {
	t.Helper()
	h := sha256.Sum256(append([]byte(ts), body...))
	sig, err := ecdsa.SignASN1(rand.Reader, key, h[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func newSendGridKey(t testing.TB) (*ecdsa.PrivateKey, string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return k, base64.StdEncoding.EncodeToString(der)
}

func shopifySig(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func metaSig(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func FuzzVerifyShopify(f *testing.F) {
	f.Add([]byte(vectorBody), "D0UMXmhjwBRi4y66TmhJrDlhQABD7zI2fm3p6/QLMo8=")
	f.Add([]byte{}, "")
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		if VerifyShopify(body, sig, []string{"hush"}) {
			got, _ := base64.StdEncoding.DecodeString(trimSpace(sig))
			want, _ := base64.StdEncoding.DecodeString(shopifySig("hush", body))
			if !hmac.Equal(got, want) {
				t.Fatalf("accepted %q for body %q", sig, body)
			}
		}
		if !VerifyShopify(body, shopifySig("hush", body), []string{"x", "hush"}) {
			t.Fatal("own signature rejected")
		}
	})
}

func FuzzVerifyMeta(f *testing.F) {
	f.Add([]byte(vectorBody), "sha256=1872ee3266f9597125f17fd5e59364412c8f3fd3fa665938c00f7c0b92c871b2")
	f.Add([]byte("{}"), "sha256=")
	f.Fuzz(func(t *testing.T, body []byte, header string) {
		if VerifyMeta(body, header, []string{"demo-meta-secret"}) {
			want := metaSig("demo-meta-secret", body)
			if trimSpace(header) != want && !equalFoldHex(trimSpace(header), want) {
				t.Fatalf("accepted %q", header)
			}
		}
		if !VerifyMeta(body, metaSig("k", body), []string{"k"}) {
			t.Fatal("own signature rejected")
		}
	})
}

func FuzzVerifyTwilio(f *testing.F) {
	f.Add("https://mycompany.com/myapp.php?foo=1&bar=2", "Digits", "1234", "vOEb5UThFn24KEfnOFLQY2AE5FY=")
	f.Fuzz(func(t *testing.T, url, k, v, sig string) {
		params := map[string]string{k: v}
		_ = VerifyTwilio("12345", url, params, sig) // must not panic
		// twilio-go checks the URL with and without its default port; the
		// exact URL is always one of the two, and the token is always used.
		if !VerifyTwilio("12345", url, params, twilioSign("12345", url, params)) {
			t.Fatalf("own signature rejected for %q %v", url, params)
		}
		if VerifyTwilio("12345", url, params, twilioSign("54321", url, params)) {
			t.Fatalf("another token's signature accepted for %q %v", url, params)
		}
	})
}

func FuzzVerifySendGrid(f *testing.F) {
	f.Add(sgPublicKey, []byte(sgPayload), sgSignature, sgTimestamp)
	f.Add(otherKeyB64, []byte("[]"), "MEUCIQ==", "1")
	f.Add(sgPublicKey, []byte(sgPayload[2:]), sgSignature, sgTimestamp+sgPayload[:2])
	example, err := ParseSendGridKey(sgPublicKey)
	if err != nil {
		f.Fatal(err)
	}
	own, ownPub := newSendGridKey(f)
	f.Fuzz(func(t *testing.T, key string, body []byte, sig, ts string) {
		if VerifySendGrid(key, body, sig, ts) {
			// Only SendGrid's published example is signed by a key we do
			// not hold. The signature covers timestamp+body as one string,
			// so a different split of the same bytes verifies too (the
			// freshness check's digits-only timestamp limits that).
			k, err := ParseSendGridKey(key)
			if err != nil || !k.Equal(example) || ts+string(body) != sgTimestamp+sgPayload {
				t.Fatalf("accepted key=%q ts=%q body=%q", key, ts, body)
			}
		}
		if ts != "" && !VerifySendGrid(ownPub, body, signSendGrid(t, own, body, ts), ts) {
			t.Fatalf("own signature rejected for ts=%q body=%q", ts, body)
		}
	})
}

func FuzzParseSendGridKey(f *testing.F) {
	f.Add(sgPublicKey)
	f.Add(otherKeyB64)
	f.Add("AAAA")
	f.Add("-----BEGIN PUBLIC KEY-----\n" + sgPublicKey + "\n-----END PUBLIC KEY-----")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseSendGridKey(s) // must not panic, whatever the key type
		if err != nil {
			if k != nil {
				t.Fatal("key returned with an error")
			}
			return
		}
		// What parses is a usable ECDSA key that survives a round trip
		// through the settings' encoding.
		der, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			t.Fatalf("parsed %q into a key that does not encode: %v", s, err)
		}
		again, err := ParseSendGridKey(base64.StdEncoding.EncodeToString(der))
		if err != nil || !again.Equal(k) {
			t.Fatalf("round trip of %q: %v", s, err)
		}
	})
}

func TestCheckSendGridTimestamp(t *testing.T) {
	now := time.Unix(1740830400, 0)
	for _, tt := range []struct {
		ts string
		ok bool
	}{
		{"1740830400", true},
		{"1740740400", true},  // exactly SendGridMaxAge old
		{"1740740399", false}, // a second more
		{"1740830700", true},  // exactly SendGridMaxSkew ahead
		{"1740830701", false},
		{"0", false},
		{"999999999999999999", false}, // far future: a Duration would saturate
		{"1740830400000", false},      // milliseconds
		{"+1740830400", false},
		{" 1740830400", false},
		{"", false},
	} {
		at, err := CheckSendGridTimestamp(tt.ts, now)
		if (err == nil) != tt.ok {
			t.Errorf("%q: err %v, want ok=%v", tt.ts, err, tt.ok)
			continue
		}
		if err != nil && (apperr.KindOf(err) != apperr.Unauthorized || !strings.Contains(apperr.Message(err), TimestampHeaderSendGrid)) {
			t.Errorf("%q: error %v does not name the header as unauthorized", tt.ts, err)
		}
		if err == nil && strconv.FormatInt(at.Unix(), 10) != tt.ts {
			t.Errorf("%q read as %s", tt.ts, at)
		}
	}
}

func FuzzCheckSendGridTimestamp(f *testing.F) {
	f.Add("1740830401", int64(1740830400), int64(0))
	f.Add("1740829799", int64(1740830400), int64(-600))
	f.Add("999999999999999999", int64(1740830400), int64(300))
	f.Add("-1", int64(0), int64(-1))
	f.Fuzz(func(t *testing.T, ts string, nowSec, offset int64) {
		nowSec = max(0, min(nowSec, 1<<40)) // a clock somewhere before year 36000
		now := time.Unix(nowSec, 0)
		at, err := CheckSendGridTimestamp(ts, now)
		if err != nil {
			if apperr.KindOf(err) != apperr.Unauthorized || apperr.Message(err) == "" {
				t.Fatalf("%q: error %v", ts, err)
			}
		} else {
			sec, perr := strconv.ParseInt(ts, 10, 64)
			if perr != nil || strings.ContainsAny(ts, "+-") || !at.Equal(time.Unix(sec, 0)) {
				t.Fatalf("accepted %q as %s", ts, at)
			}
			if at.Before(now.Add(-SendGridMaxAge)) || at.After(now.Add(SendGridMaxSkew)) {
				t.Fatalf("accepted %q: %s is outside the window around %s", ts, at, now)
			}
		}
		// Any second inside the window is accepted, and read back exactly.
		window := int64((SendGridMaxAge + SendGridMaxSkew) / time.Second)
		in := nowSec - int64(SendGridMaxAge/time.Second) + ((offset%(window+1))+window+1)%(window+1)
		if in < 0 {
			return
		}
		got, err := CheckSendGridTimestamp(strconv.FormatInt(in, 10), now)
		if err != nil || got.Unix() != in {
			t.Fatalf("in-window %d (now %d) refused: %v", in, nowSec, err)
		}
	})
}

func FuzzMetaHandshake(f *testing.F) {
	f.Add("subscribe", "demo-verify-token", "1158201444", "demo-verify-token")
	f.Add("subscribe", "", "1", "")
	f.Add("unsubscribe", "t", "1", "t")
	f.Fuzz(func(t *testing.T, mode, token, challenge, want string) {
		q := map[string]string{"hub.mode": mode, "hub.verify_token": token, "hub.challenge": challenge}
		got, ok := MetaHandshake(q, want)
		shouldPass := want != "" && mode == "subscribe" && challenge != "" && token == want
		if ok != shouldPass || (ok && got != challenge) || (!ok && got != "") {
			t.Fatalf("MetaHandshake(mode=%q token=%q challenge=%q, want %q) = %q,%v", mode, token, challenge, want, got, ok)
		}
	})
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t' || s[0] == '\n' || s[0] == '\r' || s[0] == '\v' || s[0] == '\f') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t' || s[len(s)-1] == '\n' || s[len(s)-1] == '\r' || s[len(s)-1] == '\v' || s[len(s)-1] == '\f') {
		s = s[:len(s)-1]
	}
	return s
}

func equalFoldHex(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'F' {
			x += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// twilioSign signs like Twilio: HMAC-SHA1 over URL + sorted key/value pairs.
func twilioSign(token, url string, params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := url
	for _, k := range keys {
		s += k + params[k]
	}
	m := hmac.New(sha1.New, []byte(token))
	m.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
