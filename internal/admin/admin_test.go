package admin_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
)

func TestParseParams(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"company_id", []string{"company_id"}},
		{"company_id, since", []string{"company_id", "since"}},
		{":company_id,:since", []string{"company_id", "since"}},
		{`["company_id","days"]`, []string{"company_id", "days"}},
	} {
		got, err := admin.ParseParams(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseParams(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	if _, err := admin.ParseParams(`["a",`); err == nil {
		t.Error("ParseParams(bad JSON) = nil error")
	}
}

// TestNextLease is the lease rule every engine applies.
func TestNextLease(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	held := admin.Lease{Holder: "run-1", AcquiredAt: t0, ExpiresAt: t0.Add(time.Hour)}
	tests := []struct {
		name   string
		cur    admin.Lease
		run    string
		now    time.Time
		want   admin.Lease
		refuse bool
	}{
		{"free", admin.Lease{}, "run-1", t0, held, false},
		{"same run extends, keeps acquired_at", held, "run-1", t0.Add(time.Minute), admin.Lease{Holder: "run-1", AcquiredAt: t0, ExpiresAt: t0.Add(61 * time.Minute)}, false},
		{"another run is refused", held, "run-2", t0.Add(30 * time.Minute), held, true},
		{"expired is taken over", held, "run-2", t0.Add(2 * time.Hour), admin.Lease{Holder: "run-2", AcquiredAt: t0.Add(2 * time.Hour), ExpiresAt: t0.Add(3 * time.Hour)}, false},
	}
	for _, tt := range tests {
		got, err := admin.NextLease(tt.cur, tt.run, time.Hour, tt.now)
		var h *ferry.RunLeaseHeldError
		if tt.refuse != errors.As(err, &h) || (!tt.refuse && err != nil) || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: NextLease = %+v, %v; want %+v (refused %v)", tt.name, got, err, tt.want, tt.refuse)
		}
	}
}
