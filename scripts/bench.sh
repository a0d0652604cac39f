#!/usr/bin/env bash
# make bench: copy the reference `orders` table (shared/reference/orders-gen.sql shape:
# 8 mixed-type columns with deliberate traps, 20 skewed companies) from MariaDB to
# PostgreSQL twice in one invocation, and print both with their ratio:
#   1. a direct pipe: mariadb --quick | psql \copy  (the baseline; no S3, no chunks, no swap)
#   2. ferry run: the real state machine, in-process, through a local store, with
#      chunking, gzip, staging, verification and the atomic swap.
# Wall time and peak RSS come from GNU time; rows/s = rows / wall.
#
# BENCH_ROWS (default 1000000) rows; the source is generated once and reused.
# BENCH_CHUNK_ROWS (default 100000) rows per chunk; BENCH_CONCURRENCY (default 2) chunks at once.
set -euo pipefail
cd "$(dirname "$0")/.."
export AWS_EC2_METADATA_DISABLED=true

ROWS=${BENCH_ROWS:-1000000}
CHUNK_ROWS=${BENCH_CHUNK_ROWS:-100000}
CONC=${BENCH_CONCURRENCY:-2}
MY="mariadb --protocol=tcp -h127.0.0.1 -uroot --default-character-set=utf8mb4"
PG_URL=postgres://postgres@127.0.0.1:5432/ferry_bench?sslmode=disable
SRC=ferry_bench_src
ADMIN=ferry_bench_admin
STORE=$(mktemp -d /tmp/ferry-bench-store.XXXXXX)
trap 'rm -rf "$STORE"' EXIT
[ -x /usr/bin/time ] || { echo "bench needs GNU time: apt-get install time"; exit 1; }
GEN=""
for d in ../shared/reference /work/shared/reference; do [ -f "$d/orders-gen.sql" ] && GEN="$d/orders-gen.sql" && break; done
[ -n "$GEN" ] || { echo "orders-gen.sql not found in ../shared/reference"; exit 1; }

# The peers' figures were taken with innodb_buffer_pool_size=6G and innodb_log_file_size=2G.
bp=$($MY -N -e "SELECT @@innodb_buffer_pool_size DIV 1048576")
if [ "$bp" -lt 2048 ]; then
  echo "note: innodb_buffer_pool_size is ${bp} MB; the reference figures use 6G"
  echo "      (SET GLOBAL innodb_buffer_pool_size=6*1024*1024*1024; SET GLOBAL innodb_log_file_size=2*1024*1024*1024)"
fi
have=$($MY -N -e "SELECT COUNT(*) FROM $SRC.orders" 2>/dev/null || echo 0)
if [ "$have" != "$ROWS" ]; then
  echo "generating $ROWS rows in $SRC.orders (once) ..."
  $MY -e "CREATE DATABASE IF NOT EXISTS $SRC"
  sed "s/@ROWS@/$ROWS/" "$GEN" | $MY "$SRC"
fi
psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS ferry_bench WITH (FORCE)" -c "CREATE DATABASE ferry_bench"

# The admin database: one company, one table, zero dates become NULL (the reference data has some).
$MY -e "DROP DATABASE IF EXISTS $ADMIN; CREATE DATABASE $ADMIN"
export FERRY_ADMIN_DSN="mysql://root@127.0.0.1:3306/$ADMIN"
export FERRY_SOURCE_DSN="mysql://root@127.0.0.1:3306/$SRC"
export FERRY_TARGET_DSN="$PG_URL"
export FERRY_STORE="file://$STORE"
./bin/ferry admin migrate >/dev/null
$MY "$ADMIN" -e "INSERT INTO companies (company_id, status, alias) VALUES (1, 'active', 'bench');
  INSERT INTO tables (name, status, query_select, params_select, chunk_column, chunk_rows, zero_dates)
  VALUES ('orders', 'active', 'SELECT id, company_id, customer, note, amount, created_at, status, payload FROM orders', '', 'id', $CHUNK_ROWS, 'null');"

measure() { # name, command...: sets <name>_s (wall seconds) and <name>_kb (peak RSS)
  local name=$1; shift
  if ! /usr/bin/time -f "%e %M" -o "$STORE/.time.$name" "$@" >"$STORE/.out.$name" 2>&1; then
    tail -20 "$STORE/.out.$name"; echo "bench: $name failed"; exit 1
  fi
  read -r "${name}_s" "${name}_kb" < <(tail -1 "$STORE/.time.$name")
}

echo "direct pipe: mariadb --quick | psql \\copy ..."
psql -q -h 127.0.0.1 -U postgres -d ferry_bench -c "CREATE TABLE pipe_orders (id bigint NOT NULL, company_id integer NOT NULL, customer varchar(64) NOT NULL, note text, amount numeric(12,2) NOT NULL, created_at timestamp, status smallint NOT NULL, payload text)"
# mariadb --batch escapes \n, \t and \\ the way COPY's text format reads them, but not CR: sed does.
measure pipe bash -c "set -o pipefail; $MY --quick --batch --skip-column-names $SRC -e \"SELECT id, company_id, customer, note, amount, IF(created_at = 0, NULL, created_at), status, payload FROM orders\" | sed 's/\r/\\\\r/g' | psql -q -h 127.0.0.1 -U postgres -d ferry_bench -c \"\\copy pipe_orders FROM STDIN WITH (FORMAT text, NULL 'NULL')\" && psql -q -h 127.0.0.1 -U postgres -d ferry_bench -c 'CREATE INDEX ON pipe_orders (id)'"

echo "ferry run: the state machine, $CHUNK_ROWS rows per chunk, $CONC at once ..."
measure ferry ./bin/ferry run --concurrency "$CONC" --run-id "bench-$(date +%s)"

got_pipe=$(psql -At -h 127.0.0.1 -U postgres -d ferry_bench -c "SELECT count(*) FROM pipe_orders")
got_ferry=$(psql -At -h 127.0.0.1 -U postgres -d ferry_bench -c "SELECT count(*) FROM bi_bench.orders")
[ "$got_pipe" = "$ROWS" ] || { echo "the pipe copied $got_pipe rows, want $ROWS"; exit 1; }
[ "$got_ferry" = "$ROWS" ] || { echo "ferry copied $got_ferry rows, want $ROWS"; cat "$STORE/.out.ferry"; exit 1; }

awk -v rows="$ROWS" -v ps="$pipe_s" -v pk="$pipe_kb" -v fs="$ferry_s" -v fk="$ferry_kb" -v gp="$got_pipe" 'BEGIN {
  printf "\n%-32s %10s %12s %12s\n", "copy of " rows " rows", "wall s", "rows/s", "peak RSS MB"
  printf "%-32s %10.1f %12.0f %12.1f\n", "direct pipe (mariadb | psql)", ps, rows/ps, pk/1024
  printf "%-32s %10.1f %12.0f %12.1f\n", "ferry run (state machine)", fs, rows/fs, fk/1024
  printf "\nferry / pipe: wall %.2fx, rows/s %.2fx, peak RSS %.2fx\n", fs/ps, (rows/fs)/(rows/ps), fk/pk
}'
if [ "$ROWS" = 2000000 ]; then
  echo; echo "peers on the same 2M-row table (shared/reference/README.md), wall s:"
  echo "  PostgreSQL ingest ceiling 9.1 | direct pipe 13.4 | mydumper/myloader 18.7 | sling 23.9 | mysqldump|mariadb 39.9 | pgloader 54.2"
fi

# ---- PostgreSQL -> PostgreSQL (#14, lane pg; kept apart from the MariaDB case above) -------------
# The same rows (the MariaDB source above, copied once into a PostgreSQL source database the way the
# MariaDB pipe reads them: zero dates and the literal string 'NULL' as NULL) copied from PostgreSQL to PostgreSQL twice in one invocation, with the ratio:
#   1. the PostgreSQL pipe: psql \copy (SELECT ...) TO STDOUT | psql \copy ... FROM STDIN (baseline)
#   2. ferry run with a PostgreSQL admin database and a PostgreSQL source (bound extended-protocol
#      SELECT per chunk, gzip CSV, staging, the atomic swap).
# BENCH_PG=0 skips it.
bench_pg() {
  local PGQ="psql -q -h 127.0.0.1 -U postgres" PGSRC=ferry_bench_pgsrc PGDST=ferry_bench_pg PGADMIN=ferry_bench_pgadmin
  local cols="id, company_id, customer, note, amount, created_at, status, payload"
  local have
  have=$($PGQ -At -d $PGSRC -c "SELECT count(*) FROM orders" 2>/dev/null || echo 0)
  if [ "$have" != "$ROWS" ]; then
    echo "copying the $ROWS source rows into PostgreSQL $PGSRC.orders (once) ..."
    $PGQ -d postgres -c "DROP DATABASE IF EXISTS $PGSRC WITH (FORCE)" -c "CREATE DATABASE $PGSRC"
    $PGQ -d $PGSRC -c "CREATE TABLE orders (id bigint PRIMARY KEY, company_id integer NOT NULL, customer varchar(64) NOT NULL, note text, amount numeric(12,2) NOT NULL, created_at timestamp, status smallint NOT NULL, payload jsonb)"
    $MY --quick --batch --skip-column-names $SRC -e "SELECT id, company_id, customer, note, amount, IF(created_at = 0, NULL, created_at), status, payload FROM orders" |
      sed 's/\r/\\r/g' | $PGQ -d $PGSRC -c "\\copy orders FROM STDIN WITH (FORMAT text, NULL 'NULL')"
    $PGQ -d $PGSRC -c "ANALYZE orders"
  fi
  $PGQ -d postgres -c "DROP DATABASE IF EXISTS $PGDST WITH (FORCE)" -c "CREATE DATABASE $PGDST" \
    -c "DROP DATABASE IF EXISTS $PGADMIN WITH (FORCE)" -c "CREATE DATABASE $PGADMIN"
  local pgstore
  pgstore=$(mktemp -d /tmp/ferry-bench-pgstore.XXXXXX)
  export FERRY_ADMIN_DSN="postgres://postgres@127.0.0.1:5432/$PGADMIN?sslmode=disable"
  export FERRY_SOURCE_DSN="postgres://postgres@127.0.0.1:5432/$PGSRC?sslmode=disable"
  export FERRY_TARGET_DSN="postgres://postgres@127.0.0.1:5432/$PGDST?sslmode=disable"
  export FERRY_STORE="file://$pgstore"
  ./bin/ferry admin migrate >/dev/null
  ./bin/ferry table add --name orders --query "SELECT $cols FROM orders" --chunk-rows "$CHUNK_ROWS" --zero-dates null >/dev/null
  ./bin/ferry company add --company-id 1 --alias bench >/dev/null

  echo "PostgreSQL pipe: psql \\copy (SELECT ...) TO STDOUT | psql \\copy ... FROM STDIN ..."
  $PGQ -d $PGDST -c "CREATE TABLE pipe_orders (id bigint NOT NULL, company_id integer NOT NULL, customer varchar(64) NOT NULL, note text, amount numeric(12,2) NOT NULL, created_at timestamp, status smallint NOT NULL, payload jsonb)"
  measure pgpipe bash -c "set -o pipefail; $PGQ -d $PGSRC -c \"\\copy (SELECT $cols FROM orders) TO STDOUT\" | $PGQ -d $PGDST -c \"\\copy pipe_orders FROM STDIN\" && $PGQ -d $PGDST -c 'CREATE INDEX ON pipe_orders (id)'"
  echo "ferry run, PostgreSQL -> PostgreSQL: $CHUNK_ROWS rows per chunk, $CONC at once ..."
  measure pgferry ./bin/ferry run --concurrency "$CONC" --run-id "bench-pg-$(date +%s)"
  rm -rf "$pgstore"

  local got_pipe got_ferry
  got_pipe=$($PGQ -At -d $PGDST -c "SELECT count(*) FROM pipe_orders")
  got_ferry=$($PGQ -At -d $PGDST -c "SELECT count(*) FROM bi_bench.orders")
  [ "$got_pipe" = "$ROWS" ] || { echo "the PostgreSQL pipe copied $got_pipe rows, want $ROWS"; exit 1; }
  [ "$got_ferry" = "$ROWS" ] || { echo "ferry (PostgreSQL source) copied $got_ferry rows, want $ROWS"; cat "$STORE/.out.pgferry"; exit 1; }
  awk -v rows="$ROWS" -v ps="$pgpipe_s" -v pk="$pgpipe_kb" -v fs="$pgferry_s" -v fk="$pgferry_kb" 'BEGIN {
    printf "\n%-32s %10s %12s %12s\n", "PostgreSQL -> PostgreSQL, " rows, "wall s", "rows/s", "peak RSS MB"
    printf "%-32s %10.1f %12.0f %12.1f\n", "PostgreSQL pipe (COPY | COPY)", ps, rows/ps, pk/1024
    printf "%-32s %10.1f %12.0f %12.1f\n", "ferry run (state machine)", fs, rows/fs, fk/1024
    printf "\nferry / PostgreSQL pipe: wall %.2fx, rows/s %.2fx, peak RSS %.2fx\n", fs/ps, (rows/fs)/(rows/ps), fk/pk
  }'
}
if [ "${BENCH_PG:-1}" != 0 ]; then
  echo
  bench_pg
fi
# ---- end of the PostgreSQL -> PostgreSQL case -----------------------------------------------------
