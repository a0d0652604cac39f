package admin_test

import (
	"context"
	"reflect"
	"sort"
	"testing"

	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/postgres"
	"github.com/ferrydata/ferry/internal/testdb"
)

// TestEnginesHaveTheSameSchema: the MySQL and PostgreSQL admin databases
// have the same migrations (versions and names) and, once migrated, the
// same tables with the same columns, so the original tool's four tables and
// Ferry's own read and write alike on both engines.
func TestEnginesHaveTheSameSchema(t *testing.T) {
	ctx := context.Background()
	myDB, _ := testdb.MySQLDB(t)
	my := mysql.NewAdmin(myDB)
	pgConn, pgURL := testdb.PostgresConn(t)
	pg, err := postgres.Engine{}.OpenAdmin(ctx, pgURL, nil)
	testdb.Must(t, "open postgres admin", err)
	defer pg.Close()
	names := func(db *admin.DB) []string {
		migs, err := db.Backend().Migrations()
		testdb.Must(t, "migrations", err)
		var out []string
		for _, m := range migs {
			out = append(out, m.Name)
		}
		return out
	}
	if m, p := names(my), names(pg); !reflect.DeepEqual(m, p) {
		t.Fatalf("migrations differ: MySQL %v, PostgreSQL %v", m, p)
	}
	for _, db := range []*admin.DB{my, pg} {
		_, err := db.Migrate(ctx)
		testdb.Must(t, "migrate", err)
	}
	myRows, err := myDB.QueryContext(ctx, "SELECT LOWER(TABLE_NAME), LOWER(COLUMN_NAME) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()")
	testdb.Must(t, "MySQL columns", err)
	defer myRows.Close()
	myCols := columns(t, myRows)
	pgRows, err := pgConn.Query(ctx, "SELECT table_name::text, column_name::text FROM information_schema.columns WHERE table_schema = current_schema()")
	testdb.Must(t, "PostgreSQL columns", err)
	defer pgRows.Close()
	pgCols := columns(t, pgRows)
	if !reflect.DeepEqual(myCols, pgCols) {
		t.Fatalf("admin tables differ:\nMySQL      %v\nPostgreSQL %v", myCols, pgCols)
	}
}

// columns reads (table, column) rows into the sorted columns per table.
func columns(t *testing.T, rows interface {
	Next() bool
	Scan(...any) error
}) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for rows.Next() {
		var tb, c string
		testdb.Must(t, "scan", rows.Scan(&tb, &c))
		out[tb] = append(out[tb], c)
	}
	for _, cs := range out {
		sort.Strings(cs)
	}
	return out
}
