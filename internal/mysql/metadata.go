package mysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"reflect"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/mysql/mysqltype"
)

// resultFields runs query with its bound args on one connection of db
// under sql_select_limit = 0, so that the server sends the result's column
// definitions and no row (a LIMIT written in the query wins, and bounds the
// work), and returns them. It needs nothing beyond SELECT on the tables the
// query reads.
//
// go-sql-driver does not expose a column's length, flags or table name
// through database/sql, only through its result set: they are read from it
// by reflection (see fieldsOf). The table name is only sent to the driver's
// result set when the pool's connector has ColumnsWithAlias (the metadata
// pool of OpenSource); withTables says so, and without it Origin stays
// unknown.
func resultFields(ctx context.Context, db *sql.DB, query string, args []any, withTables bool) ([]ferry.Column, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SET SESSION sql_select_limit = 0"); err != nil {
		return nil, err
	}
	defer func() {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), "SET SESSION sql_select_limit = DEFAULT"); err != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	var fields []mysqltype.Field
	err = conn.Raw(func(dc any) error {
		rows, err := driverQuery(ctx, dc, query, args)
		if err != nil {
			return err
		}
		defer rows.Close()
		fields, err = fieldsOf(rows)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]ferry.Column, len(fields))
	for i, f := range fields {
		out[i] = mysqltype.FromField(f)
		if !withTables {
			out[i].Origin, out[i].Table = "", ""
		}
	}
	return out, nil
}

// driverQuery runs query on the driver connection dc: prepared (binary
// protocol) with args, as every other statement of the Source.
func driverQuery(ctx context.Context, dc any, query string, args []any) (driver.Rows, error) {
	named := make([]driver.NamedValue, len(args))
	for i, a := range args {
		v, err := driver.DefaultParameterConverter.ConvertValue(a)
		if err != nil {
			return nil, fmt.Errorf("parameter %d: %w", i+1, err)
		}
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	pc, ok := dc.(driver.ConnPrepareContext)
	if !ok {
		return nil, errors.New("the MySQL driver cannot prepare statements")
	}
	st, err := pc.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	sq, ok := st.(driver.StmtQueryContext)
	if !ok {
		st.Close()
		return nil, errors.New("the MySQL driver cannot query a prepared statement")
	}
	rows, err := sq.QueryContext(ctx, named)
	if err != nil {
		st.Close()
		return nil, err
	}
	return stmtRows{Rows: rows, st: st}, nil
}

// stmtRows closes its statement with the rows.
type stmtRows struct {
	driver.Rows
	st driver.Stmt
}

func (r stmtRows) Close() error {
	err := r.Rows.Close()
	if cerr := r.st.Close(); err == nil {
		err = cerr
	}
	return err
}

// fieldsOf reads the column definitions go-sql-driver keeps in its result
// set (mysqlRows.rs.columns: tableName, name, length, flags, fieldType,
// decimals, charSet), which database/sql does not expose. The driver's
// version is pinned in go.mod and TestResultFields fails should its layout
// change; then this reports an error and Columns falls back to what
// database/sql gives.
func fieldsOf(rows driver.Rows) (out []mysqltype.Field, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("reading the MySQL driver's result metadata: %v", r)
		}
	}()
	if sr, ok := rows.(stmtRows); ok {
		rows = sr.Rows
	}
	v := reflect.ValueOf(rows)
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		v = v.Elem()
	}
	cols := v.FieldByName("mysqlRows").FieldByName("rs").FieldByName("columns")
	if !cols.IsValid() || cols.Kind() != reflect.Slice {
		return nil, fmt.Errorf("the MySQL driver's result set (%s) has no column definitions where Ferry reads them", v.Type())
	}
	names := rows.Columns()
	for i := 0; i < cols.Len(); i++ {
		f := cols.Index(i)
		mf := mysqltype.Field{
			Name:            f.FieldByName("name").String(),
			Table:           f.FieldByName("tableName").String(),
			Type:            uint8(f.FieldByName("fieldType").Uint()),
			Length:          uint32(f.FieldByName("length").Uint()),
			Flags:           uint16(f.FieldByName("flags").Uint()),
			Decimals:        uint8(f.FieldByName("decimals").Uint()),
			Charset:         uint8(f.FieldByName("charSet").Uint()),
			MaxBytesPerChar: 4, // the connection character set is utf8mb4 (Config)
		}
		if i < len(names) && mf.Name == "" {
			mf.Name = names[i]
		}
		out = append(out, mf)
	}
	return out, nil
}
