package plan

import (
	"slices"
	"testing"

	"github.com/ferrydata/ferry"
)

func TestDenseStarts(t *testing.T) {
	tests := []struct {
		name  string
		b     ferry.Bounds
		every int64
		want  []int64
	}{
		{"dense ids", ferry.Bounds{Rows: 1000, Min: 1, Max: 1000}, 250, []int64{251, 501, 751}},
		{"a few deletes", ferry.Bounds{Rows: 950, Min: 1, Max: 1000}, 500, []int64{501}},
		{"uneven tail", ferry.Bounds{Rows: 1001, Min: 0, Max: 1000}, 500, []int64{333, 667}},
		{"negative keys", ferry.Bounds{Rows: 100, Min: -50, Max: 49}, 50, []int64{0}},
		{"one chunk", ferry.Bounds{Rows: 100, Min: 1, Max: 100}, 100, nil},
		{"sparse: walk", ferry.Bounds{Rows: 1000, Min: 1, Max: 5000}, 100, nil},
		{"huge span: walk", ferry.Bounds{Rows: 3, Min: -1 << 62, Max: 1 << 62}, 1, nil},
		{"no chunk size", ferry.Bounds{Rows: 1000, Min: 1, Max: 1000}, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := denseStarts(tt.b, tt.every)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("denseStarts(%+v, %d) = %v, want %v", tt.b, tt.every, got, tt.want)
			}
			// Whatever the starts, the ranges cover [Min, Max+1) once.
			ch := Ranges(tt.b, got)
			if len(ch) > 0 && (ch[0].Lo != tt.b.Min || ch[len(ch)-1].Hi != tt.b.Max+1) {
				t.Fatalf("ranges %+v do not cover the bounds", ch)
			}
		})
	}
}
