package mysql

import (
	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/mysql/mysqltype"
	"github.com/ferrydata/ferry/internal/postgres/pgcol"
)

// stagingType is the MySQL type of a staging column derived from a
// source column: a MySQL source's own type (validated), or for a
// PostgreSQL source the PostgreSQL → MySQL type map (pgcol.MySQLType,
// docs/types.md).
func stagingType(c ferry.Column) (string, error) {
	if c.SourceEngine() == ferry.EnginePostgres {
		return pgcol.MySQLType(c)
	}
	return c.Type, mysqltype.Valid(c.Type)
}
