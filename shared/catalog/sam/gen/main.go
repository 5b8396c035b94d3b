// Command gen writes the SAM template generated from the catalog.
//
//	go run ./shared/catalog/sam/gen -o template.yaml
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/catalog/sam"
)

func main() {
	out := flag.String("o", "template.yaml", "file to write")
	flag.Parse()
	b, err := sam.Generate(catalog.System())
	if err == nil {
		err = os.WriteFile(*out, b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sam gen:", err)
		os.Exit(1)
	}
}
