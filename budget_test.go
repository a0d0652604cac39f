package ferry

import "testing"

func TestBudgetFit(t *testing.T) {
	cases := []struct {
		name string
		b    Budget
		req  Concurrency
		want Concurrency
	}{
		{"fits", Budget{64, 64}, Concurrency{4, 8}, Concurrency{4, 8}},
		{"chunks lowered", Budget{32, 32}, Concurrency{4, 16}, Concurrency{4, 8}},
		{"smaller budget wins", Budget{100, 10}, Concurrency{4, 8}, Concurrency{4, 2}},
		{"companies lowered, one chunk each", Budget{5, 50}, Concurrency{40, 8}, Concurrency{5, 1}},
		{"unlimited request", Budget{24, 24}, Concurrency{0, 0}, Concurrency{24, 1}},
		{"unlimited chunks", Budget{24, 24}, Concurrency{3, 0}, Concurrency{3, 8}},
		{"no budget", Budget{}, Concurrency{0, 7}, Concurrency{0, 7}},
		{"one budget", Budget{Target: 12}, Concurrency{4, 8}, Concurrency{4, 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.b.Fit(c.req)
			if got != c.want {
				t.Fatalf("Fit(%+v) with %+v = %+v, want %+v", c.req, c.b, got, c.want)
			}
			if limit := min(nz(c.b.Source), nz(c.b.Target)); limit > 0 && got.Companies*got.Chunks > limit {
				t.Fatalf("%d companies × %d chunks exceeds the budget %d", got.Companies, got.Chunks, limit)
			}
		})
	}
}

func nz(n int) int {
	if n == 0 {
		return 1 << 30
	}
	return n
}
