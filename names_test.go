package ferry_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ferrydata/ferry"
)

func TestValidIdent(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"plain", "orders", true},
		{"upper and digits", "Orders2024", true},
		{"leading underscore", "_tmp", true},
		{"dollar", "a$b", true},
		{"one letter", "x", true},
		{"63 bytes", strings.Repeat("a", 63), true},
		{"64 bytes", strings.Repeat("a", 64), false},
		{"empty", "", false},
		{"leading digit", "1orders", false},
		{"leading dollar", "$a", false},
		{"hyphen", "order-items", false},
		{"space", "order items", false},
		{"dot", "bi_acme.orders", false},
		{"backtick", "a`b", false},
		{"double quote", `a"b`, false},
		{"single quote", "a'b", false},
		{"semicolon", "a;drop table x", false},
		{"comment", "a--", false},
		{"trailing newline", "orders\n", false},
		{"NUL", "a\x00b", false},
		{"non-ASCII letter", "bestellungen_ä", false},
		{"non-ASCII 63 bytes", strings.Repeat("é", 31) + "a", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ferry.ValidIdent(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidIdent(%q) = %v, want ok=%v", tt.in, err, tt.ok)
			}
		})
	}
}

func TestValidAlias(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"acme", true},
		{"a", true},
		{"acme_2", true},
		{"a" + strings.Repeat("b", 39), true},
		{"a" + strings.Repeat("b", 40), false},
		{"", false},
		{"Acme", false},
		{"1acme", false},
		{"_acme", false},
		{"ac-me", false},
		{"ac me", false},
		{"acme$", false},
		{"acme\n", false},
		{"ac/me", false},
		{"acmé", false},
	}
	for _, tt := range tests {
		err := ferry.ValidAlias(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ValidAlias(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
		if err == nil {
			// The default schema of a valid alias is itself a valid identifier.
			if e := ferry.ValidIdent(ferry.DefaultSchema(tt.in)); e != nil {
				t.Errorf("DefaultSchema(%q) = %q is not a valid identifier: %v", tt.in, ferry.DefaultSchema(tt.in), e)
			}
		}
	}
}

// TestShadowNamesGolden pins the staging and swap names: a staging table
// outlives a run (what was live becomes the next run's staging), so a
// change of the naming scheme would orphan every existing staging table.
func TestShadowNamesGolden(t *testing.T) {
	tests := []struct {
		table, staging, old string
	}{
		{"orders", "_ferry_s_orders_1c168adb", "_ferry_o_orders_1c168adb"},
		{"Orders", "_ferry_s_Orders_b7e8acdd", "_ferry_o_Orders_b7e8acdd"},
		// 45 bytes is the longest base kept whole: 9 + 45 + 1 + 8 = 63.
		{strings.Repeat("a", 45), "_ferry_s_" + strings.Repeat("a", 45) + "_52789e34", "_ferry_o_" + strings.Repeat("a", 45) + "_52789e34"},
		// From 46 bytes on the base is cut at 45; the hash of the full name differs.
		{strings.Repeat("a", 46), "_ferry_s_" + strings.Repeat("a", 45) + "_6643110c", "_ferry_o_" + strings.Repeat("a", 45) + "_6643110c"},
		{strings.Repeat("t", 63), "_ferry_s_" + strings.Repeat("t", 45) + "_fe60147e", "_ferry_o_" + strings.Repeat("t", 45) + "_fe60147e"},
	}
	for _, tt := range tests {
		if got := ferry.StagingName(tt.table); got != tt.staging {
			t.Errorf("StagingName(%q) = %q, want %q", tt.table, got, tt.staging)
		}
		if got := ferry.OldName(tt.table); got != tt.old {
			t.Errorf("OldName(%q) = %q, want %q", tt.table, got, tt.old)
		}
	}
}

// TestShadowNames checks the properties of StagingName and OldName over
// many valid table names, including long ones that share everything up to
// (and past) the truncation point: deterministic, valid identifiers within
// 63 bytes, and no two names alike, not even ignoring case (MySQL with
// lower_case_table_names, or a case-insensitive file system, folds them).
func TestShadowNames(t *testing.T) {
	long := strings.Repeat("x", 45)
	tables := []string{"a", "orders", "Orders", "ORDERS", "order_items", "order$items", "_orders",
		long, long + "a", long + "b", long + "ab", long + "ba",
		strings.Repeat("y", 62) + "1", strings.Repeat("y", 62) + "2", strings.Repeat("y", 63),
		// Differ only in the last byte, far past the cut.
		strings.Repeat("z", 60) + "abc", strings.Repeat("z", 60) + "abd",
		// A table literally named like another table's staging base.
		"_ferry_s_orders", "s_orders",
	}
	for i := 0; i < 2000; i++ {
		tables = append(tables, fmt.Sprintf("t%d", i), fmt.Sprintf("%s_%05d", strings.Repeat("w", 50), i))
	}
	// Names Ferry itself creates beside staging tables in a company schema.
	reserved := []string{"_ferry_freshness", "_ferry_swapping_0123456789abcdef", "_ferry_swapped_0123456789abcdef"}
	seen := map[string]string{}
	for _, r := range reserved {
		seen[r] = "reserved"
	}
	for _, table := range tables {
		if err := ferry.ValidIdent(table); err != nil {
			t.Fatalf("test table %q: %v", table, err)
		}
		for _, kind := range []struct {
			name string
			fn   func(string) string
		}{{"StagingName", ferry.StagingName}, {"OldName", ferry.OldName}} {
			got := kind.fn(table)
			if again := kind.fn(table); again != got {
				t.Fatalf("%s(%q) is not deterministic: %q then %q", kind.name, table, got, again)
			}
			if len(got) > ferry.MaxIdentLen {
				t.Errorf("%s(%q) = %q is %d bytes, over %d", kind.name, table, got, len(got), ferry.MaxIdentLen)
			}
			if err := ferry.ValidIdent(got); err != nil {
				t.Errorf("%s(%q) = %q: %v", kind.name, table, got, err)
			}
			if !strings.HasPrefix(got, "_ferry_") {
				t.Errorf("%s(%q) = %q does not start with _ferry_, which configured tables may not use", kind.name, table, got)
			}
			key := strings.ToLower(got)
			if prev, dup := seen[key]; dup {
				t.Errorf("%s(%q) = %q collides with the name of %s", kind.name, table, got, prev)
			}
			seen[key] = kind.name + "(" + table + ")"
		}
	}
}

func TestObjectKeys(t *testing.T) {
	tests := []struct{ got, want string }{
		{ferry.ChunkKey("run-1", "acme", "orders", 7), "run-1/acme/orders/000007.csv.gz"},
		{ferry.DoneKey("run-1", "acme", "orders", 7), "run-1/acme/orders/000007.done.json"},
		{ferry.ChunkKey("run-1", "acme", "orders", 1234567), "run-1/acme/orders/1234567.csv.gz"},
		{ferry.ChunkKeyFor("run-1", "acme", "orders", 7, ferry.CodecNone), "run-1/acme/orders/000007.csv"},
		{ferry.ChunkKeyFor("run-1", "acme", "orders", 7, ferry.CodecGzip), "run-1/acme/orders/000007.csv.gz"},
		{ferry.ChunkKeyFor("run-1", "acme", "orders", 7, ferry.CodecZstd), "run-1/acme/orders/000007.csv.zst"},
		{ferry.ChunkKeyFor("run-1", "acme", "orders", 7, ""), "run-1/acme/orders/000007.csv.gz"},
		{ferry.ManifestKey("run-1", "acme"), "run-1/acme/manifest.json"},
		{ferry.ChunkName("orders", ferry.Chunk{Index: 3, Lo: -5, Hi: 100}), "orders#3 [-5,100)"},
		{ferry.DefaultSchema("acme"), "bi_acme"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestValidRunID(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"exec-1", true},
		{"ferry-2026-11-22T02:00:00Z", true},
		{"local-20261122T020000.000Z-ab12", true},
		{"a", true},
		{strings.Repeat("a", 80), true},
		{strings.Repeat("a", 81), false},
		{"", false},
		{"_run", false},
		{".run", false},
		{"a..b", false},
		{"a/b", false},
		{"a b", false},
	}
	for _, tt := range tests {
		err := ferry.ValidRunID(tt.in)
		var ce *ferry.ConfigError
		if (err == nil) != tt.ok || (err != nil && !errors.As(err, &ce)) {
			t.Errorf("ValidRunID(%q) = %v, want ok=%v (a ConfigError otherwise)", tt.in, err, tt.ok)
		}
	}
}
