package faults

import (
	"context"
	"io"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/testdb"
)

// diskFullTarget makes alpha's staging table refuse every row as a full
// disk does: before alpha's first load, a trigger on the staging table
// raises SQLSTATE 53100 (disk_full) with the server's message for a file
// that cannot be extended.
type diskFullTarget struct {
	ferry.Target
	w    *world
	t    *testing.T
	once sync.Once
}

// diskFullMsg is PostgreSQL's message when a table's file cannot grow.
const diskFullMsg = `could not extend file "base/16384/16385": No space left on device`

func (d *diskFullTarget) Load(ctx context.Context, req ferry.LoadRequest, r io.Reader) (int64, error) {
	if req.Schema == d.w.schema["alpha"] {
		d.once.Do(func() {
			conn, err := pgx.Connect(ctx, d.w.pgURL)
			testdb.Must(d.t, "connect", err)
			defer conn.Close(context.Background())
			tbl := pgx.Identifier{req.Schema, req.Staging}.Sanitize()
			fn := pgx.Identifier{req.Schema, "ferry_test_disk_full"}.Sanitize()
			for _, q := range []string{
				`CREATE FUNCTION ` + fn + `() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION USING ERRCODE = 'disk_full', MESSAGE = '` + diskFullMsg + `', HINT = 'Check free disk space.'; END $$`,
				`CREATE TRIGGER ferry_test_disk_full BEFORE INSERT ON ` + tbl + ` FOR EACH ROW EXECUTE FUNCTION ` + fn + `()`,
			} {
				_, err := conn.Exec(ctx, q)
				testdb.Must(d.t, q, err)
			}
		})
	}
	return d.Target.Load(ctx, req, r)
}

// TestDiskFullDuringLoad: the PostgreSQL target refuses a load's rows as a
// full disk or a failing tablespace does (SQLSTATE 53100 disk_full, "could
// not extend file … No space left on device"). Making a real tablespace
// full or unwritable needs root on the shared server, so a trigger on
// alpha's staging table raises that error (with that message) for every
// row: it stands for the server failing to write the staging table's
// pages. Alpha fails with the server's message in the run's cause, its
// live table as it was; beta is published.
func TestDiskFullDuringLoad(t *testing.T) {
	t.Parallel()
	w := newWorld(t, ferry.EnginePostgres)
	succeeded(t, w.run(t, "published"))
	before := w.snapshot(t)
	w.changeSource(t)
	w.deps.Target = &diskFullTarget{Target: w.deps.Target, w: w, t: t}
	res := w.run(t, "full")
	w.alphaFailedBetaPublished(t, res, before, "No space left on device", "free space")
}
