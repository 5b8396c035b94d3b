package web

import (
	"io/fs"
	"strings"
	"testing"
)

func TestConsoleFilesEmbedded(t *testing.T) {
	for _, name := range []string{"index.html", "app.js", "style.css"} {
		b, err := fs.ReadFile(Files(), name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(b) == 0 {
			t.Errorf("%s is empty", name)
		}
	}
	idx, _ := fs.ReadFile(Files(), "index.html")
	for _, ref := range []string{"app.js", "style.css"} {
		if !strings.Contains(string(idx), ref) {
			t.Errorf("index.html does not load %s", ref)
		}
	}
}
