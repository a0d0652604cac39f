package ferry

// Concurrency is how many companies, and chunks per company, a run copies
// at once.
type Concurrency struct {
	Companies int `json:"company_concurrency"`
	Chunks    int `json:"chunk_concurrency"`
}

// Budget is the most connections a run may hold on each database. Each
// export holds one source connection, each load and each swap one target
// connection, only while it runs (a PostgreSQL swap two while it builds
// the deferred indexes, after its company's loads ended); zero means no
// limit.
type Budget struct {
	Source int
	Target int
}

// Limit is the smaller of the two budgets (a chunk holds a source
// connection, then a target one); zero when neither is set.
func (b Budget) Limit() int {
	switch {
	case b.Source <= 0:
		return max(b.Target, 0)
	case b.Target <= 0:
		return b.Source
	}
	return min(b.Source, b.Target)
}

// Fit lowers the requested concurrency so that the run holds at most the
// budget's connections: companies × chunks ≤ min(Source, Target) (a company
// copies its chunks, then swaps, so it holds at most Chunks target
// connections at once). Requested zeros mean unlimited, as in a Map state's
// MaxConcurrency; what Fit returns is never zero when there is a budget.
// The company concurrency is kept if it fits, the chunk concurrency takes
// what is left, at least one.
func (b Budget) Fit(req Concurrency) Concurrency {
	limit := b.Limit()
	if limit <= 0 {
		return req
	}
	out := req
	if out.Companies == 0 || out.Companies > limit {
		out.Companies = limit
	}
	per := max(1, limit/out.Companies)
	if out.Chunks == 0 || out.Chunks > per {
		out.Chunks = per
	}
	return out
}
