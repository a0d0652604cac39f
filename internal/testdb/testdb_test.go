package testdb

import (
	"context"
	"testing"
)

func TestBothServers(t *testing.T) {
	db, name := MySQLDB(t)
	var got string
	if err := db.QueryRow("SELECT DATABASE()").Scan(&got); err != nil || got != name {
		t.Fatalf("mysql database = %q, %v; want %q", got, err, name)
	}
	conn, _ := PostgresConn(t)
	var one int
	if err := conn.QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("postgres: %d %v", one, err)
	}
}
