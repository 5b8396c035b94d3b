package gtm_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/gtm"
	"github.com/pulsehub/pulsehub/shared/local/sandbox"
)

func TestTemplateIsAWellFormedTagTemplate(t *testing.T) {
	s, err := gtm.Sections(gtm.Template)
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Type              string   `json:"type"`
		Description       string   `json:"description"`
		ContainerContexts []string `json:"containerContexts"`
	}
	if err := json.Unmarshal([]byte(s["INFO"]), &info); err != nil {
		t.Fatal(err)
	}
	if info.Type != "TAG" || !strings.Contains(info.Description, gtm.Marker) || len(info.ContainerContexts) != 1 || info.ContainerContexts[0] != "WEB" {
		t.Fatalf("INFO = %+v", info)
	}
	var params []struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal([]byte(s["TEMPLATE_PARAMETERS"]), &params); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, p := range params {
		names[p.Name] = true
	}
	js := s["SANDBOXED_JS_FOR_WEB_TEMPLATE"]
	for _, want := range []string{"endpoint", "writeKey", "scriptUrl"} {
		if !names[want] || !strings.Contains(js, "data."+want) {
			t.Errorf("parameter %s missing or unused", want)
		}
	}
	// Every API the code requires needs its permission.
	perms := s["WEB_PERMISSIONS"]
	for api, perm := range map[string]string{"copyFromDataLayer": "read_data_layer", "createQueue": "access_globals", "injectScript": "inject_script",
		"getCookieValues": "get_cookies", "setCookie": "set_cookies", "getUrl": "get_url", "getReferrerUrl": "get_referrer"} {
		if strings.Contains(js, "require('"+api+"')") && !strings.Contains(perms, `"publicId": "`+perm+`"`) {
			t.Errorf("%s is required but permission %s is not declared", api, perm)
		}
	}
	if !strings.Contains(js, "gtmOnSuccess") || !strings.Contains(js, "gtmOnFailure") {
		t.Error("the tag must signal success and failure to GTM")
	}
	if !strings.Contains(string(gtm.CollectorJS), "X-PulseHub-Key") || !strings.Contains(string(gtm.CollectorJS), "_pulsehubq") {
		t.Error("collector script does not post the queue with the write key")
	}
}

func TestSectionsRejectsBrokenFiles(t *testing.T) {
	for name, tpl := range map[string]string{
		"no sections":  "hello",
		"missing js":   "___INFO___\n{}\n___TEMPLATE_PARAMETERS___\n[]\n___WEB_PERMISSIONS___\n[]\n",
		"invalid json": "___INFO___\n{\n___TEMPLATE_PARAMETERS___\n[]\n___SANDBOXED_JS_FOR_WEB_TEMPLATE___\nx\n___WEB_PERMISSIONS___\n[]\n",
	} {
		if _, err := gtm.Sections([]byte(tpl)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestCheckAgainstTagManagerSandbox(t *testing.T) {
	tm := sandbox.NewTagManager()
	srv := httptest.NewServer(tm.Handler(sandbox.Env{}))
	defer srv.Close()
	c := gtm.NewChecker(nil, srv.URL)
	ctx := context.Background()

	st, err := c.Check(ctx, "tok", "100", "200", "wk")
	if err != nil || st.Published || !strings.Contains(st.Reason, "no published version") {
		t.Fatalf("nothing published: %+v, %v", st, err)
	}
	tm.PublishPulseHubTag("100", "200", "wk", "https://api.example/collect")
	if st, err = c.Check(ctx, "tok", "100", "200", "wk"); err != nil || !st.Published || st.VersionID != "1" {
		t.Fatalf("published: %+v, %v", st, err)
	}
	if st, _ = c.Check(ctx, "tok", "100", "200", "other-key"); st.Published || !strings.Contains(st.Reason, "write key") {
		t.Fatalf("wrong write key: %+v", st)
	}
	if _, err = c.Check(ctx, "", "100", "200", ""); apperr.KindOf(err) != apperr.Unauthorized {
		t.Fatalf("no token: %v", err)
	}
	if _, err = c.Check(ctx, "tok", "", "200", ""); apperr.KindOf(err) != apperr.Invalid {
		t.Fatalf("no account: %v", err)
	}
}

func TestEvaluateExplainsWhatIsMissing(t *testing.T) {
	tpl := []gtm.CustomTemplate{{TemplateID: "7", TemplateData: string(gtm.Template)}}
	tag := gtm.Tag{Name: "PH", Type: "cvt_9_7", FiringTriggerID: []string{"1"}}
	paused := tag
	paused.Paused = true
	noTrigger := tag
	noTrigger.FiringTriggerID = nil
	tests := []struct {
		name string
		v    gtm.ContainerVersion
		want string
	}{
		{"no template", gtm.ContainerVersion{ContainerID: "9"}, "no PulseHub Collect template"},
		{"no tag", gtm.ContainerVersion{ContainerID: "9", CustomTemplate: tpl, Tag: []gtm.Tag{{Name: "GA4", Type: "gaawe"}}}, "no tag using it"},
		{"paused", gtm.ContainerVersion{ContainerID: "9", CustomTemplate: tpl, Tag: []gtm.Tag{paused}}, "paused"},
		{"no trigger", gtm.ContainerVersion{ContainerID: "9", CustomTemplate: tpl, Tag: []gtm.Tag{noTrigger}}, "no firing trigger"},
		{"ok", gtm.ContainerVersion{ContainerID: "9", CustomTemplate: tpl, Tag: []gtm.Tag{tag}}, ""},
	}
	for _, tt := range tests {
		st := gtm.Evaluate(tt.v, "")
		if st.Published != (tt.want == "") || !strings.Contains(st.Reason, tt.want) {
			t.Errorf("%s: %+v", tt.name, st)
		}
	}
}

func FuzzSections(f *testing.F) {
	f.Add(string(gtm.Template))
	f.Fuzz(func(t *testing.T, tpl string) {
		s, err := gtm.Sections([]byte(tpl))
		if err == nil && !json.Valid([]byte(s["INFO"])) {
			t.Fatal("accepted a template with invalid INFO")
		}
	})
}
