package postgres

// CloseIdle closes the pool's connections: a Lambda function calls it when
// an invocation ends, so that a frozen execution environment holds no
// connection between invocations (the connection budget). Connections in
// use are closed when released; the pool opens new ones on demand.
func (t *Target) CloseIdle() { t.pool.Reset() }

// CloseIdle closes the pool's connections; see Target.CloseIdle.
func (s *Source) CloseIdle() { s.pool.Reset() }
