package postgres

import (
	"context"
	"io"

	"github.com/ferrydata/ferry"
)

// ExtractJob streams a read-only SELECT's rows as the csvcodec dialect
// (header first, bare column names) into w, one row at a time, exported as
// Source.ExportQuery exports a query: a READ ONLY transaction with the
// job's schema and time limit and the source's session settings (UTC, ISO
// dates, shortest exact floats, hex bytea), each value as PostgreSQL's
// text output prints it, NULL apart from ”.
func (j *Jobs) ExtractJob(ctx context.Context, q ferry.JobSQL, w io.Writer) (ferry.ExportStats, error) {
	q, err := jobTimeout(ctx, q)
	if err != nil {
		return ferry.ExportStats{}, classify(ctx, "postgres: extract", err)
	}
	return NewSource(j.pool).ExportQuery(ctx, q, w)
}
