package mysql

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/mysql/mysqltype"
)

// refineFromCatalog corrects what result metadata cannot say (a
// SELECT-only account's Columns): an enum or set arrives as a varchar of
// its longest value, MariaDB's uuid, inet4 and inet6 as char(36), (15)
// and (39), and no text column has its collation. For each char or
// varchar column read from a table of the current database under its own
// name (no alias), information_schema.COLUMNS, readable with SELECT alone,
// gives the exact type and collation; the type is taken only when it is
// what the metadata describes (an enum whose longest label is the
// varchar's length, a uuid for a char(36), ...), the collation when the
// types agree. Anything else, or a failed lookup, leaves the columns as
// they are.
func (s *Source) refineFromCatalog(ctx context.Context, cols []ferry.Column) {
	var tables []any
	seen := map[string]bool{}
	for _, c := range cols {
		if c.Origin == ferry.OriginTable && c.Table != "" && (c.Kind == ferry.KindVarchar || c.Kind == ferry.KindChar) && !seen[c.Table] {
			seen[c.Table] = true
			tables = append(tables, c.Table)
		}
	}
	if len(tables) == 0 {
		return
	}
	rows, err := s.db.QueryContext(ctx, "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, COALESCE(COLLATION_NAME, '') FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?"+strings.Repeat(",?", len(tables)-1)+")", tables...)
	if err != nil {
		s.opts.log.DebugContext(ctx, "mysql: catalog types unavailable", "error", err)
		return
	}
	defer rows.Close()
	type entry struct{ typ, collation string }
	catalog := map[string]entry{}
	for rows.Next() {
		var tbl, col string
		var e entry
		if err := rows.Scan(&tbl, &col, &e.typ, &e.collation); err != nil {
			return
		}
		catalog[strings.ToLower(tbl+"\x00"+col)] = e
	}
	if rows.Err() != nil {
		return
	}
	for i, c := range cols {
		e, ok := catalog[strings.ToLower(c.Table+"\x00"+c.Name)]
		if !ok {
			continue
		}
		exact, err := mysqltype.Parse(c.Name, e.typ, c.Nullable)
		switch {
		case err != nil:
			continue
		case exact.Type == c.Type:
		case describes(c, exact):
			exact.Origin, exact.Table, exact.Key = c.Origin, c.Table, c.Key
			cols[i] = exact
		default:
			continue
		}
		if e.collation != "" && c.Collation == "" && textual(cols[i].Kind) {
			cols[i].Collation, cols[i].Charset = e.collation, mysqltype.Charset(e.collation)
		}
	}
}

// describes reports whether the metadata column meta is what the catalog
// type exact looks like in a result.
func describes(meta, exact ferry.Column) bool {
	switch exact.Kind {
	case ferry.KindEnum, ferry.KindSet:
		labels := mysqltype.Labels(exact.Type)
		n, total := 0, 0
		for _, l := range labels {
			k := utf8.RuneCountInString(l)
			n, total = max(n, k), total+k
		}
		if exact.Kind == ferry.KindSet && len(labels) > 0 {
			n = total + len(labels) - 1
		}
		return meta.Kind == ferry.KindVarchar && meta.Length == int64(n)
	case ferry.KindUUID:
		return meta.Kind == ferry.KindChar && meta.Length == 36
	case ferry.KindInet:
		return meta.Kind == ferry.KindChar && (exact.Base == "inet4" && meta.Length == 15 || exact.Base == "inet6" && meta.Length == 39)
	}
	return false
}
