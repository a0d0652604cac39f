package mysql

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ferrydata/ferry"
	"github.com/go-sql-driver/mysql"
)

// Errors of a row or value larger than a max_allowed_packet.
const (
	// erNetPacketTooLarge: "Got a packet bigger than 'max_allowed_packet'
	// bytes", the server refusing a statement (an INSERT of a big row); it
	// closes the connection after it.
	erNetPacketTooLarge = 1153
	// erAllowedPacketOverflowed: "Result of concat() was larger than
	// max_allowed_packet (16777216) - truncated", a warning: the server
	// replaced a function's result with NULL.
	erAllowedPacketOverflowed = 1301
)

// packetTooLarge reports whether err is a server or the driver refusing a
// packet, or a value, larger than its max_allowed_packet.
func packetTooLarge(err error) bool {
	switch mysqlErrNo(err) {
	case erNetPacketTooLarge, erAllowedPacketOverflowed:
		return true
	}
	return errors.Is(err, mysql.ErrPktTooLarge)
}

// packetError is err (packetTooLarge) as a *ferry.ConfigError whose fix
// names the server of op (serverRole).
func packetError(op string, err error) error {
	fix := packetFix(serverRole(op), 0)
	if errors.Is(err, mysql.ErrPktTooLarge) {
		fix += "; the limit here is Ferry's own (the database URL's maxAllowedPacket, 64 MB unless set): raise it in the URL too"
	}
	return &ferry.ConfigError{Msg: op + ": " + err.Error(), Fix: fix}
}

// packetFix is the fix for a row or value larger than role's
// max_allowed_packet: at least need bytes when known (> 0).
func packetFix(role string, need int64) string {
	if need > 0 {
		mb := (need + 1<<20 - 1) >> 20
		return fmt.Sprintf("raise max_allowed_packet on the %s to at least %d MB (SET GLOBAL max_allowed_packet = %d; also in its configuration), then rerun", role, mb, mb<<20)
	}
	return "raise max_allowed_packet on the " + role + " above the chunk's largest row or value (SET GLOBAL max_allowed_packet, up to 1 GB; also in its configuration), then rerun"
}

// serverRole names the server an operation talks to: "target" for a load,
// "source" for an export, "job's database" for a job's extract, else
// "MySQL server".
func serverRole(op string) string {
	switch {
	case strings.HasPrefix(op, "mysql: load"):
		return "target"
	case strings.HasPrefix(op, "mysql: export"):
		return "source"
	case strings.HasPrefix(op, "mysql: extract"):
		return "job's database"
	}
	return "MySQL server"
}

// packetSlack is what a prepared INSERT's packet adds to the bytes of one
// row's values: the command, the types and a length prefix per value.
func packetSlack(cols int) int64 { return 1024 + 16*int64(cols) }

// valueSize is the bytes a bound value takes in a packet (its length
// prefix aside).
func valueSize(v any) int {
	switch v := v.(type) {
	case string:
		return len(v)
	case []byte:
		return len(v)
	case nil:
		return 0
	}
	return 8
}
