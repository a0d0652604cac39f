package maprun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ferrydata/ferry/internal/localstore"
)

func put(t *testing.T, st *localstore.Store, key, body string) {
	t.Helper()
	w, err := st.Create(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(body)); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}

// TestRead reads a manifest as AWS writes it (a real Map Run's manifest's
// shape): every status, a split SUCCEEDED, JSON arrays and JSON Lines.
func TestRead(t *testing.T) {
	st, err := localstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rec := func(name, status, out string) string {
		b, _ := json.Marshal(Record{ExecutionArn: "arn:aws:states:eu-west-1:1:execution:ferry/ForEachCompany:" + name, Name: name, Status: status, Input: `{"company":{}}`, Output: out})
		return string(b)
	}
	put(t, st, "map-results/r1/manifest.json", `{"DestinationBucket": "b", "MapRunArn": "arn:aws:states:eu-west-1:1:mapRun:ferry/ForEachCompany:r1",
	  "ResultFiles": {"FAILED": [{"Key": "map-results/r1/FAILED_0.json", "Size": 10}], "PENDING": [{"Key": "map-results/r1/PENDING_0.json", "Size": 2}],
	  "SUCCEEDED": [{"Key": "map-results/r1/SUCCEEDED_0.json", "Size": 10}, {"Key": "map-results/r1/SUCCEEDED_1.json", "Size": 10}]}}`)
	put(t, st, "map-results/r1/SUCCEEDED_0.json", "[\n "+rec("a", "SUCCEEDED", `{"rows":1}`)+",\n "+rec("b", "SUCCEEDED", `{"rows":2}`)+"\n]")
	put(t, st, "map-results/r1/SUCCEEDED_1.json", rec("c", "SUCCEEDED", `{"rows":3}`)+"\n"+rec("d", "SUCCEEDED", `{"rows":4}`)+"\n")
	put(t, st, "map-results/r1/FAILED_0.json", `[{"Name": "e", "Status": "FAILED", "Error": "States.DataLimitExceeded", "Cause": "too big", "Input": "{}"}]`)
	put(t, st, "map-results/r1/PENDING_0.json", `[{"Name": "f", "Input": "{}"}]`)

	var got []string
	if err := Read(context.Background(), st, "map-results/r1/manifest.json", func(status string, r Record) error {
		got = append(got, fmt.Sprintf("%s %s %s %s%s", status, r.Name, r.Status, r.Output, r.Error))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`SUCCEEDED a SUCCEEDED {"rows":1}`, `SUCCEEDED b SUCCEEDED {"rows":2}`, `SUCCEEDED c SUCCEEDED {"rows":3}`, `SUCCEEDED d SUCCEEDED {"rows":4}`,
		`FAILED e FAILED States.DataLimitExceeded`, `PENDING f PENDING `,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// fn's error stops the read; a missing file and a missing manifest are named.
	stop := errors.New("stop")
	if err := Read(context.Background(), st, "map-results/r1/manifest.json", func(string, Record) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("fn error: %v", err)
	}
	if err := Read(context.Background(), st, "map-results/none/manifest.json", func(string, Record) error { return nil }); err == nil || !strings.Contains(err.Error(), "map-results/none/manifest.json") {
		t.Fatalf("missing manifest: %v", err)
	}
	put(t, st, "map-results/r2/manifest.json", `{"ResultFiles": {"SUCCEEDED": [{"Key": "map-results/r2/SUCCEEDED_0.json"}]}}`)
	if err := Read(context.Background(), st, "map-results/r2/manifest.json", func(string, Record) error { return nil }); err == nil || !strings.Contains(err.Error(), "SUCCEEDED_0.json") {
		t.Fatalf("missing result file: %v", err)
	}
}

// TestCompanyOutcomes: succeeded children give their outcome; a child that
// failed uncaught, or never started, is its company's failure.
func TestCompanyOutcomes(t *testing.T) {
	st, err := localstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	put(t, st, "m/manifest.json", `{"ResultFiles": {"SUCCEEDED": [{"Key": "m/S.json"}], "FAILED": [{"Key": "m/F.json"}], "PENDING": [{"Key": "m/P.json"}]}}`)
	put(t, st, "m/S.json", `[{"Status": "SUCCEEDED", "Output": "{\"company_id\":1,\"alias\":\"a\",\"failed\":false,\"rows\":5}"},
	  {"Status": "SUCCEEDED", "Output": "{\"company_id\":2,\"alias\":\"b\",\"failed\":true,\"error\":\"DataError\",\"cause\":\"chunk 3\"}"}]`)
	put(t, st, "m/F.json", `[{"Status": "TIMED_OUT", "Input": "{\"company\":{\"company_id\":3,\"alias\":\"c\"},\"chunk_concurrency\":2}"},
	  {"Status": "FAILED", "Error": "States.DataLimitExceeded", "Cause": "big", "Input": "{\"company\":{\"company_id\":4,\"alias\":\"d\"}}"}]`)
	put(t, st, "m/P.json", `[{"Input": "{\"company\":{\"company_id\":5,\"alias\":\"e\"}}"}]`)
	got, err := CompanyOutcomes(context.Background(), st, "m/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	want := `[{"company_id":1,"alias":"a","failed":false,"rows":5},{"company_id":2,"alias":"b","failed":true,"error":"DataError","cause":"chunk 3"},` +
		`{"company_id":3,"alias":"c","failed":true,"error":"States.TIMED_OUT"},{"company_id":4,"alias":"d","failed":true,"error":"States.DataLimitExceeded","cause":"big"},` +
		`{"company_id":5,"alias":"e","failed":true,"error":"Ferry.NotStarted","cause":"the run's company map ended before this company's execution started (fix: start a new run for it)"}]`
	if string(b) != want {
		t.Fatalf("outcomes\n%s\nwant\n%s", b, want)
	}
	put(t, st, "m2/manifest.json", `{"ResultFiles": {"SUCCEEDED": [{"Key": "m2/S.json"}]}}`)
	put(t, st, "m2/S.json", `[{"Name": "x", "Status": "SUCCEEDED", "Output": "[]"}]`)
	if _, err := CompanyOutcomes(context.Background(), st, "m2/manifest.json"); err == nil || !strings.Contains(err.Error(), "child x") {
		t.Fatalf("bad output: %v", err)
	}
}
