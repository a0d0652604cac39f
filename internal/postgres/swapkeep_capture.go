package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// captureProps reads live's tableProps from the catalogs (inside the swap
// transaction, after live is locked, so they cannot change meanwhile).
func captureProps(ctx context.Context, tx pgx.Tx, oid uint32) (tableProps, error) {
	var p tableProps
	err := tx.QueryRow(ctx, `SELECT c.relrowsecurity, c.relforcerowsecurity, c.relreplident::text, obj_description(c.oid, 'pg_class'),
			coalesce((SELECT `+indexKeySQL+` FROM pg_index x WHERE x.indrelid = c.oid AND x.indisreplident), '')
		FROM pg_class c WHERE c.oid = $1`, oid).Scan(&p.rls, &p.forceRLS, &p.replIdent, &p.comment, &p.replIndex)
	if err != nil {
		return p, err
	}
	if p.colComments, err = columnComments(ctx, tx, oid); err != nil {
		return p, err
	}
	if p.policies, err = collect(ctx, tx, `SELECT p.polname, p.polcmd::text, p.polpermissive,
			coalesce((SELECT string_agg(CASE WHEN r = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r)) END, ', ' ORDER BY r) FROM unnest(p.polroles) r), 'PUBLIC'),
			pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
		FROM pg_policy p WHERE p.polrelid = $1 ORDER BY 1`, oid, func(r pgx.Rows, v *policy) error {
		return r.Scan(&v.name, &v.cmd, &v.permissive, &v.roles, &v.qual, &v.check)
	}); err != nil {
		return p, err
	}
	if p.triggers, err = collect(ctx, tx, `SELECT t.tgname, pg_get_triggerdef(t.oid), t.tgenabled::text
		FROM pg_trigger t WHERE t.tgrelid = $1 AND NOT t.tgisinternal ORDER BY 1`, oid, func(r pgx.Rows, v *trigger) error {
		return r.Scan(&v.name, &v.def, &v.enabled)
	}); err != nil {
		return p, err
	}
	p.pubs, err = collect(ctx, tx, publicationsSQL(ctx, tx), oid, func(r pgx.Rows, v *pubMember) error {
		return r.Scan(&v.pub, &v.cols, &v.filter)
	})
	return p, err
}

// publicationsSQL lists a table's explicit publication memberships; from
// PostgreSQL 15 on with their column lists and row filters.
func publicationsSQL(ctx context.Context, tx pgx.Tx) string {
	var v int
	if err := tx.QueryRow(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&v); err == nil && v >= 150000 {
		return `SELECT p.pubname,
				coalesce(' (' || (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.n) FROM unnest(r.prattrs) WITH ORDINALITY k(attnum, n)
					JOIN pg_attribute a ON a.attrelid = r.prrelid AND a.attnum = k.attnum) || ')', ''),
				coalesce(pg_get_expr(r.prqual, r.prrelid), '')
			FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid WHERE r.prrelid = $1 ORDER BY 1`
	}
	return `SELECT p.pubname, '', '' FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid WHERE r.prrelid = $1 ORDER BY 1`
}

// columnComments maps each column of the relation rel to its comment.
func columnComments(ctx context.Context, tx pgx.Tx, rel uint32) (map[string]*string, error) {
	type cc struct {
		name    string
		comment *string
	}
	list, err := collect(ctx, tx, `SELECT a.attname, col_description(a.attrelid, a.attnum) FROM pg_attribute a
		WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped`, rel, func(r pgx.Rows, v *cc) error {
		return r.Scan(&v.name, &v.comment)
	})
	out := make(map[string]*string, len(list))
	for _, c := range list {
		out[c.name] = c.comment
	}
	return out, err
}

// collect scans every row of sql (one argument) with scan.
func collect[T any](ctx context.Context, tx pgx.Tx, sql string, arg any, scan func(pgx.Rows, *T) error) ([]T, error) {
	rows, err := tx.Query(ctx, sql, arg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := scan(rows, &v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
