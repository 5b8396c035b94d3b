package webhook

import (
	"net/url"
	"strconv"
	"testing"
	"time"
)

func TestSignersVerify(t *testing.T) {
	form := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}, "To": {"+15550001"}}
	u := "https://api.example.com/webhooks/twilio/t1"
	sig, err := SignTwilio("token123", u, []byte(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	params := map[string]string{}
	for k, v := range form {
		params[k] = v[0]
	}
	if !VerifyTwilio("token123", u, params, sig) || sig != twilioSign("token123", u, params) {
		t.Fatalf("SignTwilio %q does not verify", sig)
	}
	if VerifyTwilio("other", u, params, sig) {
		t.Fatal("verified with another token")
	}
	if _, err := SignTwilio("t", u, []byte("%zz")); err == nil {
		t.Fatal("signed a body that is not a form")
	}

	key, pub := newSendGridKey(t)
	body := []byte(`[{"email":"a@example.com","event":"delivered"}]`)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	sgSig, err := SignSendGrid(key, ts, body)
	if err != nil {
		t.Fatal(err)
	}
	if !VerifySendGrid(pub, body, sgSig, ts) || VerifySendGrid(pub, append(body, ' '), sgSig, ts) {
		t.Fatal("SignSendGrid does not verify exactly")
	}

	metaSig := SignMeta("app-secret", body)
	if !VerifyMeta(body, metaSig, []string{"app-secret"}) || VerifyMeta(body, metaSig, []string{"other"}) {
		t.Fatal("SignMeta does not verify exactly")
	}
}
