// Package datapath holds Ferry's cross-engine data-path tests: a MariaDB
// table full of awkward values (internal/mysql/mysqltest) is exported by the
// MySQL Source, loaded by each Target (PostgreSQL and MySQL), swapped live
// and compared value by value with the source. It has no code of its own.
package datapath
