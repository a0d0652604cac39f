package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/postgres"
	"github.com/ferrydata/ferry/internal/steps"
)

// pgDemo is `ferry demo --source postgres`: the admin, source and target
// databases are three fresh databases on a PostgreSQL server
// (ferry_demo_<random>_admin, _source, _target), dropped by close.
type pgDemo struct {
	server string // the server URL (any database), for CREATE/DROP DATABASE
	prefix string
	safe   string // the server's address without the password
	pools  map[string]*pgxpool.Pool
	adm    *admin.DB
}

var pgDemoRoles = []string{"admin", "source", "target"}

// startPGDemo creates the databases, opens them and migrates the admin
// database. On error nothing is left behind.
func startPGDemo(ctx context.Context, server string) (p *pgDemo, err error) {
	if server == "" {
		server = DefaultPostgresURL
	}
	var b [4]byte
	rand.Read(b[:])
	p = &pgDemo{server: server, prefix: "ferry_demo_" + hex.EncodeToString(b[:]), safe: postgres.Redact(server), pools: map[string]*pgxpool.Pool{}}
	defer func() {
		if err != nil {
			p.close()
		}
	}()
	if err := p.onServer(ctx, func(db string) string {
		return "CREATE DATABASE " + pgx.Identifier{db}.Sanitize() + " ENCODING 'UTF8' TEMPLATE template0"
	}); err != nil {
		return nil, fmt.Errorf("demo: create the databases on %s: %w (fix: start PostgreSQL, or pass --postgres-url of a role that may CREATE DATABASE)", p.safe, err)
	}
	for _, role := range pgDemoRoles {
		u, err := url.Parse(server)
		if err != nil {
			return nil, fmt.Errorf("demo: %s is not a postgres:// URL", p.safe)
		}
		u.Path = "/" + p.prefix + "_" + role
		if p.pools[role], err = postgres.OpenPool(ctx, u.String()); err != nil {
			return nil, fmt.Errorf("demo: open %s: %w", role, err)
		}
	}
	p.adm = postgres.NewAdmin(p.pools["admin"])
	if _, err := p.adm.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("demo: migrate the admin database: %w", err)
	}
	return p, nil
}

// onServer runs stmt(db) on the server for each of the demo's databases.
func (p *pgDemo) onServer(ctx context.Context, stmt func(db string) string) error {
	c, err := pgx.Connect(ctx, p.server)
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	for _, role := range pgDemoRoles {
		if _, err := c.Exec(ctx, stmt(p.prefix+"_"+role)); err != nil {
			return err
		}
	}
	return nil
}

func (p *pgDemo) where() string {
	return fmt.Sprintf("PostgreSQL on %s: databases %s_admin, %s_source, %s_target (dropped at the end)", p.safe, p.prefix, p.prefix, p.prefix)
}

func (p *pgDemo) admin() *admin.DB { return p.adm }

// companyConcurrency: PostgreSQL isolates the companies' transactions.
func (p *pgDemo) companyConcurrency() int { return 2 }

func (p *pgDemo) deps(log *slog.Logger) steps.Deps {
	src := postgres.NewSource(p.pools["source"])
	src.Logger = log
	tgt := postgres.New(p.pools["target"])
	tgt.Logger = log
	jobs := postgres.NewJobs(p.pools["target"])
	return steps.Deps{Config: p.adm, Ledger: p.adm, Source: src, Target: tgt,
		JobDBs: func(context.Context, ferry.JobDatabase) (ferry.JobDB, error) { return jobs, nil }}
}

// close closes the pools and drops the databases.
func (p *pgDemo) close() error {
	for _, pool := range p.pools {
		pool.Close()
	}
	return p.onServer(context.Background(), func(db string) string {
		return "DROP DATABASE IF EXISTS " + pgx.Identifier{db}.Sanitize() + " WITH (FORCE)"
	})
}

// seed creates the source tables and fills each with one COPY ... FROM
// STDIN (text format).
func (p *pgDemo) seed(ctx context.Context, total int) error {
	conn, err := p.pools["source"].Acquire(ctx)
	if err != nil {
		return fmt.Errorf("demo: seed: %w", err)
	}
	defer conn.Release()
	for _, t := range demoTables {
		if _, err := conn.Exec(ctx, t.pgDDL); err != nil {
			return fmt.Errorf("demo: seed: create %s: %w", t.name, err)
		}
		n := max(int64(float64(total)*t.share), 1)
		cols := append([]string{"id", "company_id"}, t.cols[1:]...)
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(writeCopyText(pw, t, n)) }()
		_, err := conn.Conn().PgConn().CopyFrom(ctx, pr, "COPY "+t.name+" ("+strings.Join(cols, ", ")+") FROM STDIN")
		pr.CloseWithError(err)
		if err != nil {
			return fmt.Errorf("demo: seed %s: %w", t.name, err)
		}
		if _, err := conn.Exec(ctx, "CREATE INDEX ON "+t.name+" (id); CREATE INDEX ON "+t.name+" (company_id); ANALYZE "+t.name); err != nil {
			return fmt.Errorf("demo: seed: index %s: %w", t.name, err)
		}
	}
	return nil
}

// writeCopyText writes rows 1..n of t in COPY's text format.
func writeCopyText(w io.Writer, t demoTable, n int64) error {
	var line []byte
	for id := int64(1); id <= n; id++ {
		line = strconv.AppendInt(line[:0], id, 10)
		line = append(line, '\t')
		line = strconv.AppendInt(line, companyOf(id), 10)
		for _, v := range t.values(id) {
			line = appendCopyValue(append(line, '\t'), v)
		}
		if _, err := w.Write(append(line, '\n')); err != nil {
			return err
		}
	}
	return nil
}

// appendCopyValue appends v in COPY's text format: \N for NULL,
// backslash, tab, newline and carriage return escaped, bytea as \\x + hex.
func appendCopyValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, `\N`...)
	case []byte:
		return hex.AppendEncode(append(b, `\\x`...), v)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case float64:
		return strconv.AppendFloat(b, v, 'g', -1, 64)
	case string:
		return append(b, copyEscaper.Replace(v)...)
	}
	panic(fmt.Sprintf("demo: no COPY text for %T", v))
}

var copyEscaper = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`)

// verify compares the company's target table with its source query, both
// read as PostgreSQL prints the values (the text format; the staging
// table has the source's column types, so equal values print equally).
func (p *pgDemo) verify(ctx context.Context, c admin.NewCompany, t demoTable) (Check, error) {
	chk := Check{Alias: c.Alias, Table: t.name}
	cols := strings.Join(t.cols, ", ")
	sc, err := p.pools["source"].Acquire(ctx)
	if err != nil {
		return chk, fmt.Errorf("demo: verify %s.%s source: %w", c.Alias, t.name, err)
	}
	defer sc.Release()
	tc, err := p.pools["target"].Acquire(ctx)
	if err != nil {
		return chk, fmt.Errorf("demo: verify %s.%s target: %w", c.Alias, t.name, err)
	}
	defer tc.Release()
	src := sc.Conn().PgConn().ExecParams(ctx, "SELECT "+cols+" FROM "+t.name+" WHERE company_id = $1 ORDER BY id",
		[][]byte{strconv.AppendInt(nil, c.ID, 10)}, nil, nil, nil)
	tgt := tc.Conn().PgConn().ExecParams(ctx, "SELECT "+cols+" FROM "+pgx.Identifier{ferry.DefaultSchema(c.Alias), t.name}.Sanitize()+" ORDER BY id",
		nil, nil, nil, nil)
	return chk, compareRows(&chk, t.cols, &pgReader{rr: src}, &pgReader{rr: tgt})
}

// pgReader reads a text-format result.
type pgReader struct{ rr *pgconn.ResultReader }

func (r *pgReader) next() bool { return r.rr.NextRow() }

func (r *pgReader) values() ([][]byte, error) { return r.rr.Values(), nil }

func (r *pgReader) err() error {
	_, err := r.rr.Close()
	return err
}
