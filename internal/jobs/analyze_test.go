package jobs

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/sqlparams"
)

func TestAnalyzeBatched(t *testing.T) {
	tests := []struct {
		name string
		d    sqlparams.Dialect
		sql  string
		want ferry.BatchParts
	}{
		{"delete", sqlparams.MySQL, "DELETE FROM events WHERE created_at < :since",
			ferry.BatchParts{Table: "events", Name: []string{"events"}, Where: "created_at < :since"}},
		{"delete qualified alias", sqlparams.Postgres, `delete from only bi."Events" as e where e.created_at < :since and e.kind in ('a', 'b');`,
			ferry.BatchParts{Table: `bi."Events" as e`, Name: []string{"bi", "Events"}, Alias: "e", Where: "e.created_at < :since and e.kind in ('a', 'b')"}},
		{"delete everything", sqlparams.Postgres, "DELETE FROM scratch",
			ferry.BatchParts{Table: "scratch", Name: []string{"scratch"}}},
		{"mysql modifiers backticks", sqlparams.MySQL, "DELETE LOW_PRIORITY QUICK FROM `app`.`log` l WHERE l.at < :since",
			ferry.BatchParts{Table: "`app`.`log` l", Name: []string{"app", "log"}, Alias: "l", Where: "l.at < :since"}},
		{"update", sqlparams.MySQL, "UPDATE orders SET archived = 1, note = 'where' WHERE archived = 0 AND placed_at < :since",
			ferry.BatchParts{Update: true, Table: "orders", Name: []string{"orders"}, Set: "archived = 1, note = 'where'", Where: "archived = 0 AND placed_at < :since"}},
		{"update qualified set column", sqlparams.Postgres, `UPDATE t AS x SET x."Done" = true WHERE NOT x."Done" AND x.at IS DISTINCT FROM NULL`,
			ferry.BatchParts{Update: true, Table: "t AS x", Name: []string{"t"}, Alias: "x", Set: `x."Done" = true`, Where: `NOT x."Done" AND x.at IS DISTINCT FROM NULL`}},
		{"where with subquery", sqlparams.Postgres, "DELETE FROM a WHERE id IN (SELECT a_id FROM b ORDER BY 1 LIMIT 5)",
			ferry.BatchParts{Table: "a", Name: []string{"a"}, Where: "id IN (SELECT a_id FROM b ORDER BY 1 LIMIT 5)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Analyze(ferry.Job{Name: "j", Kind: ferry.JobBatched, SQL: tt.sql}, tt.d)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*s.Batch, tt.want) {
				t.Fatalf("parts = %#v\nwant    %#v", *s.Batch, tt.want)
			}
		})
	}
}

func TestAnalyzeRefuses(t *testing.T) {
	tests := []struct {
		name string
		kind ferry.JobKind
		d    sqlparams.Dialect
		sql  string
		want string
	}{
		{"two statements", ferry.JobStatement, sqlparams.MySQL, "ANALYZE TABLE a; ANALYZE TABLE b", "more than one statement"},
		{"extract writes", ferry.JobExtract, sqlparams.Postgres, "DELETE FROM a RETURNING *", "read-only SELECT"},
		{"extract locks", ferry.JobExtract, sqlparams.MySQL, "SELECT * FROM a FOR UPDATE", "FOR UPDATE"},
		{"batched insert", ferry.JobBatched, sqlparams.MySQL, "INSERT INTO a SELECT * FROM b", "starts with INSERT"},
		{"batched limit", ferry.JobBatched, sqlparams.MySQL, "DELETE FROM a WHERE x < 1 LIMIT 100", "LIMIT"},
		{"batched order", ferry.JobBatched, sqlparams.MySQL, "DELETE FROM a WHERE x < 1 ORDER BY id", "ORDER BY"},
		{"batched limit no where", ferry.JobBatched, sqlparams.MySQL, "DELETE FROM a LIMIT 100", "LIMIT"},
		{"batched returning", ferry.JobBatched, sqlparams.Postgres, "DELETE FROM a WHERE x < 1 RETURNING id", "RETURNING"},
		{"batched using", ferry.JobBatched, sqlparams.Postgres, "DELETE FROM a USING b WHERE a.id = b.id", "USING"},
		{"batched multi-table delete", ferry.JobBatched, sqlparams.MySQL, "DELETE a FROM a JOIN b ON a.id = b.id", "followed by FROM"},
		{"batched two tables", ferry.JobBatched, sqlparams.MySQL, "DELETE FROM a, b WHERE 1", "more than one table"},
		{"batched update join", ferry.JobBatched, sqlparams.MySQL, "UPDATE a JOIN b ON a.id = b.id SET a.x = 1 WHERE a.x = 0", "one table and then SET"},
		{"batched update from", ferry.JobBatched, sqlparams.Postgres, "UPDATE a SET x = b.x FROM b WHERE a.id = b.id AND a.x <> b.x", "FROM"},
		{"batched update no where", ferry.JobBatched, sqlparams.MySQL, "UPDATE a SET x = 1", "without WHERE"},
		{"batched update never converges", ferry.JobBatched, sqlparams.Postgres, "UPDATE a SET touched_at = now() WHERE created_at < :since", "names none of the columns it sets (touched_at)"},
		{"batched with", ferry.JobBatched, sqlparams.Postgres, "WITH x AS (SELECT 1) DELETE FROM a", "starts with WITH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Analyze(ferry.Job{Name: "purge", Kind: tt.kind, SQL: tt.sql}, tt.d)
			var ce *ferry.ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "job purge: ") || ce.Fix == "" {
				t.Fatalf("err = %v, want a ConfigError naming job purge, containing %q, with a fix", err, tt.want)
			}
		})
	}
}

func TestVerbIdempotentConcurrently(t *testing.T) {
	tests := []struct {
		d          sqlparams.Dialect
		sql        string
		verb       string
		idempotent bool
		concurrent bool
	}{
		{sqlparams.Postgres, "REFRESH MATERIALIZED VIEW CONCURRENTLY bi.sales_summary", "REFRESH MATERIALIZED VIEW", true, true},
		{sqlparams.Postgres, "refresh materialized view s", "REFRESH MATERIALIZED VIEW", true, false},
		{sqlparams.Postgres, "VACUUM (ANALYZE) events", "VACUUM", true, false},
		{sqlparams.Postgres, "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a)", "CREATE INDEX", false, true},
		{sqlparams.Postgres, "SELECT rebuild((SELECT 1 CONCURRENTLY))", "SELECT", false, false},
		{sqlparams.MySQL, "ANALYZE TABLE orders", "ANALYZE TABLE", true, false},
		{sqlparams.MySQL, "CALL rebuild_summary(:company_id)", "CALL", false, false},
		{sqlparams.MySQL, "INSERT INTO s SELECT 1", "INSERT INTO", false, false},
	}
	for _, tt := range tests {
		job := ferry.Job{Name: "j", Kind: ferry.JobStatement, SQL: tt.sql}
		s, err := Analyze(job, tt.d)
		if err != nil {
			t.Fatal(err)
		}
		if s.Verb != tt.verb || Idempotent(job, s) != tt.idempotent || s.Concurrently() != tt.concurrent {
			t.Errorf("%s: verb %q idempotent %v concurrently %v, want %q %v %v", tt.sql, s.Verb, Idempotent(job, s), s.Concurrently(), tt.verb, tt.idempotent, tt.concurrent)
		}
	}
	job := ferry.Job{Name: "j", Kind: ferry.JobStatement, SQL: "CALL p()", Idempotent: true}
	if !Idempotent(job, nil) || !Idempotent(ferry.Job{Kind: ferry.JobBatched}, nil) || !Idempotent(ferry.Job{Kind: ferry.JobExtract}, nil) {
		t.Fatal("an idempotent statement, batched and extract jobs are idempotent")
	}
}

func TestParamsAndPerCompany(t *testing.T) {
	configs := []string{"days", "region"}
	tests := []struct {
		job    ferry.Job
		params []string
		per    bool
		want   string
	}{
		{ferry.Job{Name: "a", Database: ferry.JobOnTarget, Trigger: ferry.JobOnSchedule}, []string{"run_date"}, false, ""},
		{ferry.Job{Name: "a", Database: ferry.JobOnSource, Trigger: ferry.JobOnSchedule}, []string{"company_id", "since"}, true, ""},
		{ferry.Job{Name: "a", Database: ferry.JobOnSource, Trigger: ferry.JobOnSchedule}, []string{"region"}, true, ""},
		{ferry.Job{Name: "a", Database: ferry.JobOnCompany, Trigger: ferry.JobOnSchedule}, nil, true, ""},
		{ferry.Job{Name: "a", Database: ferry.JobOnTarget, Trigger: ferry.JobAfterSwap}, nil, true, ""},
		{ferry.Job{Name: "a", Database: ferry.JobOnTarget, Trigger: ferry.JobAfterRun}, []string{"colour"}, true, "neither a built-in parameter nor a configuration"},
	}
	for _, tt := range tests {
		if got := PerCompany(tt.job, tt.params); got != tt.per {
			t.Errorf("PerCompany(%+v, %v) = %v", tt.job, tt.params, got)
		}
		err := CheckParams(tt.job, tt.params, configs)
		if (err == nil) != (tt.want == "") || err != nil && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("CheckParams(%v) = %v, want %q", tt.params, err, tt.want)
		}
	}
	if err := ValidName("Purge-1"); err == nil {
		t.Error("ValidName accepted Purge-1")
	}
	if err := ValidName("purge_events"); err != nil {
		t.Error(err)
	}
}
