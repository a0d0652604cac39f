// Package datapath holds Ferry's cross-engine data-path tests: a MariaDB
// table full of awkward values (internal/mysql/mysqltest) is exported by the
// MySQL Source, checked byte for byte against the values inserted, loaded
// in three chunks by each Target (PostgreSQL and MySQL; directly and through
// both Stores as gzip objects), re-run chunk by chunk, swapped live and
// compared value by value with the source. The Target contract suite, the
// zero-date and 0x00 policies and the swap under concurrent readers run on
// both targets too. It has no code of its own.
package datapath
