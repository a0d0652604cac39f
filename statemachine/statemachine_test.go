package statemachine_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/ferrydata/ferry/asl"
	"github.com/ferrydata/ferry/statemachine"
)

var local = statemachine.Values{
	ListTables: "list-tables", ExportChunk: "export-chunk", LoadChunk: "load-chunk", SwapTables: "swap-tables", RunJob: "run-job",
	Bucket: "ferry-local", CompanyConcurrency: 2, ChunkConcurrency: 8,
}

func TestKeysArePlaceholders(t *testing.T) {
	if got := statemachine.Placeholders(statemachine.Definition); !slices.Equal(got, statemachine.Keys) {
		t.Fatalf("ferry.asl.json placeholders %v, Keys %v", got, statemachine.Keys)
	}
	if len(local.Map()) != len(statemachine.Keys) {
		t.Fatalf("Values.Map has %d keys, want %d", len(local.Map()), len(statemachine.Keys))
	}
}

func TestFill(t *testing.T) {
	def, err := statemachine.Fill(local)
	if err != nil {
		t.Fatal(err)
	}
	if p := statemachine.Placeholders(def); len(p) != 0 {
		t.Fatalf("left %v", p)
	}
	if !json.Valid(def) {
		t.Fatal("filled definition is not JSON")
	}
	for _, want := range []string{`"FunctionName": "export-chunk"`, `"Bucket": "ferry-local"`, `States.StringToJson('8')`} {
		if !strings.Contains(string(def), want) {
			t.Errorf("filled definition lacks %s", want)
		}
	}
	if _, err := asl.Parse(def); err != nil {
		t.Fatalf("the engine refuses the filled definition: %v", err)
	}
}

func TestSubstituteRefuses(t *testing.T) {
	tests := []struct {
		name string
		edit func(m map[string]string)
		want string
	}{
		{"missing", func(m map[string]string) { delete(m, statemachine.ChunkBucket) }, "no value for ${ChunkBucket}"},
		{"unknown", func(m map[string]string) { m["ChunkBuckets"] = "x" }, "${ChunkBuckets} does not occur"},
		{"empty", func(m map[string]string) { m[statemachine.LoadChunkFunctionArn] = "" }, "empty value"},
		{"quote", func(m map[string]string) { m[statemachine.ChunkBucket] = `a"b` }, "quote"},
		{"concurrency", func(m map[string]string) { m[statemachine.ChunkConcurrency] = "-1" }, "not a non-negative integer"},
		{"concurrency text", func(m map[string]string) { m[statemachine.CompanyConcurrency] = "four" }, "not a non-negative integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := local.Map()
			tt.edit(m)
			_, err := statemachine.Substitute(statemachine.Definition, m)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
