package mysql

import (
	"errors"
	"strings"
	"testing"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/testdb"
)

// TestCheckDeferred: the key lines SHOW CREATE TABLE prints pass; a record
// entry that would carry another clause of ALTER TABLE (a comma, a
// semicolon, a comment, an unbalanced list) or names another index is
// refused.
func TestCheckDeferred(t *testing.T) {
	for _, tc := range []struct {
		name, def string
		ok        bool
	}{
		{"v", "KEY `v` (`v`)", true},
		{"u", "UNIQUE KEY `u` (`code`,`n`)", true},
		{"pre", "KEY `pre` (`code`(5)) USING BTREE", true},
		{"c", "KEY `c` (`v`) COMMENT 'it''s v, (really) -- #1; /*x*/'", true},
		{"ft", "FULLTEXT KEY `ft` (`note`)", true},
		{"g", "SPATIAL KEY `g` (`g`)", true},
		{"we`ird", "KEY `we``ird` (`a b`,`c)`)", true},
		{"d", "KEY `d` (`v` DESC)", true},
		{"x", "KEY `x` (`a`), DROP COLUMN `b`", false},
		{"x", "KEY `x` (`a`); DROP TABLE `t`", false},
		{"x", "KEY `x` (`a`) COMMENT 'z', RENAME TO `mysql`.`t`", false},
		{"x", "KEY `x` (`a`) /*!50000 , DROP COLUMN b */", false},
		{"x", "KEY `x` (`a`) -- , DROP", false},
		{"x", "KEY `x` (`a`", false},
		{"x", "KEY `x` (`a`) COMMENT 'open", false},
		{"x", "KEY `y` (`a`)", false},
		{"PRIMARY", "PRIMARY KEY (`a`)", false},
		{"x", "DROP KEY `x`", false},
	} {
		err := checkDeferred(deferredIndex{Name: tc.name, Def: tc.def})
		if (err == nil) != tc.ok {
			t.Errorf("checkDeferred(%s) = %v, want ok %v", tc.def, err, tc.ok)
		}
	}
}

// TestEditedRecordRefused: a staging comment edited to carry another ALTER
// clause fails the build with a ConfigError naming the table and the fix;
// nothing is built and staging keeps its columns.
func TestEditedRecordRefused(t *testing.T) {
	db, schema := openDB(t)
	ctx := ctxT(t)
	exec(t, db, "CREATE TABLE orders (id bigint NOT NULL, v int, PRIMARY KEY (id), KEY v_idx (v))")
	stg := ferry.StagingName("orders")
	exec(t, db, "CREATE TABLE "+quoteIdent(stg)+" (id bigint NOT NULL, v int, PRIMARY KEY (id))")
	exec(t, db, "ALTER TABLE "+quoteIdent(stg)+" COMMENT = '"+deferMark+`[{"name":"v_idx","def":"KEY `+"`v_idx` (`v`), DROP COLUMN `id`"+`"}]'`)
	req := ferry.SwapRequest{RunID: "run-1", Schema: schema, Tables: []ferry.SwapTable{{Table: "orders", Staging: stg, Expected: 0}}}
	err := NewTarget(db).BuildDeferred(ctx, req)
	var ce *ferry.ConfigError
	if !errors.As(err, &ce) || ce.Table != "orders" || !strings.Contains(ce.Msg, "not Ferry's") || !strings.Contains(ce.Fix, "run again") {
		t.Fatalf("build with an edited record: %v, want a ConfigError naming table orders and the fix", err)
	}
	if got := keyNames(t, db, schema, stg); got != "PRIMARY" {
		t.Errorf("staging's keys after the refusal: %s, want PRIMARY", got)
	}
	var n int
	testdb.Must(t, "columns", db.QueryRow("SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", schema, stg).Scan(&n))
	if n != 2 {
		t.Errorf("staging has %d columns after the refusal, want 2", n)
	}
}
