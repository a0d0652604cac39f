package keyset

import (
	"errors"
	"reflect"
	"sort"
	"testing"

	"github.com/ferrydata/ferry"
)

// fake answers the probes over a sorted list of values.
func fake(vals []int64, hi, every int64) func(Probe, int64) (int64, bool, error) {
	sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
	return func(p Probe, from int64) (int64, bool, error) {
		var in []int64
		for _, v := range vals {
			if v < hi && (v > from || v == from && p != Next) {
				in = append(in, v)
			}
		}
		i := int64(0)
		if p == Step {
			i = every
		}
		if i >= int64(len(in)) {
			return 0, false, nil
		}
		return in[i], true, nil
	}
}

func TestWalk(t *testing.T) {
	tests := []struct {
		name      string
		vals      []int64
		lo, hi    int64
		every     int64
		want      []int64
		maxProbes int
	}{
		{"dense", []int64{1, 2, 3, 4, 5, 6, 7}, 1, 8, 3, []int64{1, 4, 7}, 0},
		{"sparse", []int64{1, 1_800_000_000_000_000_000}, 0, 1 << 62, 1, []int64{1, 1_800_000_000_000_000_000}, 0},
		{"duplicates beyond every", []int64{5, 5, 5, 5, 5, 9, 9}, 0, 100, 2, []int64{5, 9}, 0},
		{"empty", nil, 0, 10, 5, nil, 0},
		{"empty range", []int64{1}, 5, 5, 1, nil, 0},
		{"range bounds", []int64{1, 2, 3, 4, 5}, 2, 4, 1, []int64{2, 3}, 0},
	}
	for _, tt := range tests {
		got, err := Walk("test", tt.lo, tt.hi, tt.every, fake(tt.vals, tt.hi, tt.every))
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Walk = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
	boom := errors.New("boom")
	var ce *ferry.ConfigError
	if _, err := Walk("test", 0, 10, 0, fake(nil, 10, 0)); !errors.As(err, &ce) {
		t.Errorf("Walk with chunk size 0 = %v, want a ConfigError", err)
	}
	if _, err := Walk("test", 0, 10, 1, func(p Probe, _ int64) (int64, bool, error) {
		if p == Step {
			return 0, false, boom
		}
		return 1, true, nil
	}); !errors.Is(err, boom) {
		t.Errorf("Walk with a failing probe = %v", err)
	}
}
