package mysql

import (
	"testing"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/testdb"
)

// TestResultFields reads the result metadata of a table of every type the
// way a SELECT-only account does, and checks it against the exact types a
// temporary table gives: the same type for everything the protocol carries,
// a type that holds every value for the rest (enum, set, uuid, inet). It
// also fails, loudly, if go-sql-driver's result set changed its layout.
func TestResultFields(t *testing.T) {
	_, dsn := testdb.MySQL(t)
	db, err := Open(ctxT(t), dsn)
	testdb.Must(t, "open", err)
	t.Cleanup(func() { db.Close() })
	exec(t, db, `CREATE TABLE every (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, d DECIMAL(10,2) UNSIGNED, ds DECIMAL(12,4) NOT NULL,
		b BIT(8), v VARCHAR(40), l VARCHAR(50) CHARACTER SET latin1, c CHAR(3), e ENUM('x','yy'), s SET('a','b'),
		tt TINYTEXT, tx TEXT, mt MEDIUMTEXT, lt LONGTEXT, bi BINARY(4), vb VARBINARY(20), bl BLOB, lb LONGBLOB,
		dt DATETIME(3), ts TIMESTAMP(6) NULL, tm TIME(2), dd DATE, y YEAR, f FLOAT, db DOUBLE, t1 TINYINT(1), si SMALLINT, mi MEDIUMINT UNSIGNED,
		bg BIGINT UNSIGNED, g GEOMETRY, u UUID, i4 INET4, i6 INET6, KEY (si))`)
	meta, err := OpenMetadata(ctxT(t), dsn)
	testdb.Must(t, "metadata pool", err)
	t.Cleanup(func() { meta.Close() })
	q := "SELECT every.*, id + 1 AS computed, COUNT(*) OVER () AS win FROM every WHERE id > ?"
	got, err := resultFields(ctxT(t), meta, q, []any{int64(0)}, true)
	testdb.Must(t, "result fields", err)
	exact, err := NewSource(db).columnsByTempTable(ctxT(t), "SELECT * FROM ("+q+") AS ferry_q LIMIT 0", []any{int64(0)})
	testdb.Must(t, "temporary table", err)
	holds := map[string]string{"e": "varchar(2)", "s": "varchar(3)", "u": "char(36)", "i4": "char(15)", "i6": "char(39)"}
	if len(got) != len(exact) {
		t.Fatalf("%d result fields, %d columns", len(got), len(exact))
	}
	for i, c := range got {
		want := exact[i].Type
		if h, ok := holds[c.Name]; ok {
			want = h
		}
		if c.Name != exact[i].Name || c.Type != want || c.Nullable != exact[i].Nullable {
			t.Errorf("column %s: metadata says %s (nullable %v), the table %s (nullable %v), want %s", c.Name, c.Type, c.Nullable, exact[i].Type, exact[i].Nullable, want)
		}
	}
	byName := map[string]ferry.Column{}
	for _, c := range got {
		byName[c.Name] = c
	}
	if c := byName["id"]; c.Origin != ferry.OriginTable || c.Table != "every" || c.Key != ferry.KeyPrimary {
		t.Errorf("id: %+v, want a primary key column of table every", c)
	}
	if c := byName["si"]; c.Key != ferry.KeyIndex {
		t.Errorf("si: key %q, want index", c.Key)
	}
	for _, n := range []string{"computed", "win"} {
		if c := byName[n]; c.Origin != ferry.OriginComputed || c.Key != "" {
			t.Errorf("%s: %+v, want computed", n, c)
		}
	}
	// Without the metadata pool the origin is unknown, not "computed".
	plain, err := resultFields(ctxT(t), db, q, []any{int64(0)}, false)
	testdb.Must(t, "result fields", err)
	if plain[0].Origin != "" || plain[0].Key != ferry.KeyPrimary {
		t.Errorf("without table names: %+v", plain[0])
	}
}
