package postgres

import (
	"context"
	"reflect"
	"testing"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/admin/admintest"
	"github.com/ferrydata/ferry/internal/testdb"
)

// TestAdminContract runs the admin database's contract suite on
// PostgreSQL.
func TestAdminContract(t *testing.T) {
	open := func(t *testing.T) *admin.DB {
		_, url := testdb.PostgresConn(t)
		adm, err := Engine{}.OpenAdmin(context.Background(), url, nil)
		testdb.Must(t, "open admin", err)
		t.Cleanup(func() { adm.Close() })
		_, err = adm.Migrate(context.Background())
		testdb.Must(t, "migrate", err)
		return adm
	}
	admintest.Run(t, open)
	admintest.RunJobs(t, open)
}

func TestAdminMigrateKeepsOriginalRowsAndIsIdempotent(t *testing.T) {
	ctx := context.Background()
	conn, url := testdb.PostgresConn(t)
	// An admin database of the original tool's shape, with rows.
	for _, s := range []string{
		"CREATE TABLE companies (company_id INT PRIMARY KEY, status VARCHAR(10), alias VARCHAR(50))",
		`CREATE TABLE "tables" (name VARCHAR(100) PRIMARY KEY, status VARCHAR(10), query_select TEXT, params_select TEXT, query_insert TEXT, params_insert TEXT)`,
		"CREATE TABLE configurations (name VARCHAR(100) PRIMARY KEY)",
		"CREATE TABLE companies_configurations (company INT, configuration VARCHAR(100), value VARCHAR(255), PRIMARY KEY (company, configuration))",
		"INSERT INTO companies VALUES (7, 'active', 'acme'), (8, 'inactive', 'old')",
		`INSERT INTO "tables" VALUES ('orders', 'active', 'SELECT id, total FROM orders WHERE company_id = :company_id', 'company_id', 'INSERT ...', 'x')`,
		"INSERT INTO configurations VALUES ('days')",
		"INSERT INTO companies_configurations VALUES (7, 'days', '30')",
	} {
		_, err := conn.Exec(ctx, s)
		testdb.Must(t, s, err)
	}
	adm, err := Engine{}.OpenAdmin(ctx, url, nil)
	testdb.Must(t, "open admin", err)
	defer adm.Close()
	for i := 0; i < 2; i++ {
		_, err := adm.Migrate(ctx)
		testdb.Must(t, "migrate", err)
	}
	var n int
	testdb.Must(t, "count", conn.QueryRow(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n))
	migs, _ := adm.Backend().Migrations()
	if n != len(migs) || n < 3 {
		t.Fatalf("schema_migrations has %d rows, want %d", n, len(migs))
	}
	cs, err := adm.ActiveCompanies(ctx, nil)
	testdb.Must(t, "active companies", err)
	want := []ferry.Company{{ID: 7, Alias: "acme", Schema: "bi_acme", Config: map[string]string{"days": "30"}}}
	if !reflect.DeepEqual(cs, want) {
		t.Fatalf("companies = %+v, want %+v", cs, want)
	}
	ts, err := adm.ActiveTables(ctx)
	testdb.Must(t, "active tables", err)
	if len(ts) != 1 || ts[0].ChunkColumn != "id" || ts[0].ChunkRows != admin.DefaultChunkRows || !reflect.DeepEqual(ts[0].Params, []string{"company_id"}) {
		t.Fatalf("tables = %+v", ts)
	}
}
