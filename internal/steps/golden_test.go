package steps_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/steps"
)

// TestGoldenPayloads checks that every example payload in testdata decodes
// into its type with no unknown field, and that nothing a field holds is
// lost in a round trip. (go test -run TestEndToEnd/postgres -update
// rewrites the captured ones.)
func TestGoldenPayloads(t *testing.T) {
	types := map[string]any{
		"list-tables.json":           &steps.Request{},
		"list-tables.out.json":       &ferry.ListTablesOutput{},
		"companies.json":             &[]ferry.CompanyRun{},
		"manifest.json":              &[]ferry.ChunkTask{},
		"plan.json":                  &ferry.Manifest{},
		"export-chunk.json":          &ferry.ChunkTask{},
		"load-chunk.json":            &ferry.ExportChunkOutput{},
		"load-chunk.out.json":        &ferry.LoadChunkOutput{},
		"swap-tables.json":           &ferry.CompanyRun{},
		"swap-tables.out.json":       &ferry.SwapTablesOutput{},
		"finish-run.json":            &steps.Request{},
		"finish-run-failed.json":     &steps.Request{},
		"finish-run.out.json":        &ferry.FinishRunOutput{},
		"finish-run-failed.out.json": &ferry.FinishRunOutput{},
	}
	files, _ := filepath.Glob("testdata/*.json")
	if len(files) != len(types) {
		t.Errorf("testdata has %d files, %d expected", len(files), len(types))
	}
	for name, v := range types {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(v); err != nil {
				t.Fatalf("decode into %T: %v", v, err)
			}
			if reflect.ValueOf(v).Elem().IsZero() {
				t.Fatalf("%s decodes to a zero %T", name, v)
			}
			// Round trip: re-encoding keeps every value of the file.
			again, _ := json.Marshal(v)
			var a, b2 any
			json.Unmarshal(b, &a)
			json.Unmarshal(again, &b2)
			if !reflect.DeepEqual(a, b2) {
				t.Fatalf("round trip changes %s:\n%s\n%s", name, b, again)
			}
		})
	}
}
