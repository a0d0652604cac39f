package faults

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/heaptest"
	"github.com/ferrydata/ferry/internal/localstore"
	"github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/testdb"
)

// bigRow is the size of the one huge value of each kind.
const bigRow = 64 << 20

// filesQuery is the second configured table: each company's files, one of
// alpha's a 64 MB LONGBLOB and one a 64 MB LONGTEXT, in the same chunk.
const filesQuery = "SELECT id, name, body, doc FROM files WHERE company_id = :company_id"

// addFiles creates the source table files with small rows for both
// companies (ids 1-8, chunks of 2 rows); alpha's rows 3 and 4 are left for
// putBigRows.
func (w *world) addFiles(t *testing.T) {
	t.Helper()
	testdb.Must(t, "add table", w.adm.AddTable(ctxT(t), ferry.TableSpec{Name: "files", Query: filesQuery,
		Params: []string{"company_id"}, ChunkColumn: "id", ChunkRows: 2}, true))
	exec(t, w.src, "CREATE TABLE files (id BIGINT PRIMARY KEY, company_id BIGINT NOT NULL, name VARCHAR(50) NOT NULL, body LONGBLOB NULL, doc LONGTEXT NULL)")
	for id := 1; id <= 16; id++ {
		company := companies[(id+1)%2].ID
		exec(t, w.src, "INSERT INTO files VALUES (?, ?, ?, ?, ?)", id, company, fmt.Sprintf("file %d, \"small\"", id),
			[]byte{0, byte(id), '"', ',', '\n'}, fmt.Sprintf("doc %d\n😀", id))
	}
}

// putBigRows gives alpha's file 5 (its third row) a 64 MB random LONGBLOB
// and, with text, file 7 a 64 MB LONGTEXT (multi-byte characters, quotes, commas,
// newlines, backslashes). Sending them needs
// a max_allowed_packet above 64 MB: the global value is raised only while
// one new connection logs in (its session keeps it) and restored at once,
// so every other session, the run's included, has the server's own value.
func (w *world) putBigRows(t *testing.T, text bool) {
	t.Helper()
	var was int64
	testdb.Must(t, "max_allowed_packet", w.src.QueryRow("SELECT @@GLOBAL.max_allowed_packet").Scan(&was))
	restore := fmt.Sprintf("SET GLOBAL max_allowed_packet = %d", was)
	t.Cleanup(func() { w.src.Exec(restore) })
	exec(t, w.src, fmt.Sprintf("SET GLOBAL max_allowed_packet = %d", 2*bigRow))
	conn, err := openMySQL(t, w.srcDSN).Conn(ctxT(t))
	exec(t, w.src, restore)
	testdb.Must(t, "connect", err)
	defer conn.Close()
	var got int64
	testdb.Must(t, "session packet", conn.QueryRowContext(ctxT(t), "SELECT @@SESSION.max_allowed_packet").Scan(&got))
	if got < 2*bigRow {
		t.Fatalf("the new session's max_allowed_packet is %d, want %d", got, 2*bigRow)
	}
	rng := rand.New(rand.NewPCG(9, 64))
	blob := make([]byte, bigRow)
	for i := range blob {
		blob[i] = byte(rng.Uint32())
	}
	_, err = conn.ExecContext(ctxT(t), "UPDATE files SET body = ? WHERE id = 5", blob)
	testdb.Must(t, "put the 64 MB blob", err)
	blob = nil
	if !text {
		return
	}
	pieces := []string{"a", "é", "😀", `"`, ",", "\n", `\`, " ", "x", "\r\n"}
	var doc strings.Builder
	doc.Grow(bigRow + 8)
	for doc.Len() < bigRow {
		doc.WriteString(pieces[rng.IntN(len(pieces))])
	}
	_, err = conn.ExecContext(ctxT(t), "UPDATE files SET doc = ? WHERE id = 7", doc.String())
	testdb.Must(t, "put the 64 MB text", err)
}

// mysqlDigests are the length and SHA-256 of body and doc, or NULL.
const mysqlDigests = "COALESCE(CONCAT(LENGTH(body), ' ', SHA2(body, 256)), 'NULL'), COALESCE(CONCAT(LENGTH(doc), ' ', SHA2(doc, 256)), 'NULL')"

// fileDigests are company c's files in the source as id, name, and the
// length and SHA-256 of body and doc, computed by the server.
func (w *world) fileDigests(t *testing.T, c int64) []string {
	t.Helper()
	return sqlDigests(t, w.src, "SELECT id, name, "+mysqlDigests+" FROM files WHERE company_id = ? ORDER BY id", c)
}

// liveDigests are the same of company c's live files table in the target;
// nil when it does not exist.
func (w *world) liveDigests(t *testing.T, c admin.NewCompany) []string {
	t.Helper()
	schema := w.schema[c.Alias]
	if !w.hasLive(t, c, "files") {
		return nil
	}
	if w.engine == ferry.EngineMySQL {
		return sqlDigests(t, w.tdb, "SELECT id, name, "+mysqlDigests+" FROM `"+schema+"`.files ORDER BY id")
	}
	ctx := ctxT(t)
	conn, err := pgx.Connect(ctx, w.pgURL)
	testdb.Must(t, "connect target", err)
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT id::text, name, COALESCE(length(body) || ' ' || encode(sha256(body), 'hex'), 'NULL'), COALESCE(octet_length(doc) || ' ' || encode(sha256(convert_to(doc, 'UTF8')), 'hex'), 'NULL') FROM "`+schema+`".files ORDER BY files.id`)
	testdb.Must(t, "read live", err)
	defer rows.Close()
	return digestRows(t, rows)
}

// resultRows is what *sql.Rows and pgx.Rows have in common.
type resultRows interface {
	Next() bool
	Scan(...any) error
	Err() error
}

// digestRows reads rows of id, name and the two digests as text lines.
func digestRows(t *testing.T, rows resultRows) []string {
	t.Helper()
	var out []string
	for rows.Next() {
		var id, name, body, doc string
		testdb.Must(t, "scan digests", rows.Scan(&id, &name, &body, &doc))
		out = append(out, strings.Join([]string{id, name, body, doc}, " | "))
	}
	testdb.Must(t, "read digests", rows.Err())
	return out
}

// sqlDigests runs q with args on db and reads its digest rows.
func sqlDigests(t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(q, args...)
	testdb.Must(t, "read digests", err)
	defer rows.Close()
	return digestRows(t, rows)
}

func mb(n uint64) float64 { return float64(n) / (1 << 20) }

// TestHugeRow: a 64 MB LONGBLOB and a 64 MB LONGTEXT among small rows of
// a MariaDB source, with every server at its own max_allowed_packet (16 MB
// by default), through the real state machine to each target, by S3 and
// by a local directory (the heap then holds Ferry's buffers only). The export reads one row at a time and
// hex-encodes a blob in pieces; the stores, LOAD DATA LOCAL and COPY
// stream. Every value arrives byte-identical (length and SHA-256 computed
// by both servers). The heap in use is sampled throughout and reported
// (no assertion on it: the in-process S3 keeps its objects in the same
// heap). Not parallel: one 64 MB test at a time.
func TestHugeRow(t *testing.T) {
	for _, tt := range []struct {
		name   string
		engine ferry.Engine
		local  bool
	}{
		{"MariaDB target, S3", ferry.EngineMySQL, false},
		{"PostgreSQL target, local directory", ferry.EnginePostgres, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, tt.engine)
			w.addFiles(t)
			w.putBigRows(t, true)
			if tt.local {
				st, err := localstore.New(t.TempDir())
				testdb.Must(t, "local store", err)
				w.store, w.deps.Store = st, st
			}
			stop, start := heaptest.Peak(), time.Now()
			res := w.run(t, "big")
			base, peak := stop()
			took := time.Since(start)
			succeeded(t, res)
			t.Logf("%s: run %.1f s; heap in use before %.0f MB, peak %.0f MB (+%.0f MB)", tt.name, took.Seconds(), mb(base), mb(peak), mb(peak-base))
			w.liveEqualsSource(t)
			for _, c := range companies {
				want, got := w.fileDigests(t, c.ID), w.liveDigests(t, c)
				if d := diff(want, got); d != "" {
					t.Errorf("company %s: live files differ from the source: %s", c.Alias, d)
				}
			}
		})
	}
}

// TestHugeRowRefusedByInsertFallback: a MariaDB target that refuses LOAD
// DATA LOCAL (the loader falls back to batched INSERTs; here forced with
// mysql.WithInsertLoader) cannot take a 64 MB row under its 16 MB
// max_allowed_packet. Alpha fails with a ConfigError naming the company,
// the table, the chunk and the row, and the fix (raise max_allowed_packet
// on the target to at least 65 MB, or local_infile=ON), not a bare "Got a
// packet bigger than 'max_allowed_packet' bytes"; alpha's live tables are
// as the first run published them; beta is published.
func TestHugeRowRefusedByInsertFallback(t *testing.T) {
	w := newWorld(t, ferry.EngineMySQL)
	w.deps.Target = mysql.NewTarget(w.tdb, mysql.WithLogger(quiet), mysql.WithInsertLoader(0))
	w.addFiles(t)
	succeeded(t, w.run(t, "published"))
	before, files := w.snapshot(t), w.liveDigests(t, companies[0])
	w.changeSource(t)
	w.putBigRows(t, false)
	res := w.run(t, "big")
	w.alphaFailedBetaPublished(t, res, before, "company 1 (alpha)", "chunk files#1 [5,9)", "the row with id = 5",
		"raise max_allowed_packet on the target to at least 65 MB", "local_infile=ON")
	if d := diff(files, w.liveDigests(t, companies[0])); d != "" {
		t.Errorf("alpha's live files changed though its load was refused: %s", d)
	}
	if d := diff(w.fileDigests(t, companies[1].ID), w.liveDigests(t, companies[1])); d != "" {
		t.Errorf("beta's live files are not the source: %s", d)
	}
}
