package pgtest

import (
	"os"
	"strings"
	"testing"
)

// TestDocsListTheMatrix: docs/types.md's "PostgreSQL source" table is the
// matrix (DocRow per column), so the documented types and policy cannot
// drift from what the tests copy.
func TestDocsListTheMatrix(t *testing.T) {
	b, err := os.ReadFile("../../../docs/types.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, c := range Matrix() {
		if row := DocRow(c); !strings.Contains(doc, row+"\n") {
			t.Errorf("docs/types.md lacks the row of %s:\n%s", c.Name, row)
		}
	}
}
