package postgres

import (
	"context"
	"strconv"
	"strings"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/postgres/pgcol"
	"github.com/jackc/pgx/v5/pgconn"
)

// describeSQL reads what the catalogs say about a result's columns: exact
// type, element type, kind of type, origin table and key. The arrays of
// type OIDs, modifiers, table OIDs and attribute numbers are bound.
const describeSQL = `SELECT format_type(f.oid, f.mod),
	format_type(coalesce(e.oid, t.oid), NULL),
	coalesce(e.typtype, t.typtype)::text,
	coalesce(e.typnamespace, t.typnamespace) = 'pg_catalog'::regnamespace,
	coalesce(e.oid, 0),
	coalesce((SELECT c.relname::text FROM pg_class c WHERE c.oid = f.tbl), ''),
	coalesce((SELECT CASE WHEN bool_or(i.indisprimary) THEN 'primary' WHEN bool_or(i.indisunique) THEN 'unique'
		WHEN count(*) > 0 THEN 'index' ELSE '' END
		FROM pg_index i WHERE f.tbl <> 0 AND i.indrelid = f.tbl AND f.att = ANY (i.indkey::int2[])), ''),
	scale(1::money::numeric)
FROM unnest($1::oid[], $2::int4[], $3::oid[], $4::int2[]) WITH ORDINALITY AS f(oid, mod, tbl, att, i)
JOIN pg_type t ON t.oid = f.oid
LEFT JOIN pg_type e ON e.oid = t.typelem AND t.typcategory = 'A'
ORDER BY f.i`

// describe returns the result columns of the bound query without running
// it: the server's RowDescription (Parse, no Execute) and one catalog
// query.
func describe(ctx context.Context, pc *pgconn.PgConn, b bound) ([]ferry.Column, *pgconn.StatementDescription, error) {
	sd, err := pc.Prepare(ctx, "", b.sql, nil)
	if err != nil {
		return nil, nil, err
	}
	n := len(sd.Fields)
	lists := [4][]string{make([]string, n), make([]string, n), make([]string, n), make([]string, n)}
	for i, f := range sd.Fields {
		lists[0][i] = strconv.FormatUint(uint64(f.DataTypeOID), 10)
		lists[1][i] = strconv.FormatInt(int64(f.TypeModifier), 10)
		lists[2][i] = strconv.FormatUint(uint64(f.TableOID), 10)
		lists[3][i] = strconv.FormatUint(uint64(f.TableAttributeNumber), 10)
	}
	args := make([][]byte, len(lists))
	for i, l := range lists {
		args[i] = []byte("{" + strings.Join(l, ",") + "}")
	}
	cols := make([]ferry.Column, 0, n)
	rr := pc.ExecParams(ctx, describeSQL, args, nil, nil, nil)
	for rr.NextRow() {
		v := rr.Values()
		if len(cols) == n {
			continue
		}
		f := sd.Fields[len(cols)]
		elem, _ := strconv.ParseUint(string(v[4]), 10, 32)
		scale, _ := strconv.Atoi(string(v[7]))
		cols = append(cols, pgcol.Column(pgcol.Desc{Name: f.Name, OID: f.DataTypeOID, Mod: f.TypeModifier,
			Type: string(v[0]), Base: string(v[1]), TypType: first(v[2]), Catalog: string(v[3]) == "t",
			ElemOID: uint32(elem), Table: string(v[5]), Key: ferry.KeyKind(v[6]), MoneyScale: scale}))
	}
	_, err = rr.Close()
	return cols, sd, err
}

func first(b []byte) byte {
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// Columns returns the result columns of query without reading rows: the
// exact type as format_type prints it (a domain as its base type), the
// kind and attributes (pgcol.Column), the table each column is read from
// and whether it is part of a key. Every column is reported nullable: the
// result description carries no nullability, and a NOT NULL table column
// can still be NULL on the outer side of a join.
func (s *Source) Columns(ctx context.Context, query string, params map[string]ferry.Param) ([]ferry.Column, error) {
	const op = "postgres: columns of query"
	b, err := bindQuery(op, query, params)
	if err != nil {
		return nil, err
	}
	var cols []ferry.Column
	err = s.read(ctx, op, func(pc *pgconn.PgConn) error {
		var err error
		cols, _, err = describe(ctx, pc, b)
		return err
	})
	if err != nil {
		return nil, sourceErr(ctx, op, err)
	}
	return cols, nil
}
