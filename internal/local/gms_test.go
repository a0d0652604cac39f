//go:build !nodemo

package local

import (
	"context"
	"database/sql"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/mysql"
)

// TestEmbeddedServer pins what docs/demo.md says about the embedded
// server: what Ferry's MySQL adapter relies on works, and the documented
// gaps are still gaps (if one closes, the fallback may be dropped).
func TestEmbeddedServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := StartServer(ctx, "source")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	db, err := mysql.Open(ctx, srv.DSN("source"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // USE below is per session
	exec := func(q string, args ...any) error {
		_, err := db.ExecContext(ctx, q, args...)
		return err
	}
	one := func(q string, args ...any) (string, error) {
		var s sql.NullString
		err := db.QueryRowContext(ctx, q, args...).Scan(&s)
		return s.String, err
	}
	setup := []string{
		"CREATE TABLE t (id BIGINT NOT NULL, s VARCHAR(50) NULL, b VARBINARY(20) NULL, KEY (id))",
		"CREATE DATABASE IF NOT EXISTS bi_x",
		"CREATE TABLE bi_x.live (id BIGINT NOT NULL, KEY (id))",
		"CREATE TABLE bi_x.stage LIKE bi_x.live",
	}
	for _, q := range setup {
		if err := exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := exec("INSERT INTO t VALUES (?, ?, ?), (?, ?, ?), (?, ?, ?)", 1, "a,\"b\"\n", []byte{0, 1}, 2, "", nil, 3, nil, []byte{}); err != nil {
		t.Fatal(err)
	}
	if err := exec("INSERT INTO bi_x.stage VALUES (?)", 7); err != nil {
		t.Fatal(err)
	}

	works := []struct {
		name, q string
		args    []any
		want    string
	}{
		{"derived range, bound", "SELECT COUNT(*) FROM (SELECT id, s FROM t) AS ferry_q WHERE id >= ? AND id < ?", []any{1, 3}, "2"},
		{"binary value with 0x00", "SELECT HEX(b) FROM t WHERE id = ?", []any{1}, "0001"},
		{"NULL vs empty", "SELECT CONCAT(s IS NULL, '/', s = '') FROM t WHERE id = ?", []any{2}, "0/1"},
		{"keyset boundary", "SELECT id FROM (SELECT id FROM t) AS ferry_q WHERE id >= ? ORDER BY id LIMIT 1 OFFSET ?", []any{1, 2}, "3"},
		{"information_schema", "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", []any{"bi_x"}, "2"},
	}
	for _, w := range works {
		got, err := one(w.q, w.args...)
		if err != nil || got != w.want {
			t.Errorf("%s: got %q, %v; want %q", w.name, got, err, w.want)
		}
	}

	// Gaps (docs/demo.md).
	if err := exec("CREATE TEMPORARY TABLE tt (id INT)"); err == nil || !strings.Contains(err.Error(), "temporary") {
		t.Errorf("CREATE TEMPORARY TABLE: %v (now supported? update docs/demo.md)", err)
	}
	if err := exec("LOAD DATA LOCAL INFILE 'Reader::x' INTO TABLE t"); err == nil {
		t.Errorf("LOAD DATA LOCAL accepted with local_infile off (update docs/demo.md)")
	}
	// RENAME resolves names in the current database: the adapter's Swap
	// runs USE <schema> first, which works.
	if err := exec("USE bi_x"); err != nil {
		t.Fatal(err)
	}
	if err := exec("RENAME TABLE bi_x.live TO bi_x.old, bi_x.stage TO bi_x.live, bi_x.old TO bi_x.stage"); err != nil {
		t.Fatalf("swap under USE: %v", err)
	}
	if got, err := one("SELECT COUNT(*) FROM bi_x.live"); err != nil || got != "1" {
		t.Errorf("after the swap live has %q rows (%v), want the staging's 1", got, err)
	}

	addr := srv.Addr()
	db.Close()
	if err := srv.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("server still accepts connections after Close")
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestEmbeddedServerKeepsIndexes: the embedded server keeps no table
// comment, where the MySQL target records the indexes it defers to the
// swap; it then defers none, and the published table has all of live's.
func TestEmbeddedServerKeepsIndexes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := StartServer(ctx, "source")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	db, err := mysql.Open(ctx, srv.DSN("source"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{"CREATE DATABASE IF NOT EXISTS bi_x",
		"CREATE TABLE bi_x.live (id BIGINT NOT NULL, v int, PRIMARY KEY (id), KEY v_idx (v), UNIQUE KEY vu (v, id))",
		"INSERT INTO bi_x.live VALUES (1, 1)"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	tg := mysql.NewTarget(db)
	if err := tg.PrepareStaging(ctx, "bi_x", "live", "stage", nil, "id"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO bi_x.stage VALUES (1, 1), (2, 2)"); err != nil {
		t.Fatal(err)
	}
	if _, err := tg.Swap(ctx, ferry.SwapRequest{RunID: "r", Schema: "bi_x", Tables: []ferry.SwapTable{{Table: "live", Staging: "stage", Expected: 2}}}); err != nil {
		t.Fatal(err)
	}
	var name, ddl string
	if err := db.QueryRowContext(ctx, "SHOW CREATE TABLE bi_x.live").Scan(&name, &ddl); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"PRIMARY KEY (`id`)", "KEY `v_idx` (`v`)", "UNIQUE KEY `vu` (`v`,`id`)"} {
		if !strings.Contains(ddl, key) {
			t.Errorf("published table lacks %s:\n%s", key, ddl)
		}
	}
}
