package postgres

import (
	"context"
	"slices"
	"testing"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/testdb"
)

// TestLoadCommitsAsynchronously: a chunk's load runs with
// synchronous_commit off, the swap that publishes it with the session's
// setting (on: its commit flushes the loads' WAL too). Statement triggers
// on staging and on the freshness table record the setting in force.
func TestLoadCommitsAsynchronously(t *testing.T) {
	e := newEnv(t)
	e.publish("orders", "run-1", "a", 3)
	stg := e.prepare("orders")
	e.exec(`CREATE TABLE bi_acme.seen (what text, setting text);
		CREATE FUNCTION bi_acme.note() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN INSERT INTO bi_acme.seen (what, setting) VALUES (TG_ARGV[0], current_setting('synchronous_commit')); RETURN NULL; END $$`)
	e.exec(`CREATE TRIGGER seen AFTER INSERT ON bi_acme.` + quoteIdent(stg) + ` FOR EACH STATEMENT EXECUTE FUNCTION bi_acme.note('load')`)
	e.exec(`CREATE TRIGGER seen AFTER INSERT OR UPDATE ON bi_acme.` + quoteIdent(ferry.FreshnessTable) + ` FOR EACH STATEMENT EXECUTE FUNCTION bi_acme.note('swap')`)
	e.load(stg, 1, 5, kvCSV("b", 1, 5))
	_, err := e.tg.Swap(context.Background(), ferry.SwapRequest{RunID: "run-2", Schema: testSchema,
		Tables: []ferry.SwapTable{{Table: "orders", Staging: stg, Expected: 4}}})
	testdb.Must(t, "swap", err)
	// The swap's upsert fires the INSERT and the UPDATE trigger.
	got := e.strings(`SELECT DISTINCT what || '=' || setting AS s FROM bi_acme.seen ORDER BY s`)
	if want := []string{"load=off", "swap=on"}; !slices.Equal(got, want) {
		t.Fatalf("synchronous_commit in force: %v, want %v", got, want)
	}
}
