package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ferrydata/ferry"
	"github.com/jackc/pgx/v5"
)

// relation describes a table found in the catalogs.
type relation struct {
	oid   uint32
	kind  string
	owner string
}

// lookup finds schema.name; ok is false when it does not exist.
func lookup(ctx context.Context, q pgx.Tx, schema, name string) (relation, bool, error) {
	var r relation
	err := q.QueryRow(ctx, `SELECT c.oid, c.relkind::text, pg_get_userbyid(c.relowner)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relname = $2`, schema, name).Scan(&r.oid, &r.kind, &r.owner)
	if errors.Is(err, pgx.ErrNoRows) {
		return relation{}, false, nil
	}
	if err != nil {
		return relation{}, false, err
	}
	return r, true, nil
}

// liveTable finds the live table schema.table; a relation of that name
// that is not a table is a ConfigError.
func liveTable(ctx context.Context, q pgx.Tx, schema, table string) (relation, bool, error) {
	r, ok, err := lookup(ctx, q, schema, table)
	if err != nil || !ok {
		return r, ok, err
	}
	if r.kind != "r" && r.kind != "p" {
		return r, false, &ferry.ConfigError{Where: ferry.Where{Table: table},
			Msg: fmt.Sprintf("%s.%s exists but is not a table (relkind %q)", schema, table, r.kind),
			Fix: "drop or rename it so that Ferry can manage the table " + table}
	}
	return r, true, nil
}

// checkDependents refuses a live table that other objects bind to by OID:
// views and materialized views (pg_depend → pg_rewrite) and foreign keys
// from other tables. After a swap they would follow the old table, which
// becomes the next run's (truncated) staging table.
func checkDependents(ctx context.Context, q pgx.Tx, schema, table string, oid uint32) error {
	rows, err := q.Query(ctx, `SELECT DISTINCT vn.nspname, v.relname, v.relkind::text
		FROM pg_depend d
		JOIN pg_rewrite rw ON rw.oid = d.objid
		JOIN pg_class v ON v.oid = rw.ev_class
		JOIN pg_namespace vn ON vn.oid = v.relnamespace
		WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
		  AND d.refobjid = $1 AND rw.ev_class <> $1
		ORDER BY 1, 2`, oid)
	if err != nil {
		return err
	}
	var views []string
	for rows.Next() {
		var s, n, k string
		if err := rows.Scan(&s, &n, &k); err != nil {
			rows.Close()
			return err
		}
		kind := "view"
		if k == "m" {
			kind = "materialized view"
		}
		views = append(views, kind+" "+s+"."+n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(views) > 0 {
		return &ferry.ConfigError{Where: ferry.Where{Table: table},
			Msg: fmt.Sprintf("%s depends on %s.%s; PostgreSQL binds views to the table itself, not its name, so after a swap it would keep reading the previous (then truncated) table; swap refused, live left unchanged",
				strings.Join(views, ", "), schema, table),
			Fix: "drop the view and point BI tools at the table, or replace the view with a SQL function (CREATE FUNCTION ... RETURNS SETOF ... LANGUAGE sql AS 'SELECT ... FROM " +
				schema + "." + table + "'), whose body resolves the table name at each call"}
	}
	var fks []string
	rows, err = q.Query(ctx, `SELECT conname, conrelid::regclass::text FROM pg_constraint
		WHERE contype = 'f' AND confrelid = $1 AND conrelid <> $1 ORDER BY 1`, oid)
	if err != nil {
		return err
	}
	for rows.Next() {
		var c, r string
		if err := rows.Scan(&c, &r); err != nil {
			rows.Close()
			return err
		}
		fks = append(fks, "foreign key "+c+" on "+r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(fks) > 0 {
		return &ferry.ConfigError{Where: ferry.Where{Table: table},
			Msg: fmt.Sprintf("%s references %s.%s; a foreign key binds to the table itself and would follow it to staging after a swap; swap refused, live left unchanged",
				strings.Join(fks, ", "), schema, table),
			Fix: "drop the foreign key: Ferry replaces the whole table on every run"}
	}
	return nil
}
