package postgres

import (
	"context"
	"fmt"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/postgres/pgcol"
	"github.com/jackc/pgx/v5"
)

// stagingType is the PostgreSQL type of a staging column derived from a
// source column: for a MySQL source the MySQL → PostgreSQL map (MapType);
// for a PostgreSQL source its own type (pgcol.PostgresType: enums as
// text), where a type outside pg_catalog must exist in the target too.
func stagingType(ctx context.Context, tx pgx.Tx, c ferry.Column) (string, error) {
	if c.SourceEngine() != ferry.EnginePostgres {
		return MapType(c.Type)
	}
	typ, mustExist := pgcol.PostgresType(c)
	if !mustExist {
		return typ, nil
	}
	var ok bool
	if err := tx.QueryRow(ctx, `SELECT to_regtype($1) IS NOT NULL`, typ).Scan(&ok); err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("type %s exists in the source database but not in the target one (an extension's type, or a composite)", typ)
	}
	return typ, nil
}
