package gtm_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pulsehub/pulsehub/shared/gtm"
)

// FuzzEvaluate reads a live-version response as Check does and holds
// Evaluate to its contract: published exactly when some unpaused tag built
// from a PulseHub template (type cvt_<container>_<template>) has a firing
// trigger and, when a write key is asked for, carries it; that tag is the
// first such one; otherwise a reason is given.
func FuzzEvaluate(f *testing.F) {
	tpl, _ := json.Marshal(string(gtm.Template))
	f.Add(`{"containerId":"9","containerVersionId":"12","customTemplate":[{"templateId":"7","templateData":`+string(tpl)+`}],`+
		`"tag":[{"name":"GA4","type":"gaawe","firingTriggerId":["1"]},{"name":"PH","type":"cvt_9_7","firingTriggerId":["2"],`+
		`"parameter":[{"type":"template","key":"writeKey","value":"wk_live"}]}]}`, "wk_live")
	f.Add(`{"containerId":"9","customTemplate":[{"templateId":"7","templateData":"`+gtm.Marker+`"}],"tag":[{"name":"PH","type":"cvt_9_7","paused":true,"firingTriggerId":["2"]}]}`, "")
	f.Add(`{"containerId":"9","tag":[{"name":"PH","type":"cvt_9_7","firingTriggerId":["2"]}]}`, "wk")
	f.Fuzz(func(t *testing.T, body, writeKey string) {
		var v gtm.ContainerVersion
		if json.Unmarshal([]byte(body), &v) != nil {
			return
		}
		st := gtm.Evaluate(v, writeKey)
		want := ""
		found := false
		for _, tag := range v.Tag {
			if found || tag.Paused || len(tag.FiringTriggerID) == 0 || !strings.HasPrefix(tag.Type, "cvt_") {
				continue
			}
			built := false
			for _, tp := range v.CustomTemplate {
				if strings.Contains(tp.TemplateData, gtm.Marker) && strings.HasSuffix(tag.Type, "_"+tp.TemplateID) {
					built = true
				}
			}
			key := ""
			for _, p := range tag.Parameter {
				if p.Key == "writeKey" {
					key = p.Value
					break
				}
			}
			if built && (writeKey == "" || key == writeKey) {
				want, found = tag.Name, true
			}
		}
		if st.Published != found || st.TagName != want || st.VersionID != v.ContainerVersionID || (!st.Published && st.Reason == "") {
			t.Fatalf("Evaluate(%s, %q) = %+v; want published=%v tag %q", body, writeKey, st, found, want)
		}
	})
}
