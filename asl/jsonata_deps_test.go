package asl

import (
	"os/exec"
	"strings"
	"testing"
)

// The Lambda binaries (functions/*) never link the engine, and so never
// the JSONata library: it must not earn a place in them.
func TestLambdaBinariesLinkNoEngine(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../functions/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.Contains(pkg, "jsonata") || pkg == "github.com/ferrydata/ferry/asl" {
			t.Errorf("a Lambda binary links %s", pkg)
		}
	}
}
