package steps

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/testdb"
)

// TestRecordFailureKeepsDetailOut: a swap refused with a DataError whose
// database detail quotes a row value (a deferred unique index meeting
// duplicates: "Key (code)=(c1) already exists.") is recorded in the run
// history (the real admin database) with its message and fix, without
// the detail lines.
func TestRecordFailureKeepsDetailOut(t *testing.T) {
	ctx := context.Background()
	db, _ := testdb.MySQLDB(t)
	adm := mysql.NewAdmin(db)
	_, err := adm.Migrate(ctx)
	testdb.Must(t, "migrate admin", err)
	s := New(Deps{Ledger: adm})
	cause := fmt.Errorf("swap company 1 (acme): %w", &ferry.DataError{Where: ferry.Where{Table: "orders"},
		Msg: "unique index code_u cannot be built on the loaded rows", Fix: "make the query return unique keys",
		Detail: "Key (code)=(secret-c1) already exists."})
	st := &companyState{plan: ferry.Manifest{Tables: []ferry.TablePlan{{Table: "orders"}}}}
	s.recordFailure(ctx, ferry.CompanyRun{RunID: "run-detail", CompanyID: 1, Alias: "acme"}, st, cause)
	loads, err := adm.TableLoads(ctx, "run-detail")
	testdb.Must(t, "table loads", err)
	if len(loads) != 1 || !strings.Contains(loads[0].Error, "unique index code_u") || strings.Contains(loads[0].Error, "secret-c1") {
		t.Fatalf("run history: %+v; want the failure without its database detail", loads)
	}
}
