package gtm

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
)

// Template is the PulseHub Collect custom tag template, ready to import in
// GTM (Templates → New → ⋮ → Import).
//
//go:embed pulsehub-collect.tpl
var Template []byte

// CollectorJS is the collector script the tag loads; serve it over HTTPS
// (see docs/gtm.md).
//
//go:embed pulsehub-collect.js
var CollectorJS []byte

// Marker appears in the template's description, so the API check can find
// the template among a container's custom templates by its templateData.
const Marker = "pulsehub-collect"

// Sections splits a .tpl file into its ___NAME___ sections.
func Sections(tpl []byte) (map[string]string, error) {
	out := map[string]string{}
	name := ""
	var body strings.Builder
	flush := func() {
		if name != "" {
			out[name] = strings.TrimSpace(body.String())
		}
		body.Reset()
	}
	for _, line := range strings.Split(string(tpl), "\n") {
		t := strings.TrimSpace(line)
		if len(t) > 6 && strings.HasPrefix(t, "___") && strings.HasSuffix(t, "___") && strings.ToUpper(t) == t {
			flush()
			name = strings.Trim(t, "_")
			if _, dup := out[name]; dup {
				return nil, fmt.Errorf("gtm: section %s appears twice", name)
			}
			continue
		}
		if name == "" && t != "" {
			return nil, fmt.Errorf("gtm: text before the first section: %q", t)
		}
		body.WriteString(line)
		body.WriteByte('\n')
	}
	flush()
	for _, s := range []string{"INFO", "TEMPLATE_PARAMETERS", "SANDBOXED_JS_FOR_WEB_TEMPLATE", "WEB_PERMISSIONS"} {
		if _, ok := out[s]; !ok {
			return nil, fmt.Errorf("gtm: section ___%s___ missing", s)
		}
	}
	for _, s := range []string{"INFO", "TEMPLATE_PARAMETERS", "WEB_PERMISSIONS"} {
		if !json.Valid([]byte(out[s])) {
			return nil, fmt.Errorf("gtm: section ___%s___ is not valid JSON", s)
		}
	}
	return out, nil
}
