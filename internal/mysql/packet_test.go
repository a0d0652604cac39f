package mysql

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/testdb"
)

// TestClassifyPacketTooLarge: a server's or the driver's refusal of a row
// or value larger than a max_allowed_packet is a *ferry.ConfigError (not
// retried, though the server closes the connection after 1153) whose fix
// names the server to raise it on, not a bare driver error.
func TestClassifyPacketTooLarge(t *testing.T) {
	tests := []struct {
		name, op string
		err      error
		role     string
		more     string
	}{
		{"1153 on a load", "mysql: load s.t [0,10) with INSERT", &mysql.MySQLError{Number: 1153, Message: "Got a packet bigger than 'max_allowed_packet' bytes"}, "target", ""},
		{"1153 wrapped", "mysql: load s.t [0,10)", fmt.Errorf("exec: %w", &mysql.MySQLError{Number: 1153}), "target", ""},
		{"1301 on an export", "mysql: export [0,10)", &mysql.MySQLError{Number: 1301, Message: "Result of concat() was larger than max_allowed_packet (16777216) - truncated"}, "source", ""},
		{"driver's own limit", "mysql: load s.t [0,10) with INSERT", mysql.ErrPktTooLarge, "target", "maxAllowedPacket"},
		{"elsewhere", "mysql: columns", mysql.ErrPktTooLarge, "MySQL server", "maxAllowedPacket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := classify(tt.op, tt.err)
			var ce *ferry.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("classify = %T %v, want *ferry.ConfigError", err, err)
			}
			if !strings.Contains(ce.Msg, tt.op) || !strings.Contains(ce.Fix, "raise max_allowed_packet on the "+tt.role) || !strings.Contains(ce.Fix, tt.more) {
				t.Errorf("classify = %v; want the op, and a fix to raise max_allowed_packet on the %s (%q)", err, tt.role, tt.more)
			}
			var re *ferry.RetryableError
			if errors.As(err, &re) {
				t.Errorf("classify = %v: retryable, want permanent", err)
			}
		})
	}
}

// maxPacket is the max_allowed_packet of db's sessions.
func maxPacket(t *testing.T, db *sql.DB) int {
	t.Helper()
	var p int
	testdb.Must(t, "max_allowed_packet", db.QueryRow("SELECT @@SESSION.max_allowed_packet").Scan(&p))
	return p
}

// TestInsertLoaderPacketLimit: the INSERT fallback sends a row bigger than
// its 8 MB batch alone, and refuses one bigger than the target's
// max_allowed_packet before sending it: a *ferry.ConfigError naming the
// row by its chunk column value and the size to raise the limit to
// (fixed: was a bare "Error 1153 ... Got a packet bigger than
// 'max_allowed_packet' bytes", or past the driver's 64 MB a connection
// reset that was retried). Nothing of the chunk is committed.
func TestInsertLoaderPacketLimit(t *testing.T) {
	db, schema := openDB(t)
	p := maxPacket(t, db)
	tests := []struct {
		name  string
		sizes []int
		want  string // "" loads
	}{
		{"rows past the batch bytes", []int{7 << 20, 7 << 20, p - 4<<20, 100}, ""},
		{"a row past max_allowed_packet", []int{100, p + 4<<20, 100}, fmt.Sprintf("at least %d MB", p>>20+5)},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tgt := NewTarget(db, WithLogger(slog.New(slog.DiscardHandler)), WithInsertLoader(100))
			cols := []ferry.Column{{Name: "id", Type: "int"}, {Name: "v", Type: "longtext", Nullable: true}}
			stg := ferry.StagingName(fmt.Sprintf("big%d", i))
			testdb.Must(t, "prepare", tgt.PrepareStaging(ctxT(t), schema, "big", stg, cols, "id"))
			var b bytes.Buffer
			b.WriteString("\"id\",\"v\"\n")
			for id, n := range tt.sizes {
				fmt.Fprintf(&b, "\"%d\",\"%s\"\n", id+1, strings.Repeat("x", n))
			}
			n, err := tgt.Load(ctxT(t), ferry.LoadRequest{Schema: schema, Staging: stg, ChunkColumn: "id", Lo: 1, Hi: 10}, &b)
			rows := count(t, db, "SELECT COUNT(*) FROM `"+schema+"`.`"+stg+"`")
			if tt.want == "" {
				testdb.Must(t, "load", err)
				if n != int64(len(tt.sizes)) || rows != n {
					t.Fatalf("loaded %d rows, staging has %d, want %d", n, rows, len(tt.sizes))
				}
				return
			}
			var ce *ferry.ConfigError
			if !errors.As(err, &ce) || !strings.Contains(ce.Msg, "the row with id = 2") || !strings.Contains(ce.Fix, tt.want) || !strings.Contains(ce.Fix, "local_infile") {
				t.Fatalf("load = %v; want a ConfigError naming the row with id = 2 and the fix %q", err, tt.want)
			}
			if rows != 0 {
				t.Errorf("staging has %d rows after a refused load, want 0", rows)
			}
		})
	}
}

// TestExportRefusesPacketOverflow: a source query computing a value larger
// than the source's max_allowed_packet (REPEAT, CONCAT, GROUP_CONCAT) gets
// NULL from the server with warning 1301; the export refuses the chunk
// with a *ferry.ConfigError instead of exporting NULL as the source's
// value (fixed: exported NULL).
func TestExportRefusesPacketOverflow(t *testing.T) {
	db, _ := openDB(t)
	exec(t, db, "CREATE TABLE big (id INT PRIMARY KEY)")
	exec(t, db, "INSERT INTO big VALUES (1), (2)")
	src := NewSource(db, WithLogger(slog.New(slog.DiscardHandler)))
	over := maxPacket(t, db) + 1
	for _, tt := range []struct {
		name, query string
		refused     bool
	}{
		{"within the limit", "SELECT id, REPEAT('x', 1000) AS v FROM big", false},
		{"over the limit", fmt.Sprintf("SELECT id, REPEAT('x', %d) AS v FROM big", over), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := src.Export(ctxT(t), ferry.ExportRequest{Query: tt.query, ChunkColumn: "id", Lo: 1, Hi: 3}, &out)
			var ce *ferry.ConfigError
			switch {
			case !tt.refused && err != nil:
				t.Fatalf("export: %v", err)
			case tt.refused && (!errors.As(err, &ce) || !strings.Contains(ce.Msg, "1301") || !strings.Contains(ce.Fix, "raise max_allowed_packet on the source")):
				t.Fatalf("export = %v; want a ConfigError quoting 1301 and the fix", err)
			}
		})
	}
}
