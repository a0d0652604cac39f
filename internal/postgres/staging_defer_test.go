package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/testdb"
)

// TestIndexesAfterTheLoad: staging keeps only an index on the chunk column
// during the load; the primary key and the other indexes are built by
// BuildDeferred (called by Swap). A unique index that meets duplicate keys
// is a DataError naming the table and index, live untouched; once the rows
// are fixed, a retried build builds only what is missing, and a third call
// builds nothing.
func TestIndexesAfterTheLoad(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.exec(`CREATE TABLE bi_acme.orders (id bigint PRIMARY KEY, n bigint NOT NULL, code text, v int);
		CREATE UNIQUE INDEX orders_code_key ON bi_acme.orders (code); CREATE INDEX orders_v_idx ON bi_acme.orders (v);
		INSERT INTO bi_acme.orders VALUES (1, 1, 'live', 1)`)
	cols := []ferry.Column{{Name: "id", Type: "bigint"}, {Name: "n", Type: "bigint"}, {Name: "code", Type: "text", Nullable: true}, {Name: "v", Type: "int", Nullable: true}}
	stg := ferry.StagingName("orders")
	testdb.Must(t, "prepare", e.tg.PrepareStaging(ctx, testSchema, "orders", stg, cols, "n"))
	indexes := func() string {
		return fmt.Sprint(e.strings(`SELECT regexp_replace(pg_get_indexdef(indexrelid), '^.* USING ', '') || CASE WHEN indisprimary THEN ' primary' ELSE '' END
			FROM pg_index WHERE indrelid = $1::regclass ORDER BY 1`, qualified(testSchema, stg)))
	}
	if got := indexes(); got != "[btree (n)]" {
		t.Fatalf("staging indexes during the load %s, want only the chunk column's", got)
	}
	e.exec(`INSERT INTO bi_acme.` + stg + ` VALUES (1, 1, 'a', 1), (2, 2, 'a', 2)`)
	req := ferry.SwapRequest{RunID: "run-1", Schema: testSchema, Tables: []ferry.SwapTable{{Table: "orders", Staging: stg, Expected: 2}}}
	_, err := e.tg.Swap(ctx, req)
	var de *ferry.DataError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "(code)") || !strings.Contains(err.Error(), "orders") {
		t.Fatalf("swap with duplicate keys: %v, want a DataError naming the index on code", err)
	}
	if n := e.int(`SELECT count(*) FROM bi_acme.orders WHERE code = 'live'`); n != 1 {
		t.Fatalf("live changed after a failed build")
	}
	e.exec(`UPDATE bi_acme.` + stg + ` SET code = 'b' WHERE id = 2`)
	testdb.Must(t, "retried build", e.tg.BuildDeferred(ctx, req))
	testdb.Must(t, "third build", e.tg.BuildDeferred(ctx, req))
	if got := indexes(); got != "[btree (code) btree (id) primary btree (n) btree (v)]" {
		t.Errorf("staging indexes after the build %s", got)
	}
	if n := e.int(`SELECT count(*) FROM pg_description WHERE objoid = $1::regclass`, qualified(testSchema, stg)); n != 0 {
		t.Errorf("the record of deferred indexes is still on staging")
	}
	if _, err := e.tg.Swap(ctx, req); err != nil {
		t.Fatalf("swap: %v", err)
	}
}
