package mysql

import (
	"database/sql"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/testdb"
)

var autoIncrement = regexp.MustCompile(` AUTO_INCREMENT=\d+`)

// showCreate is SHOW CREATE TABLE table, without AUTO_INCREMENT=n and with
// the table's name as "T".
func showCreate(t *testing.T, db *sql.DB, table string) string {
	t.Helper()
	var name, ddl string
	testdb.Must(t, "show create table "+table, db.QueryRow("SHOW CREATE TABLE "+quoteIdent(table)).Scan(&name, &ddl))
	return strings.Replace(autoIncrement.ReplaceAllString(ddl, ""), quoteIdent(table), "`T`", 1)
}

// keyNames lists table's indexes in key order.
func keyNames(t *testing.T, db *sql.DB, schema, table string) string {
	t.Helper()
	keys, err := tableKeys(ctxT(t), db, schema, table)
	testdb.Must(t, "keys of "+table, err)
	var out []string
	for _, k := range keys {
		out = append(out, k.Name)
	}
	return strings.Join(out, " ")
}

// TestIndexesAfterTheLoad: on the MariaDB/MySQL target staging keeps only
// its primary key and one index leading with the chunk column while chunks
// load; Swap builds the other indexes after the count check, and the
// published table is defined exactly as live was (SHOW CREATE TABLE,
// AUTO_INCREMENT aside: key order, index comments, the table comment, not
// Ferry's record). The swap runs on a new Target: the record lives on the
// target, not in the process. A UNIQUE index meeting duplicate keys fails
// the swap with a DataError naming table and index, live untouched; the
// retried swap builds it, and building again builds nothing.
func TestIndexesAfterTheLoad(t *testing.T) {
	for _, tc := range []struct {
		name, live, chunk string
		cols              []ferry.Column
		during            string // staging's keys during the load
		published         string // the published table's keys when its columns differ from live's; "": defined as live
		dup               string // a statement making a duplicate key on staging; "" for none
		undup             string // the statement removing it
	}{{
		name: "created LIKE live; the chunk index rebuilt in place, a unique index meets duplicates",
		live: "CREATE TABLE orders (id bigint NOT NULL AUTO_INCREMENT, n int NOT NULL, code varchar(20) DEFAULT NULL, note text DEFAULT NULL, v int DEFAULT NULL," +
			" PRIMARY KEY (id), UNIQUE KEY code_u (code), KEY v_idx (v) COMMENT 'it''s v', KEY n_idx (n), KEY pre (code(5)), FULLTEXT KEY ft (note))" +
			" ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='orders, daily'",
		chunk: "n",
		cols: []ferry.Column{{Name: "id", Type: "bigint"}, {Name: "n", Type: "int"}, {Name: "code", Type: "varchar(20)", Nullable: true},
			{Name: "note", Type: "text", Nullable: true}, {Name: "v", Type: "int", Nullable: true}},
		during: "PRIMARY n_idx",
		dup:    "UPDATE %s SET code = 'c1' WHERE id = 2",
		undup:  "UPDATE %s SET code = 'c2' WHERE id = 2",
	}, {
		name:   "the primary key leads with the chunk column: no other index during the load",
		live:   "CREATE TABLE orders (id bigint NOT NULL, n int NOT NULL, code varchar(20) DEFAULT NULL, note text, v int, PRIMARY KEY (id), KEY ferry_chunk (id), KEY nv (n, v))",
		chunk:  "id",
		cols:   nil, // made by hand: copied LIKE it is
		during: "PRIMARY",
	}, {
		name: "no primary key, a spatial index, the chunk index first",
		live: "CREATE TABLE orders (id bigint NOT NULL, n int NOT NULL, code varchar(20) DEFAULT NULL, note text, v int, g point NOT NULL," +
			" KEY id_n (id, n), UNIQUE KEY nu (n), SPATIAL KEY g (g), KEY v (v)) COMMENT 'with a point'",
		chunk:  "id",
		during: "id_n",
		dup:    "UPDATE %s SET n = 1 WHERE id = 2",
		undup:  "UPDATE %s SET n = 2 WHERE id = 2",
	}, {
		name:  "the query's columns differ: derived staging with live's indexes",
		live:  "CREATE TABLE orders (id bigint NOT NULL, n int NOT NULL, code varchar(20), note text, v int, PRIMARY KEY (id), KEY v_idx (v), UNIQUE KEY code_u (code), KEY n_idx (n))",
		chunk: "n",
		cols: []ferry.Column{{Name: "id", Type: "bigint"}, {Name: "n", Type: "int"}, {Name: "code", Type: "varchar(20)", Nullable: true},
			{Name: "note", Type: "text", Nullable: true}, {Name: "v", Type: "bigint", Nullable: true}},
		during:    "PRIMARY n_idx",
		published: "PRIMARY code_u n_idx v_idx",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			db, schema := openDB(t)
			ctx := ctxT(t)
			exec(t, db, tc.live)
			cols := "id, n, code, note, v"
			if strings.Contains(tc.live, " point ") {
				cols += ", g"
			}
			rows := func(table string, ids ...int) {
				for _, id := range ids {
					exec(t, db, "INSERT INTO "+quoteIdent(table)+" ("+cols+") SELECT ?, ?, CONCAT('c', ?), 'some words', ?"+strings.Repeat(", POINT(1, 2)", strings.Count(cols, " g")), id, id, id, id)
				}
			}
			rows("orders", 1)
			want := showCreate(t, db, "orders")
			stg := ferry.StagingName("orders")
			testdb.Must(t, "prepare", NewTarget(db).PrepareStaging(ctx, schema, "orders", stg, tc.cols, tc.chunk))
			if got := keyNames(t, db, schema, stg); got != tc.during {
				t.Fatalf("staging's indexes during the load: %s, want %s", got, tc.during)
			}
			rows(stg, 1, 2, 3)
			req := ferry.SwapRequest{RunID: "run-1", Schema: schema, Tables: []ferry.SwapTable{{Table: "orders", Staging: stg, Expected: 3}}}
			tgt := NewTarget(db) // a new process: the record is on the target
			if tc.dup != "" {
				exec(t, db, strings.Replace(tc.dup, "%s", quoteIdent(stg), 1))
				_, err := tgt.Swap(ctx, req)
				var de *ferry.DataError
				ix := regexp.MustCompile(`UNIQUE KEY (\S+)`).FindStringSubmatch(tc.live)[1]
				if !errors.As(err, &de) || de.Table != "orders" || !strings.Contains(de.Msg, "unique index "+ix) || !strings.Contains(de.Fix, ix) ||
					strings.Contains(de.Msg, "Duplicate entry") || !strings.Contains(de.Detail, "Duplicate entry") {
					t.Fatalf("swap with duplicate keys: %v, want a DataError naming table orders and index %s, the server's message (it quotes the key) only in Detail", err, ix)
				}
				if got := showCreate(t, db, "orders"); got != want || count(t, db, "SELECT COUNT(*) FROM orders") != 1 {
					t.Fatalf("live changed by a failed build:\n%s", got)
				}
				exec(t, db, strings.Replace(tc.undup, "%s", quoteIdent(stg), 1))
			}
			testdb.Must(t, "build", tgt.BuildDeferred(ctx, req))
			built := showCreate(t, db, stg)
			testdb.Must(t, "build again", tgt.BuildDeferred(ctx, req))
			if again := showCreate(t, db, stg); again != built {
				t.Errorf("a second build changed staging:\n%s\nwas\n%s", again, built)
			}
			if _, err := tgt.Swap(ctx, req); err != nil {
				t.Fatalf("swap: %v", err)
			}
			if got := keyNames(t, db, schema, "orders"); tc.published != "" && got != tc.published {
				t.Errorf("published table's indexes: %s, want %s", got, tc.published)
			}
			if got := showCreate(t, db, "orders"); tc.published == "" && got != want {
				t.Errorf("published table:\n%s\nwant live's:\n%s", got, want)
			}
			if n := count(t, db, "SELECT COUNT(*) FROM orders"); n != 3 {
				t.Errorf("published %d rows, want 3", n)
			}
		})
	}
}

// TestKeyParts: the leading column and the number of parts of a key as
// SHOW CREATE TABLE spells it, on MariaDB and MySQL 8.
func TestKeyParts(t *testing.T) {
	for _, tc := range []struct {
		in, first string
		n         int
	}{
		{"(`id`)", "id", 1},
		{"(`a`,`b`(10),`c` DESC) COMMENT 'x, (y)'", "a", 3},
		{"(`code`(5))", "", 1},
		{"(`we``ird`,`b`)", "we`ird", 2},
		{"((lower(`a`)),`b`)", "", 2},
		{"((concat(`a`,'),(')),`b`) /*!80000 INVISIBLE */", "", 2},
	} {
		first, n, err := keyParts(tc.in)
		if err != nil || first != tc.first || n != tc.n {
			t.Errorf("keyParts(%s) = %q, %d, %v; want %q, %d", tc.in, first, n, err, tc.first, tc.n)
		}
	}
	for _, bad := range []string{"`a`", "(`a`", "(`a", "('a)"} {
		if _, _, err := keyParts(bad); err == nil {
			t.Errorf("keyParts(%s) accepted", bad)
		}
	}
}

// TestBuildAfterKillBeforeDrop: a PrepareStaging killed after it wrote the
// record but before it dropped the indexes leaves a record of indexes that
// exist; the build adds nothing, clears the record, and the swap publishes
// live's definition.
func TestBuildAfterKillBeforeDrop(t *testing.T) {
	db, schema := openDB(t)
	ctx := ctxT(t)
	exec(t, db, "CREATE TABLE orders (id bigint NOT NULL, v int, PRIMARY KEY (id), KEY v_idx (v)) COMMENT 'live'")
	want := showCreate(t, db, "orders")
	stg := ferry.StagingName("orders")
	exec(t, db, "CREATE TABLE "+quoteIdent(stg)+" LIKE orders")
	exec(t, db, "ALTER TABLE "+quoteIdent(stg)+" COMMENT = '"+deferMark+`[{"name":"v_idx","def":"KEY `+"`v_idx` (`v`)"+`"}]'`)
	exec(t, db, "INSERT INTO "+quoteIdent(stg)+" VALUES (1, 1), (2, 2)")
	req := ferry.SwapRequest{RunID: "run-1", Schema: schema, Tables: []ferry.SwapTable{{Table: "orders", Staging: stg, Expected: 2}}}
	tgt := NewTarget(db)
	testdb.Must(t, "build", tgt.BuildDeferred(ctx, req))
	var comment string
	testdb.Must(t, "comment", db.QueryRow("SELECT TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", schema, stg).Scan(&comment))
	if comment != "" || keyNames(t, db, schema, stg) != "PRIMARY v_idx" {
		t.Fatalf("after the build: comment %q, keys %s", comment, keyNames(t, db, schema, stg))
	}
	if _, err := tgt.Swap(ctx, req); err != nil {
		t.Fatalf("swap: %v", err)
	}
	if got := showCreate(t, db, "orders"); got != want {
		t.Errorf("published table:\n%s\nwant live's:\n%s", got, want)
	}
}
