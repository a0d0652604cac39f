package jobs

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
)

// checkDB is a JobDB whose CheckJob records what it was asked and may fail.
type checkDB struct {
	fakeDB
	checked []ferry.JobSQL
	err     error
}

func (d *checkDB) CheckJob(_ context.Context, q ferry.JobSQL, _ *ferry.BatchParts) error {
	d.checked = append(d.checked, q)
	return d.err
}

func TestValidate(t *testing.T) {
	now := utc("2026-12-03 12:00")
	companies := []ferry.Company{{ID: 42, Alias: "acme", Schema: "bi_acme", Config: map[string]string{"days": "30"}}, {ID: 43, Alias: "globex", Schema: "bi_globex"}}
	env := func(db ferry.JobDB) Env {
		return Env{Configs: []string{"days", "region"}, Companies: companies, DB: db, RunDate: now, Now: now, PerInvocation: perInvocation}
	}
	db := &checkDB{fakeDB: fakeDB{engine: ferry.EnginePostgres}}
	c, err := Validate(context.Background(), ferry.Job{Name: "refresh", Kind: ferry.JobStatement, Database: ferry.JobOnCompany, Trigger: ferry.JobAfterSwap,
		SQL: "REFRESH MATERIALIZED VIEW CONCURRENTLY sales_summary"}, env(db))
	if err != nil || !c.PerCompany || len(db.checked) != 2 || db.checked[1].Schema != "bi_globex" || c.Job.Timeout != 5*time.Minute || c.Explained {
		t.Fatalf("%+v %v %+v", c, err, db.checked)
	}
	// A per-company job using :since: globex has no days configuration.
	_, err = Validate(context.Background(), ferry.Job{Name: "purge", Kind: ferry.JobBatched, Database: ferry.JobOnSource, Trigger: ferry.JobOnSchedule,
		Schedule: "rate(1 day)", SQL: "DELETE FROM e WHERE company = :company_id AND at < :since"}, env(&checkDB{fakeDB: fakeDB{engine: ferry.EngineMySQL}}))
	if err == nil || !strings.Contains(err.Error(), "company 43 (globex): :since has no value") {
		t.Fatalf("%v", err)
	}
	// Scheduled, once: the next fire times, the params, the due time.
	db = &checkDB{fakeDB: fakeDB{engine: ferry.EngineMySQL}}
	c, err = Validate(context.Background(), ferry.Job{Name: "stats", Kind: ferry.JobStatement, Database: ferry.JobOnTarget, Trigger: ferry.JobOnSchedule,
		Schedule: "cron(0 3 * * ? *)", SQL: "INSERT INTO s SELECT :run_date"}, env(db))
	if err != nil || c.PerCompany || len(c.Fires) != 3 || !c.Job.NextDue.Equal(utc("2026-12-04 03:00")) || len(c.Job.Params) != 1 || !c.Explained || db.checked[0].Params["run_date"] != "2026-12-03" {
		t.Fatalf("%+v %v", c, err)
	}
	// The database refuses: the error names the job (and company).
	db = &checkDB{fakeDB: fakeDB{engine: ferry.EngineMySQL}, err: &ferry.ConfigError{Msg: "no such table e"}}
	_, err = Validate(context.Background(), ferry.Job{Name: "purge", Kind: ferry.JobBatched, Database: ferry.JobOnSource, Trigger: ferry.JobAfterRun,
		SQL: "DELETE FROM e WHERE at < :run_date"}, env(db))
	var ce *ferry.ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "job purge: no such table e") {
		t.Fatalf("%v", err)
	}
	// An unknown parameter is refused before the database is asked.
	db = &checkDB{fakeDB: fakeDB{engine: ferry.EngineMySQL}}
	_, err = Validate(context.Background(), ferry.Job{Name: "x", Kind: ferry.JobStatement, Database: ferry.JobOnSource, Trigger: ferry.JobAfterRun,
		SQL: "DELETE FROM e WHERE c = :colour"}, env(db))
	if err == nil || !strings.Contains(err.Error(), ":colour") || len(db.checked) != 0 {
		t.Fatalf("%v %v", err, db.checked)
	}
}
