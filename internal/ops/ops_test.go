package ops

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/testdb"
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
		{"postgres source refused", func() error { _, err := OpenSource(ctx, "postgres://u:secret@127.0.0.1:5432/x"); return err }, []string{"cannot connect", "--source-dsn"}},
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

// ImproveFixes gives each kind of query problem the fix that helps.
func TestImproveFixes(t *testing.T) {
	where := ferry.Where{Company: "42 (acme)", Table: "orders"}
	for _, tc := range []struct {
		name, msg string
		want      []string
		privilege bool
	}{
		{"since without days", "query uses :since, which has no value for this company (available: :alias)",
			[]string{"ferry company config 42 days=30"}, false},
		{"unknown parameter", "query uses :colour, which has no value for this company (available: :alias)",
			[]string{"ferry company config 42 colour=VALUE"}, false},
		{"MySQL denies a table", "the query fails on the source: Error 1142 (42000): SELECT command denied to user 'ro'@'10.0.0.5' for table 'orders'",
			[]string{"SELECT on table 'orders'", "--source-dsn / FERRY_SOURCE_DSN"}, true},
		{"MariaDB denies a table", "the query fails on the source: Error 1142 (42000): SELECT command denied to user 'ro'@'%' for table `app`.`orders`",
			[]string{"SELECT on table `app`.`orders`"}, true},
		{"a column is denied", "the query fails on the source: Error 1143 (42000): SELECT command denied to user 'ro'@'%' for column 'total' in table 'orders'",
			[]string{"SELECT on column 'total'"}, true},
		{"syntax error keeps its fix", "the query fails on the source: Error 1064 (42000): You have an error", []string{"correct tables.query_select"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := &ferry.ConfigError{Where: where, Msg: tc.msg, Fix: "correct tables.query_select"}
			ps := Problems(ImproveFixes(errors.Join(in, errors.New("other"))))
			if len(ps) != 2 {
				t.Fatalf("%d problems, want 2: %v", len(ps), ps)
			}
			var ce *ferry.ConfigError
			if !errors.As(ps[0], &ce) {
				t.Fatalf("%T is not a ConfigError", ps[0])
			}
			for _, w := range tc.want {
				if !strings.Contains(ce.Fix, w) {
					t.Errorf("fix %q lacks %q", ce.Fix, w)
				}
			}
			if got := IsPrivilegeProblem(ce); got != tc.privilege {
				t.Errorf("IsPrivilegeProblem = %v, want %v", got, tc.privilege)
			}
			if in.Fix != "correct tables.query_select" {
				t.Errorf("the input error was changed: %+v", in)
			}
		})
	}
}

// AddCompany writes the company and its configuration in one transaction:
// when a later row fails, the earlier ones are not left behind.
func TestAddCompanyIsOneTransaction(t *testing.T) {
	db, _ := testdb.MySQLDB(t)
	ctx := context.Background()
	adm := mysql.NewAdmin(db)
	if _, err := adm.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	count := func(q string) int {
		t.Helper()
		var n int
		if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// The too-long name sorts after "days": the company row and days are
	// written before it is refused.
	bad := CompanyInput{ID: 42, Alias: "acme", Config: map[string]string{"days": "30", strings.Repeat("z", 65): "x"}}
	if err := AddCompany(ctx, adm, bad); err == nil {
		t.Fatal("AddCompany accepted a 65-byte configuration name")
	}
	if n := count("SELECT (SELECT COUNT(*) FROM companies) + (SELECT COUNT(*) FROM companies_configurations) + (SELECT COUNT(*) FROM configurations)"); n != 0 {
		t.Errorf("a failed AddCompany left %d rows behind", n)
	}
	if err := AddCompany(ctx, adm, CompanyInput{ID: 42, Alias: "acme", Config: map[string]string{"days": "30", "region": "eu"}}); err != nil {
		t.Fatal(err)
	}
	if n := count("SELECT COUNT(*) FROM companies_configurations WHERE company = 42"); n != 2 {
		t.Errorf("%d configuration values, want 2", n)
	}
}
