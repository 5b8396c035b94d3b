package local

import (
	"slices"
	"testing"

	"github.com/pulsehub/pulsehub/shared/catalog"
)

// TestFunctionsMatchCatalog: every deployable function has a constructor,
// and every constructor belongs to a deployable function.
func TestFunctionsMatchCatalog(t *testing.T) {
	fns := Functions()
	var deployable []string
	for _, f := range catalog.System().Deployable() {
		deployable = append(deployable, f.Name)
		if fns[f.Name] == nil {
			t.Errorf("catalog function %q has no constructor in shared/local/functions.go", f.Name)
		}
	}
	for name := range fns {
		if !slices.Contains(deployable, name) {
			t.Errorf("shared/local/functions.go lists %q, which is not a deployable catalog function", name)
		}
	}
}
