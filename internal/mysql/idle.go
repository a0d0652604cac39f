package mysql

import "database/sql"

// CloseIdle closes the pool's idle connections (and the metadata pool's):
// a Lambda function calls it when an invocation ends, so that a frozen
// execution environment holds no connection between invocations and a run
// holds at most one per running step (the connection budget). Connections
// in use are not touched; the pools open new ones on demand.
func (s *Source) CloseIdle() {
	closeIdle(s.db)
	if s.opts.metaDB != nil {
		closeIdle(s.opts.metaDB)
	}
}

// CloseIdle closes the pool's idle connections; see Source.CloseIdle.
func (t *Target) CloseIdle() { closeIdle(t.db) }

// closeIdle closes db's idle connections, then lets it keep idle ones
// again (database/sql's default, 2) for the next invocation's statements.
func closeIdle(db *sql.DB) {
	db.SetMaxIdleConns(0)
	db.SetMaxIdleConns(2)
}
