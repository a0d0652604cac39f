package ops

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
)

func TestOneLine(t *testing.T) {
	for _, tc := range []struct {
		in     string
		hasFix bool
		want   string
	}{
		{"a\n  b\tc", false, "a b c"},
		{"query failed: x (fix: do y)", true, "query failed: x"},
		{"query failed: x (fix: do y)", false, "query failed: x (fix: do y)"},
		{"no fix here", true, "no fix here"},
	} {
		if got := oneLine(tc.in, tc.hasFix); got != tc.want {
			t.Errorf("oneLine(%q, %v) = %q, want %q", tc.in, tc.hasFix, got, tc.want)
		}
	}
}

func TestProblems(t *testing.T) {
	a, b, c := errors.New("a"), errors.New("b"), errors.New("c")
	if got := Problems(errors.Join(a, errors.Join(b, c))); len(got) != 3 {
		t.Errorf("nested join: %v", got)
	}
	if got := Problems(a); len(got) != 1 {
		t.Errorf("single: %v", got)
	}
	if Problems(nil) != nil {
		t.Error("nil")
	}
	if !HasOnlyConfigProblems(errors.Join(&ferry.ConfigError{Msg: "x"}, &ferry.ConfigError{Msg: "y"})) {
		t.Error("config problems not recognised")
	}
	if HasOnlyConfigProblems(errors.Join(&ferry.ConfigError{Msg: "x"}, a)) {
		t.Error("a plain error counted as a config problem")
	}
}

func TestCheckCompanyInput(t *testing.T) {
	day := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		in   CompanyInput
		want []string // every substring must appear; none: valid
	}{
		{"valid", CompanyInput{ID: 42, Alias: "acme", Config: map[string]string{"days": "30", "region": "eu"}}, nil},
		{"valid schema", CompanyInput{ID: 42, Alias: "acme", Schema: "reporting_acme"}, nil},
		{"everything wrong at once", CompanyInput{ID: -1, Alias: "Acme!", Schema: "a b", Config: map[string]string{"bad-name": "1", "company_id": "7"}},
			[]string{"positive integer", "must match", "target schema", `"bad-name" is not usable`, "shadowed by the built-in parameter :company_id"}},
		{"reserved schema", CompanyInput{ID: 1, Alias: "a", Schema: "_ferry_x"}, []string{"reserved"}},
		{"bad days", CompanyInput{ID: 1, Alias: "a", Config: map[string]string{"days": "many"}}, []string{"not a whole number of days"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckCompany(context.Background(), nil, tc.in, day)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			if !HasOnlyConfigProblems(err) {
				t.Errorf("not all ConfigErrors: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
		})
	}
	if got := (CompanyInput{ID: 1, Alias: "acme"}).Company().Schema; got != "bi_acme" {
		t.Errorf("default schema %q", got)
	}
}

func TestConnectErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		open func() error
		want []string
	}{
		{"admin unset", func() error { _, _, err := OpenAdmin(ctx, ""); return err }, []string{"admin database: is not set", "--admin-dsn", "FERRY_ADMIN_DSN"}},
		{"source is postgres", func() error { _, err := OpenSource(ctx, "postgres://u:secret@127.0.0.1:5432/x"); return err }, []string{"must be MySQL", "--source-dsn"}},
		{"bad scheme", func() error { _, err := OpenTarget(ctx, "oracle://u:secret@h/x"); return err }, []string{"not supported", "--target-dsn"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.open()
			if err == nil {
				t.Fatal("no error")
			}
			if !IsConnect(err) {
				t.Errorf("not a ConnectError: %T", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
	if e, err := TargetEngine("postgres://u@h/db"); err != nil || e != ferry.EnginePostgres {
		t.Errorf("TargetEngine: %v %v", e, err)
	}
}
