package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/testdb"
)

// TestIndexesAfterTheLoad: staging has no index during the load; the
// primary key and the other indexes are built by BuildDeferred (called by
// Swap), side by side, and the primary key is attached to its index. A
// unique index that meets duplicate keys is a DataError naming the table
// and index, live untouched; once the rows are fixed, a retried build
// builds only what is missing, and a third call builds nothing.
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
	if got := indexes(); got != "[]" {
		t.Fatalf("staging indexes during the load %s, want none", got)
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
	if got := indexes(); got != "[btree (code) btree (id) primary btree (v)]" {
		t.Errorf("staging indexes after the build %s", got)
	}
	if n := e.int(`SELECT count(*) FROM pg_description WHERE objoid = $1::regclass`, qualified(testSchema, stg)); n != 0 {
		t.Errorf("the record of deferred indexes is still on staging")
	}
	if _, err := e.tg.Swap(ctx, req); err != nil {
		t.Fatalf("swap: %v", err)
	}
}

// TestDeferredBuildResumes: a swap killed between building a primary key's
// index and attaching the constraint resumes with the index it left (no
// second build); a record written before IndexDef existed (constraints
// rebuilt by their ALTER TABLE) still builds.
func TestDeferredBuildResumes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cols := []ferry.Column{{Name: "id", Type: "bigint"}, {Name: "code", Type: "text", Nullable: true}}
	for _, c := range []struct {
		name   string
		before func(stg string)
	}{
		{"index built, not attached", func(stg string) {
			rec := e.strings(`SELECT obj_description($1::regclass, 'pg_class')`, qualified(testSchema, stg))[0]
			var deferred []deferredIndex
			testdb.Must(t, "record", json.Unmarshal([]byte(strings.TrimPrefix(rec, deferMark)), &deferred))
			for _, d := range deferred {
				if d.Kind == "p" {
					e.exec(d.IndexDef)
				}
			}
		}},
		{"record of an earlier release", func(stg string) {
			rel := qualified(testSchema, stg)
			old := `[{"name":"` + stg + `_pkey","constraint":true,"def":"ALTER TABLE ` + strings.ReplaceAll(rel, `"`, `\"`) + ` ADD CONSTRAINT ` + stg + `_pkey PRIMARY KEY (id)"},` +
				`{"name":"` + stg + `_code_key","constraint":true,"def":"ALTER TABLE ` + strings.ReplaceAll(rel, `"`, `\"`) + ` ADD CONSTRAINT ` + stg + `_code_key UNIQUE (code)"}]`
			e.exec(`COMMENT ON TABLE ` + rel + ` IS ` + quoteLiteral(deferMark+old))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			table := "r" + strings.ReplaceAll(c.name[:5], " ", "")
			e.exec(`CREATE TABLE bi_acme.` + table + ` (id bigint PRIMARY KEY, code text UNIQUE)`)
			stg := ferry.StagingName(table)
			testdb.Must(t, "prepare", e.tg.PrepareStaging(ctx, testSchema, table, stg, cols, "id"))
			e.exec(`INSERT INTO bi_acme.` + quoteIdent(stg) + ` VALUES (1, 'a'), (2, 'b')`)
			c.before(stg)
			req := ferry.SwapRequest{RunID: "run-1", Schema: testSchema, Tables: []ferry.SwapTable{{Table: table, Staging: stg, Expected: 2}}}
			testdb.Must(t, "build", e.tg.BuildDeferred(ctx, req))
			got := e.strings(`SELECT contype::text || ':' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = $1::regclass ORDER BY 1`, qualified(testSchema, stg))
			if strings.Join(got, ";") != "p:PRIMARY KEY (id);u:UNIQUE (code)" {
				t.Errorf("staging constraints after the build %v", got)
			}
			if n := e.int(`SELECT count(*) FROM pg_index WHERE indrelid = $1::regclass`, qualified(testSchema, stg)); n != 2 {
				t.Errorf("staging has %d indexes, want 2", n)
			}
			if n := e.int(`SELECT count(*) FROM pg_description WHERE objoid = $1::regclass`, qualified(testSchema, stg)); n != 0 {
				t.Errorf("the record of deferred indexes is still on staging")
			}
		})
	}
}
