package local

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/asl"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/localstore"
	"github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/postgres"
	"github.com/ferrydata/ferry/internal/steps"
	"github.com/ferrydata/ferry/internal/testdb"
	drv "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
)

// shapeRun is one company (alpha) copying one table, items, from a real
// MariaDB source into a real target through the real state machine, with
// a way to read every value of the live table back as text.
type shapeRun struct {
	src    *sql.DB
	adm    *admin.DB
	engine ferry.Engine
	schema string
	mdb    *sql.DB   // MySQL target
	pg     *pgx.Conn // PostgreSQL target
	steps  *steps.Steps
	store  ferry.Store
}

func newShapeRun(t *testing.T, engine ferry.Engine, srcDB *sql.DB, source ...ferry.Source) *shapeRun {
	t.Helper()
	ctx := ctxT(t)
	r := &shapeRun{engine: engine, src: srcDB}
	var srcName string
	if r.src == nil {
		r.src, srcName = testdb.MySQLDB(t)
	} else {
		srcName = "src" + fmt.Sprint(time.Now().UnixNano()%1e6)
	}
	adminDB, _ := testdb.MySQLDB(t)
	r.adm = mysql.NewAdmin(adminDB)
	_, err := r.adm.Migrate(ctx)
	testdb.Must(t, "migrate admin", err)
	var target ferry.Target
	c := admin.NewCompany{ID: 1, Alias: "alpha"}
	switch engine {
	case ferry.EngineMySQL:
		_, dsn := testdb.MySQL(t)
		db, err := mysql.Open(ctx, dsn)
		testdb.Must(t, "open target", err)
		t.Cleanup(func() { db.Close() })
		r.mdb, target = db, mysql.NewTarget(db, mysql.WithLogger(quiet))
		c.Schema = srcName + "_alpha"
		t.Cleanup(func() { db.Exec("DROP DATABASE IF EXISTS `" + c.Schema + "`") })
	case ferry.EnginePostgres:
		u := testdb.Postgres(t)
		tg, err := postgres.Open(ctx, u)
		testdb.Must(t, "open target", err)
		t.Cleanup(tg.Close)
		tg.Logger = quiet
		target = tg
		r.pg, err = pgx.Connect(ctx, u)
		testdb.Must(t, "connect target", err)
		t.Cleanup(func() { r.pg.Close(context.Background()) })
	}
	testdb.Must(t, "add company", r.adm.AddCompany(ctx, c))
	r.schema = c.Schema
	if r.schema == "" {
		r.schema = ferry.DefaultSchema(c.Alias)
	}
	store, err := localstore.New(t.TempDir())
	testdb.Must(t, "store", err)
	r.store = store
	var src ferry.Source = mysql.NewSource(r.src, mysql.WithLogger(quiet))
	if len(source) > 0 {
		src = source[0]
	}
	r.steps = steps.New(steps.Deps{Config: r.adm, Ledger: r.adm, Source: src,
		Target: target, Store: store, Bucket: DefaultBucket, Logger: quiet})
	return r
}

// setTable (re)defines the table items.
func (r *shapeRun) setTable(t *testing.T, query string, policy ferry.SchemaChangePolicy) {
	t.Helper()
	testdb.Must(t, "add table", r.adm.AddTable(ctxT(t), ferry.TableSpec{Name: "items", Query: query, Params: []string{"company_id"},
		ChunkColumn: "id", ChunkRows: 7, SchemaChanges: policy}, true))
}

func (r *shapeRun) run(t *testing.T, runID string) *Result {
	t.Helper()
	res, err := Run(ctxT(t), Options{Steps: r.steps, Store: r.store, RunID: runID, RunDate: "2026-11-22", ChunkConcurrency: 4,
		Clock: asl.NewVirtualClock(time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatalf("run %s: %v", runID, err)
	}
	return res
}

// shapeCol is one column of the comparison: how the source query and
// each target render its value as text (NULL stays NULL).
type shapeCol struct{ name, src, my, pg string }

// values returns every row (ordered by id) of q on db as text.
func sqlValues(t *testing.T, db *sql.DB, q string, args ...any) [][]*string {
	t.Helper()
	rows, err := db.Query(q, args...)
	testdb.Must(t, q, err)
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]*string
	for rows.Next() {
		raw := make([]sql.NullString, len(cols))
		dest := make([]any, len(cols))
		for i := range raw {
			dest[i] = &raw[i]
		}
		testdb.Must(t, "scan", rows.Scan(dest...))
		row := make([]*string, len(cols))
		for i, v := range raw {
			if v.Valid {
				s := v.String
				row[i] = &s
			}
		}
		out = append(out, row)
	}
	testdb.Must(t, "rows", rows.Err())
	return out
}

func pgValues(t *testing.T, conn *pgx.Conn, q string) [][]*string {
	t.Helper()
	rows, err := conn.Query(context.Background(), q)
	testdb.Must(t, q, err)
	defer rows.Close()
	var out [][]*string
	for rows.Next() {
		vals := rows.RawValues()
		row := make([]*string, len(vals))
		for i, v := range vals {
			if v != nil {
				s := string(v)
				row[i] = &s
			}
		}
		out = append(out, row)
	}
	testdb.Must(t, "rows", rows.Err())
	return out
}

// compare checks every value of the live table items against the source
// query's, byte for byte (as the hex of the value's text or bytes).
func (r *shapeRun) compare(t *testing.T, srcQuery string, cols []shapeCol) {
	t.Helper()
	var sel, tsel []string
	for _, c := range cols {
		sel = append(sel, c.src)
		if r.engine == ferry.EngineMySQL {
			tsel = append(tsel, c.my)
		} else {
			tsel = append(tsel, c.pg)
		}
	}
	want := sqlValues(t, r.src, "SELECT "+strings.Join(sel, ", ")+" FROM ("+srcQuery+") q ORDER BY q.id", 1)
	var got [][]*string
	if r.engine == ferry.EngineMySQL {
		got = sqlValues(t, r.mdb, "SELECT "+strings.Join(tsel, ", ")+" FROM `"+r.schema+"`.items ORDER BY items.id")
	} else {
		got = pgValues(t, r.pg, "SELECT "+strings.Join(tsel, ", ")+" FROM "+r.schema+".items ORDER BY items.id")
	}
	if len(got) != len(want) || len(want) == 0 {
		t.Fatalf("live items has %d rows, the source %d", len(got), len(want))
	}
	bad := 0
	for i := range want {
		for j, c := range cols {
			if showPtr(want[i][j]) != showPtr(got[i][j]) {
				if bad++; bad <= 5 {
					t.Errorf("row %d column %s: live %s, source %s", i+1, c.name, showPtr(got[i][j]), showPtr(want[i][j]))
				}
			}
		}
	}
}

func showPtr(s *string) string {
	if s == nil {
		return "NULL"
	}
	return *s
}

// hexCol compares a text or byte column by the hex of its bytes.
func hexCol(name string) shapeCol {
	return shapeCol{name, "HEX(CAST(q." + name + " AS BINARY))", "HEX(CAST(" + name + " AS BINARY))", "upper(encode(convert_to(" + name + "::text, 'UTF8'), 'hex'))"}
}

// addrCol compares a MariaDB inet4, inet6 or uuid column by its text
// (PostgreSQL's inet by host(), without the /32 or /128 of its text).
func addrCol(name string) shapeCol {
	pg := name + "::text"
	if strings.HasPrefix(name, "i") {
		pg = "host(" + name + ")"
	}
	return shapeCol{name, "HEX(CAST(q." + name + " AS CHAR))", "HEX(CAST(" + name + " AS CHAR))", "upper(encode(convert_to(" + pg + ", 'UTF8'), 'hex'))"}
}

// bytesCol compares a column that is bytes on the target.
func bytesCol(name string) shapeCol {
	return shapeCol{name, "HEX(q." + name + ")", "HEX(" + name + ")", "upper(encode(" + name + ", 'hex'))"}
}

// timeCol compares a datetime(fsp) column by its text.
func timeCol(name string, fsp int) shapeCol {
	f := "YYYY-MM-DD HH24:MI:SS"
	if fsp > 0 {
		f += ".US"
	}
	pg := "to_char(" + name + ", '" + f + "')"
	if fsp > 0 && fsp < 6 {
		pg = "left(" + pg + ", " + fmt.Sprint(20+fsp) + ")"
	}
	return shapeCol{name, "CAST(q." + name + " AS CHAR)", "CAST(" + name + " AS CHAR)", pg}
}

const (
	itemsV1 = "SELECT id, amount, at, note, data FROM items WHERE company_id = :company_id"
	// itemsV2 re-casts note to bytes (as docs/types.md recommends for
	// NUL bytes) and data, a BLOB, to text; itemsV3 adds a column.
	itemsV2 = "SELECT id, amount, at, CAST(note AS BINARY) AS note, CONVERT(data USING utf8mb4) AS data FROM items WHERE company_id = :company_id"
	itemsV3 = "SELECT id, amount, at, CAST(note AS BINARY) AS note, CONVERT(data USING utf8mb4) AS data, extra FROM items WHERE company_id = :company_id"
)

var (
	colsV1 = []shapeCol{{"id", "q.id", "id", "id::text"}, {"amount", "CAST(q.amount AS CHAR)", "CAST(amount AS CHAR)", "amount::text"},
		timeCol("at", 0), hexCol("note"), bytesCol("data")}
	colsV2 = []shapeCol{{"id", "q.id", "id", "id::text"}, {"amount", "CAST(q.amount AS CHAR)", "CAST(amount AS CHAR)", "amount::text"},
		timeCol("at", 6), bytesCol("note"), hexCol("data")}
	colsV3 = append(colsV2[:len(colsV2):len(colsV2)], hexCol("extra"))
)

// fillItems creates the source table items (version 1: decimal(10,2),
// datetime, text, blob) with 20 rows of company 1 and 5 of company 2.
func fillItems(t *testing.T, db *sql.DB) {
	t.Helper()
	mustExec(t, db, "CREATE TABLE items (id BIGINT PRIMARY KEY, company_id BIGINT NOT NULL, amount DECIMAL(10,2) NOT NULL, at DATETIME NOT NULL, note TEXT NULL, data BLOB NULL, KEY by_note (note(10)))")
	for id := 1; id <= 25; id++ {
		company := 1
		if id > 20 {
			company = 2
		}
		var note, data any = fmt.Sprintf("hello, \"%d\"\n😀", id), fmt.Sprintf("bytes %d é", id)
		if id%6 == 0 {
			note, data = nil, nil
		}
		mustExec(t, db, "INSERT INTO items VALUES (?, ?, ?, ?, ?, ?)", id, company, fmt.Sprintf("%d.%02d", id, id), fmt.Sprintf("2024-02-29 12:00:%02d", id), note, data)
	}
}

// changeItems widens amount to decimal(12,4) and at to datetime(6) with
// values only the new types hold, and adds the column extra.
func changeItems(t *testing.T, db *sql.DB) {
	t.Helper()
	mustExec(t, db, "ALTER TABLE items MODIFY amount DECIMAL(12,4) NOT NULL, MODIFY at DATETIME(6) NOT NULL, ADD COLUMN extra VARCHAR(20) NULL")
	mustExec(t, db, "UPDATE items SET amount = amount + 0.0049, at = at + INTERVAL 700000 MICROSECOND, extra = CONCAT('x', id)")
}

// TestSchemaChangesEvolve: a run publishes items; the source then widens
// a decimal and a datetime, and the query re-casts a text column to bytes
// and a BLOB to text (before, these published rounded numbers, hex text
// and NULL without a word); the next run publishes the new shape, every
// value exactly the source's, with the live table's primary key and
// indexes still there; then the query returns a new column, published the
// same way. On both targets.
func TestSchemaChangesEvolve(t *testing.T) {
	for _, engine := range []ferry.Engine{ferry.EngineMySQL, ferry.EnginePostgres} {
		t.Run(string(engine), func(t *testing.T) {
			r := newShapeRun(t, engine, nil)
			fillItems(t, r.src)
			r.setTable(t, itemsV1, "")
			if res := r.run(t, "run-1"); res.Failed() {
				t.Fatalf("run 1: %s: %s", res.Execution.Error, res.Execution.Cause)
			}
			r.compare(t, strings.ReplaceAll(itemsV1, ":company_id", "?"), colsV1)
			r.indexLive(t)

			changeItems(t, r.src)
			r.setTable(t, itemsV2, ferry.SchemaEvolve)
			if res := r.run(t, "run-2"); res.Failed() {
				t.Fatalf("run 2: %s: %s", res.Execution.Error, res.Execution.Cause)
			}
			r.compare(t, strings.ReplaceAll(itemsV2, ":company_id", "?"), colsV2)
			r.checkTypes(t, map[ferry.Engine][]string{
				ferry.EngineMySQL:    {"amount decimal(12,4)", "at datetime(6)", "note mediumblob", "data mediumtext"},
				ferry.EnginePostgres: {"amount numeric(12,4)", "at timestamp(6) without time zone", "note bytea", "data text"},
			}[engine])

			r.setTable(t, itemsV3, ferry.SchemaEvolve)
			if res := r.run(t, "run-3"); res.Failed() {
				t.Fatalf("run 3: %s: %s", res.Execution.Error, res.Execution.Cause)
			}
			r.compare(t, strings.ReplaceAll(itemsV3, ":company_id", "?"), colsV3)
			r.checkTypes(t, map[ferry.Engine][]string{
				ferry.EngineMySQL: {"extra varchar(20)"}, ferry.EnginePostgres: {"extra character varying(20)"}}[engine])

			// A fourth run with the same shape takes the live table LIKE it
			// is and publishes the same values.
			if res := r.run(t, "run-4"); res.Failed() {
				t.Fatalf("run 4: %s: %s", res.Execution.Error, res.Execution.Cause)
			}
			r.compare(t, strings.ReplaceAll(itemsV3, ":company_id", "?"), colsV3)
		})
	}
}

// checkColumns checks the live table's columns: each of want ("name
// type") is one of them.
func (r *shapeRun) checkColumns(t *testing.T, want []string) {
	t.Helper()
	var got []string
	if r.engine == ferry.EngineMySQL {
		for _, row := range sqlValues(t, r.mdb, "SELECT CONCAT(COLUMN_NAME, ' ', COLUMN_TYPE) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'items' ORDER BY ORDINAL_POSITION", r.schema) {
			got = append(got, *row[0])
		}
	} else {
		for _, row := range pgValues(t, r.pg, "SELECT attname || ' ' || format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = '"+r.schema+".items'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum") {
			got = append(got, *row[0])
		}
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("live columns %s: want %s", strings.Join(got, ", "), w)
		}
	}
}

// checkTypes checks the live table's column types and that its primary
// key survived the change of shape.
func (r *shapeRun) checkTypes(t *testing.T, want []string) {
	t.Helper()
	r.checkColumns(t, want)
	var pk int
	if r.engine == ferry.EngineMySQL {
		testdb.Must(t, "pk", r.mdb.QueryRow("SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'items' AND INDEX_NAME = 'PRIMARY'", r.schema).Scan(&pk))
	} else {
		testdb.Must(t, "pk", r.pg.QueryRow(context.Background(), "SELECT count(*) FROM pg_index WHERE indrelid = '"+r.schema+".items'::regclass AND indisprimary").Scan(&pk))
	}
	if pk == 0 {
		t.Error("the live table lost its primary key")
	}
	var byAmount int
	if r.engine == ferry.EngineMySQL {
		testdb.Must(t, "index", r.mdb.QueryRow("SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'items' AND COLUMN_NAME = 'amount'", r.schema).Scan(&byAmount))
	} else {
		testdb.Must(t, "index", r.pg.QueryRow(context.Background(), "SELECT count(*) FROM pg_indexes WHERE schemaname = $1 AND tablename = 'items' AND indexdef LIKE '%(amount)'", r.schema).Scan(&byAmount))
	}
	if byAmount == 0 {
		t.Error("the live table lost its index on amount")
	}
}

// indexLive gives the live table a primary key and indexes by hand (a
// prefix index on note, which becomes bytes, on MySQL).
func (r *shapeRun) indexLive(t *testing.T) {
	t.Helper()
	if r.engine == ferry.EngineMySQL {
		mustExec(t, r.mdb, "ALTER TABLE `"+r.schema+"`.items ADD PRIMARY KEY (id), ADD KEY by_amount (amount), ADD KEY by_note (note(10))")
		return
	}
	_, err := r.pg.Exec(context.Background(), "ALTER TABLE "+r.schema+".items ADD PRIMARY KEY (id); CREATE INDEX by_amount ON "+r.schema+".items (amount)")
	testdb.Must(t, "index live", err)
}

// TestSchemaChangesRefuse: with the policy refuse, the same change fails
// the company with a ConfigError naming the company, the table, each
// column with its old and new type and the fix; the live table keeps
// run 1's shape and values.
func TestSchemaChangesRefuse(t *testing.T) {
	for _, engine := range []ferry.Engine{ferry.EngineMySQL, ferry.EnginePostgres} {
		t.Run(string(engine), func(t *testing.T) {
			r := newShapeRun(t, engine, nil)
			fillItems(t, r.src)
			r.setTable(t, itemsV1, ferry.SchemaRefuse)
			if res := r.run(t, "run-1"); res.Failed() {
				t.Fatalf("run 1: %s: %s", res.Execution.Error, res.Execution.Cause)
			}
			before := r.liveText(t, colsV1)

			changeItems(t, r.src)
			r.setTable(t, itemsV3, ferry.SchemaRefuse)
			res := r.run(t, "run-2")
			if !res.Failed() {
				t.Fatal("run 2 succeeded; want the company failed by the refused schema change")
			}
			amount := map[ferry.Engine]string{ferry.EngineMySQL: "decimal(10,2) NOT NULL → decimal(12,4) NOT NULL", ferry.EnginePostgres: "numeric(10,2) NOT NULL → numeric(12,4) NOT NULL"}[engine]
			for _, w := range []string{"ConfigError", "alpha", "items", "column amount: " + amount, "column extra added", "--schema-changes evolve"} {
				if !strings.Contains(res.Execution.Error+res.Execution.Cause, w) {
					t.Errorf("run 2 error %s: %s; want it to contain %q", res.Execution.Error, res.Execution.Cause, w)
				}
			}
			if after := r.liveText(t, colsV1); after != before {
				t.Errorf("the refused run changed the live table:\n%s\nwant\n%s", after, before)
			}
		})
	}
}

// liveText is every value of the live table items as one text.
func (r *shapeRun) liveText(t *testing.T, cols []shapeCol) string {
	t.Helper()
	var sel []string
	for _, c := range cols {
		if r.engine == ferry.EngineMySQL {
			sel = append(sel, c.my)
		} else {
			sel = append(sel, c.pg)
		}
	}
	var rows [][]*string
	if r.engine == ferry.EngineMySQL {
		rows = sqlValues(t, r.mdb, "SELECT "+strings.Join(sel, ", ")+" FROM `"+r.schema+"`.items ORDER BY items.id")
	} else {
		rows = pgValues(t, r.pg, "SELECT "+strings.Join(sel, ", ")+" FROM "+r.schema+".items ORDER BY items.id")
	}
	var b strings.Builder
	for _, row := range rows {
		for _, v := range row {
			b.WriteString(showPtr(v) + "|")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestExactTypes copies MariaDB's decimal unsigned, bit(8), varchar(n),
// enum, inet4, inet6 and uuid columns with a full account and with a
// SELECT-only one (which cannot create the temporary table that gives the
// exact type text): the live table has the exact types on MySQL (their
// PostgreSQL counterparts on PostgreSQL) and every value is the source's.
func TestExactTypes(t *testing.T) {
	name, dsn := testdb.MySQL(t)
	root, err := mysql.Open(ctxT(t), dsn)
	testdb.Must(t, "open source", err)
	t.Cleanup(func() { root.Close() })
	mustExec(t, root, "CREATE TABLE exact (id BIGINT PRIMARY KEY, company_id BIGINT NOT NULL, d DECIMAL(10,2) UNSIGNED NOT NULL, b BIT(8) NULL, v VARCHAR(17) NULL, "+
		"e ENUM('small','medium','large') NULL, i4 INET4 NULL, i6 INET6 NULL, u UUID NULL, k VARCHAR(8) COLLATE utf8mb4_bin NULL)")
	for id := 1; id <= 12; id++ {
		mustExec(t, root, "INSERT INTO exact VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?)", id, fmt.Sprintf("%d.%02d", 99999999-id, id), id*21%256,
			strings.Repeat("é", id%18), []string{"small", "medium", "large"}[id%3], fmt.Sprintf("192.0.2.%d", id), fmt.Sprintf("2001:db8::%x", id*4099),
			fmt.Sprintf("123e4567-e89b-12d3-a456-%012d", id), []string{"a", "A", "b"}[id%3])
	}
	mustExec(t, root, "INSERT INTO exact (id, company_id, d) VALUES (13, 1, 0.01)")
	cfg, err := drv.ParseDSN(dsn)
	testdb.Must(t, "dsn", err)
	cfg.User, _ = testdb.MySQLUser(t, dsn, name, "SELECT", "ro", "ro-pass-1")
	cfg.Passwd = "ro-pass-1"
	roDSN := cfg.FormatDSN()

	const query = "SELECT id, d, b, v, e, i4, i6, u, k FROM exact WHERE company_id = :company_id"
	cols := []shapeCol{{"id", "q.id", "id", "id::text"}, {"d", "CAST(q.d AS CHAR)", "CAST(d AS CHAR)", "d::text"},
		{"b", "LPAD(BIN(q.b), 8, '0')", "LPAD(BIN(b), 8, '0')", "b::text"},
		hexCol("v"), hexCol("e"), addrCol("i4"), addrCol("i6"), addrCol("u"), hexCol("k")}
	want := map[ferry.Engine][]string{
		ferry.EngineMySQL: {"d decimal(10,2) unsigned", "b bit(8)", "v varchar(17)", "e enum('small','medium','large')",
			"i4 inet4", "i6 inet6", "u uuid"},
		ferry.EnginePostgres: {"d numeric(10,2)", "b bit(8)", "v character varying(17)", "e text", "i4 inet", "i6 inet", "u uuid"},
	}
	for _, account := range []string{"full", "select-only"} {
		for _, engine := range []ferry.Engine{ferry.EngineMySQL, ferry.EnginePostgres} {
			t.Run(account+"/"+string(engine), func(t *testing.T) {
				use := dsn
				if account == "select-only" {
					use = roDSN
				}
				db, err := mysql.Open(ctxT(t), use)
				testdb.Must(t, "open", err)
				t.Cleanup(func() { db.Close() })
				meta, err := mysql.OpenMetadata(ctxT(t), use)
				testdb.Must(t, "open metadata", err)
				t.Cleanup(func() { meta.Close() })
				r := newShapeRun(t, engine, root, mysql.NewSource(db, mysql.WithLogger(quiet), mysql.WithMetadataPool(meta)))
				testdb.Must(t, "add table", r.adm.AddTable(ctxT(t), ferry.TableSpec{Name: "items", Query: query, Params: []string{"company_id"}, ChunkColumn: "id", ChunkRows: 5}, true))
				if res := r.run(t, "run-1"); res.Failed() {
					t.Fatalf("run: %s: %s", res.Execution.Error, res.Execution.Cause)
				}
				r.compare(t, strings.ReplaceAll(query, ":company_id", "?"), cols)
				r.checkColumns(t, want[engine])
				if engine == ferry.EngineMySQL {
					// The source's collation is kept ('a' and 'A' stay distinct).
					var coll string
					testdb.Must(t, "collation", r.mdb.QueryRow("SELECT COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'items' AND COLUMN_NAME = 'k'", r.schema).Scan(&coll))
					if coll != "utf8mb4_bin" {
						t.Errorf("live column k has collation %s, want the source's utf8mb4_bin", coll)
					}
				}
			})
		}
	}
}
