package plan_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/plan"
)

// fakeSource answers from memory: every company's query has one integer
// column id; bounds per company id; errors per company id.
type fakeSource struct {
	cols   []ferry.Column
	bounds map[any]ferry.Bounds
	errs   map[any]error
}

func (f fakeSource) Engine() ferry.Engine { return ferry.EngineMySQL }

func (f fakeSource) Columns(ctx context.Context, q string, p map[string]ferry.Param) ([]ferry.Column, error) {
	return f.cols, nil
}

func (f fakeSource) Bounds(ctx context.Context, q string, p map[string]ferry.Param, col string) (ferry.Bounds, error) {
	if err := f.errs[p["company_id"]]; err != nil {
		return ferry.Bounds{}, err
	}
	return f.bounds[p["company_id"]], nil
}

func (f fakeSource) Boundaries(ctx context.Context, q string, p map[string]ferry.Param, col string, lo, hi, every int64) ([]int64, error) {
	return nil, nil
}

func (f fakeSource) Export(ctx context.Context, req ferry.ExportRequest, w io.Writer) (ferry.ExportStats, error) {
	return ferry.ExportStats{}, errors.New("not here")
}

var idCol = ferry.Column{Name: "id", Type: "bigint", Kind: ferry.KindInteger, Origin: ferry.OriginTable, Table: "t", Key: ferry.KeyPrimary}

func TestIsolate(t *testing.T) {
	companies := []ferry.Company{{ID: 42, Alias: "acme", Schema: "bi_acme"}, {ID: 43, Alias: "globex", Schema: "bi_globex"},
		{ID: 44, Alias: "initech", Schema: "bi_initech", Config: map[string]string{"days": "soon"}}}
	tables := []ferry.TableSpec{{Name: "t", Query: "SELECT id FROM t WHERE company_id = :company_id", Params: []string{"company_id"}, ChunkColumn: "id", ChunkRows: 10}}
	src := fakeSource{cols: []ferry.Column{idCol},
		bounds: map[any]ferry.Bounds{int64(42): {Rows: 3, Min: 1, Max: 3}},
		errs:   map[any]error{int64(43): &ferry.ConfigError{Msg: "2 rows have a NULL chunk column"}}}
	opt := plan.Options{RunID: "r", RunDate: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Isolate: true}
	p, err := plan.Build(context.Background(), src, companies, tables, opt)
	if err != nil {
		t.Fatalf("Build with Isolate: %v", err)
	}
	if len(p.Companies) != 1 || p.Companies[0].Company.ID != 42 || len(p.Companies[0].Tables[0].Chunks) != 1 {
		t.Fatalf("planned %+v, want company 42 alone with its chunk", p.Companies)
	}
	if len(p.Failed) != 2 || p.Failed[0].Company.ID != 43 || p.Failed[1].Company.ID != 44 {
		t.Fatalf("failed %+v, want 43 and 44", p.Failed)
	}
	if !strings.Contains(p.Failed[0].Err.Error(), "NULL chunk column") || !strings.Contains(p.Failed[1].Err.Error(), "days") {
		t.Errorf("failure errors: %v / %v", p.Failed[0].Err, p.Failed[1].Err)
	}
	// Without Isolate the same configuration fails as a whole.
	opt.Isolate = false
	if _, err := plan.Build(context.Background(), src, companies, tables, opt); err == nil {
		t.Error("Build without Isolate planned despite the problems")
	}
	// A transient error fails the whole plan even with Isolate.
	src.errs[int64(43)] = ferry.Retryable("bounds", errors.New("connection reset"))
	opt.Isolate = true
	if _, err := plan.Build(context.Background(), src, companies[:2], tables, opt); err == nil {
		t.Error("a transient error was isolated instead of retried")
	}
	// A table's own problem fails every company that copies it.
	bad := []ferry.TableSpec{{Name: "_ferry_x", Query: "SELECT id FROM t", ChunkColumn: "id", ChunkRows: 10}}
	p, err = plan.Build(context.Background(), src, companies[:1], bad, opt)
	if err != nil || len(p.Companies) != 0 || len(p.Failed) != 1 || !strings.Contains(p.Failed[0].Err.Error(), "reserved") {
		t.Errorf("a bad table: planned %+v, failed %+v, %v", p.Companies, p.Failed, err)
	}
}

func TestCheckChunkKey(t *testing.T) {
	for _, tc := range []struct {
		col    ferry.Column
		refuse string
		warn   int
	}{
		{idCol, "", 0},
		{ferry.Column{Name: "rn", Type: "bigint", Kind: ferry.KindInteger, Origin: ferry.OriginComputed}, "computed", 0},
		{ferry.Column{Name: "code", Type: "varchar(10)", Kind: ferry.KindVarchar, Origin: ferry.OriginTable, Key: ferry.KeyUnique}, "not an integer", 0},
		{ferry.Column{Name: "id", Type: "int"}, "", 0}, // origin unknown, kind from the type text
		{ferry.Column{Name: "n", Type: "int", Kind: ferry.KindInteger, Origin: ferry.OriginTable, Table: "q", Nullable: true}, "", 2},
	} {
		got := plan.CheckChunkKey(tc.col)
		if (tc.refuse == "") != (got == "") || !strings.Contains(got, tc.refuse) {
			t.Errorf("CheckChunkKey(%+v) = %q, want %q", tc.col, got, tc.refuse)
		}
		if w := plan.ChunkKeyWarnings(tc.col); len(w) != tc.warn {
			t.Errorf("ChunkKeyWarnings(%+v) = %q, want %d", tc.col, w, tc.warn)
		}
	}
}
