package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/testdb"
)

// TestSchemaChangesAndEvolvedStaging: SchemaChanges names each changed,
// added and dropped column in PostgreSQL's spelling and changes nothing;
// PrepareStaging then shapes staging after the query, keeping the live
// primary key and the plain index on a remaining column and leaving out
// the index on the dropped one. A live table with a column type Ferry
// cannot derive (made by hand for it) is copied LIKE it is.
func TestSchemaChangesAndEvolvedStaging(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.exec(`CREATE TABLE bi_acme.orders (id bigint PRIMARY KEY, total numeric(10,2) NOT NULL, gone text, at timestamp(0) without time zone);
		CREATE INDEX ON bi_acme.orders (total); CREATE INDEX ON bi_acme.orders (gone)`)
	cols := []ferry.Column{{Name: "id", Type: "bigint"}, {Name: "total", Type: "decimal(12,4)"},
		{Name: "at", Type: "datetime(6)", Nullable: true}, {Name: "note", Type: "varchar(40)", Nullable: true}}
	changes, err := e.tg.SchemaChanges(ctx, testSchema, "orders", cols, "id")
	testdb.Must(t, "schema changes", err)
	var got []string
	for _, c := range changes {
		got = append(got, c.String())
	}
	want := []string{"column total: numeric(10,2) NOT NULL → numeric(12,4) NOT NULL",
		"column at: timestamp(0) without time zone → timestamp(6) without time zone",
		"column note added (character varying(40))", "column gone dropped (was text)"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("changes:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := e.int(`SELECT count(*) FROM pg_class WHERE relname LIKE 'ferry_probe_%'`); n != 0 {
		t.Errorf("SchemaChanges left %d probe tables", n)
	}
	if ch, err := e.tg.SchemaChanges(ctx, testSchema, "nothing_here", cols, "id"); err != nil || ch != nil {
		t.Errorf("no live table: %v, %v; want nil, nil", ch, err)
	}

	stg := ferry.StagingName("orders")
	testdb.Must(t, "prepare", e.tg.PrepareStaging(ctx, testSchema, "orders", stg, cols, "id"))
	defs := e.strings(`SELECT attname || ' ' || format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, qualified(testSchema, stg))
	if strings.Join(defs, ", ") != "id bigint, total numeric(12,4), at timestamp(6) without time zone, note character varying(40)" {
		t.Errorf("staging columns %v", defs)
	}
	testdb.Must(t, "build deferred", e.tg.BuildDeferred(ctx, ferry.SwapRequest{Schema: testSchema, Tables: []ferry.SwapTable{{Table: "orders", Staging: stg}}}))
	idx := e.strings(`SELECT regexp_replace(pg_get_indexdef(indexrelid), '^.* USING ', '') || CASE WHEN indisprimary THEN ' primary' ELSE '' END FROM pg_index WHERE indrelid = $1::regclass ORDER BY 1`, qualified(testSchema, stg))
	if fmt.Sprint(idx) != "[btree (id) primary btree (total)]" {
		t.Errorf("staging indexes %v, want the primary key on id and the index on total", idx)
	}

	// A column type no map knows: the hand-made live table's shape is kept.
	odd := append(cols[:1:1], ferry.Column{Name: "v", Type: "frobnicate", Nullable: true})
	e.exec(`CREATE TABLE bi_acme.handmade (id bigint NOT NULL, v point)`)
	hstg := ferry.StagingName("handmade")
	testdb.Must(t, "prepare hand-made", e.tg.PrepareStaging(ctx, testSchema, "handmade", hstg, odd, "id"))
	if got := e.strings(`SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'v'`, qualified(testSchema, hstg)); fmt.Sprint(got) != "[point]" {
		t.Errorf("hand-made column v on staging: %v, want point (LIKE live)", got)
	}
}
