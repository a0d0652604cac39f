package local

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/ferrydata/ferry/internal/admin"
)

// demoCompanies are the demo's customers.
var demoCompanies = []admin.NewCompany{
	{ID: 101, Alias: "acme", Config: map[string]string{"days": "30"}},
	{ID: 202, Alias: "globex", Config: map[string]string{"days": "30"}},
}

// demoTable is one source table and the configured query over it.
type demoTable struct {
	name   string
	ddl    string
	pgDDL  string   // the same table on PostgreSQL (ferry demo --source postgres)
	cols   []string // selected columns (the source table has company_id too)
	share  float64  // of the total rows
	values func(id int64) []any
}

var demoTables = []demoTable{
	{
		name: "customers",
		ddl: "CREATE TABLE customers (id BIGINT NOT NULL, company_id BIGINT NOT NULL, name VARCHAR(200) NOT NULL, " +
			"email VARCHAR(200) NULL, notes TEXT NULL, balance DECIMAL(14,2) NOT NULL, created_at DATETIME(6) NOT NULL, " +
			"avatar VARBINARY(64) NULL, vip TINYINT NOT NULL, KEY customers_id (id), KEY customers_company (company_id))",
		pgDDL: "CREATE TABLE customers (id bigint NOT NULL, company_id bigint NOT NULL, name varchar(200) NOT NULL, " +
			"email varchar(200) NULL, notes text NULL, balance numeric(14,2) NOT NULL, created_at timestamp(6) NOT NULL, " +
			"avatar bytea NULL, vip smallint NOT NULL)",
		cols:  []string{"id", "name", "email", "notes", "balance", "created_at", "avatar", "vip"},
		share: 0.2,
		values: func(id int64) []any {
			return []any{
				fmt.Sprintf("Customer %d %s", id, awkward(id)),
				nullable(id%5 == 0, fmt.Sprintf("c%d@example.com", id)),
				nullableAny(id%3 == 0, awkward(id+3)),
				decimal(id*7919%2000000-1000000, 2),
				stamp(id, 6),
				blob(id),
				id % 2,
			}
		},
	},
	{
		name: "orders",
		ddl: "CREATE TABLE orders (id BIGINT NOT NULL, company_id BIGINT NOT NULL, customer_id BIGINT NOT NULL, " +
			"status VARCHAR(20) NOT NULL, total DECIMAL(12,2) NOT NULL, discount DOUBLE NULL, comment TEXT NULL, " +
			"ordered_at DATETIME NOT NULL, shipped_on DATE NULL, KEY orders_id (id), KEY orders_company (company_id))",
		pgDDL: "CREATE TABLE orders (id bigint NOT NULL, company_id bigint NOT NULL, customer_id bigint NOT NULL, " +
			"status varchar(20) NOT NULL, total numeric(12,2) NOT NULL, discount double precision NULL, comment text NULL, " +
			"ordered_at timestamp(0) NOT NULL, shipped_on date NULL)",
		cols:  []string{"id", "customer_id", "status", "total", "discount", "comment", "ordered_at", "shipped_on"},
		share: 0.4,
		values: func(id int64) []any {
			statuses := []string{"new", "paid", "shipped", "cancelled", "refunded"}
			var discount any
			if id%4 != 0 {
				discount = float64(id%1000) / 7
			}
			var shipped any
			if id%3 != 0 {
				shipped = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(id%700)).Format("2006-01-02")
			}
			return []any{
				id / 3, statuses[id%int64(len(statuses))], decimal(id*104729%10000000, 2), discount,
				nullableAny(id%2 == 0, awkward(id)), stamp(id, 0), shipped,
			}
		},
	},
	{
		name: "events",
		ddl: "CREATE TABLE events (id BIGINT NOT NULL, company_id BIGINT NOT NULL, kind VARCHAR(40) NOT NULL, " +
			"payload TEXT NULL, raw VARBINARY(255) NULL, happened_at DATETIME(3) NOT NULL, " +
			"KEY events_id (id), KEY events_company (company_id))",
		pgDDL: "CREATE TABLE events (id bigint NOT NULL, company_id bigint NOT NULL, kind varchar(40) NOT NULL, " +
			"payload text NULL, raw bytea NULL, happened_at timestamp(3) NOT NULL)",
		cols:  []string{"id", "kind", "payload", "raw", "happened_at"},
		share: 0.4,
		values: func(id int64) []any {
			kinds := []string{"login", "logout", "view", "click", "purchase", "error"}
			return []any{
				kinds[id%int64(len(kinds))],
				nullableAny(id%7 == 0, fmt.Sprintf(`{"n":%d,"s":"%s"}`, id, strings.NewReplacer(`"`, `\"`, "\\", `\\`, "\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(awkward(id)))),
				blob(id + 1),
				stamp(id, 3),
			}
		},
	},
}

// awkwardValues are the strings a naive CSV path breaks on.
var awkwardValues = []string{
	"", `say "hi"`, "a,b,c", "line one\nline two", "back\\slash \\N", "emoji 🚀😀 ünïcødé", "NULL",
	`\N`, "tab\there", "crlf\r\nend", `"`, " padded ", "comma, \"quote\" and\nnewline", "plain",
}

func awkward(id int64) string { return awkwardValues[id%int64(len(awkwardValues))] }

func nullable(null bool, s string) any {
	if null {
		return nil
	}
	return s
}

func nullableAny(null bool, s string) any { return nullable(null, s) }

// decimal formats cents/10^scale as a DECIMAL literal string.
func decimal(v int64, scale int) string {
	neg := v < 0
	if neg {
		v = -v
	}
	s := fmt.Sprintf("%0*d", scale+1, v)
	out := s[:len(s)-scale] + "." + s[len(s)-scale:]
	if neg {
		out = "-" + out
	}
	return out
}

// stamp is a datetime string with frac fractional digits.
func stamp(id int64, frac int) string {
	t := time.Date(2023, 3, 26, 0, 59, 59, 0, time.UTC).Add(time.Duration(id*7919) * time.Second).Add(time.Duration(id%1000000) * time.Microsecond)
	if frac == 0 {
		return t.Format("2006-01-02 15:04:05")
	}
	return t.Format("2006-01-02 15:04:05." + strings.Repeat("0", frac))
}

// blob is binary data with 0x00 bytes, quotes and backslashes; every 6th
// is NULL and every 11th empty.
func blob(id int64) any {
	switch {
	case id%6 == 0:
		return nil
	case id%11 == 0:
		return []byte{}
	}
	return []byte{0x00, byte(id), '"', ',', '\\', '\n', 0xff, byte(id >> 8), 0x00}
}

func companyOf(id int64) int64 {
	if id%3 == 0 {
		return demoCompanies[1].ID
	}
	return demoCompanies[0].ID
}

// demoBatchRows is the rows per INSERT statement on the embedded server:
// it re-plans a prepared statement per execution, so large statements cost
// more per row than a few hundred rows do.
const demoBatchRows = 500

// seed creates the source tables and fills them. It uses its own
// connection with client-side interpolation (the driver escapes every
// value): the embedded server answers a prepared statement with one
// network write per placeholder, which makes bulk seeding with server-side
// binding several times slower. Ferry's own connections never interpolate.
func seed(ctx context.Context, srv *Server, total int) (map[string]int64, error) {
	cfg := gomysql.NewConfig()
	cfg.User = "root"
	cfg.Net = "tcp"
	cfg.Addr = srv.Addr()
	cfg.DBName = "source"
	cfg.InterpolateParams = true
	cfg.Loc = time.UTC
	conn, err := gomysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("demo: seed: %w", err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	counts := map[string]int64{}
	const batch = 2000
	for _, t := range demoTables {
		if _, err := db.ExecContext(ctx, t.ddl); err != nil {
			return nil, fmt.Errorf("demo: seed: create %s: %w", t.name, err)
		}
		n := int64(float64(total) * t.share)
		if n < 1 {
			n = 1
		}
		counts[t.name] = n
		cols := append([]string{"id", "company_id"}, t.cols[1:]...)
		row := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
		args := make([]any, 0, batch*len(cols))
		var rows int
		flush := func() error {
			if rows == 0 {
				return nil
			}
			q := "INSERT INTO " + t.name + " (" + strings.Join(cols, ", ") + ") VALUES " + strings.TrimSuffix(strings.Repeat(row+",", rows), ",")
			if _, err := db.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("demo: seed %s: %w", t.name, err)
			}
			args, rows = args[:0], 0
			return nil
		}
		for id := int64(1); id <= n; id++ {
			args = append(args, id, companyOf(id))
			args = append(args, t.values(id)...)
			rows++
			if rows == batch {
				if err := flush(); err != nil {
					return nil, err
				}
			}
		}
		if err := flush(); err != nil {
			return nil, err
		}
	}
	return counts, nil
}
