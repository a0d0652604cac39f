#!/usr/bin/env bash
# make bench (#12): the reference `orders` table (shared/reference/orders-gen.sql: 8 mixed-type
# columns with deliberate traps, 20 skewed companies, PRIMARY KEY (id) and one secondary index)
# copied by each peer and by Ferry in ONE invocation, the same table shape (primary key and the
# secondary index) on every side, so the ratios compare like for like on a shared, noisy machine:
#
#   MariaDB -> PostgreSQL
#     pipe      mariadb --quick | psql COPY, then PRIMARY KEY + index          (the baseline)
#     shaped    the same pipe into a table shaped like Ferry's, then PK + index
#     ceiling   PostgreSQL's ingest ceiling: 2 parallel COPYs from files, then PK + index
#     ferry     ferry run (second run: the live table exists with its PK + index)
#   MariaDB -> MariaDB
#     mydumper  mydumper | myloader, 2 threads (if installed; else `mypipe`, mariadb | LOAD DATA)
#     ferrymy   ferry run (second run, live has its PK + index)
#
# Each case: wall s, client CPU s (user+sys of the client processes, GNU time), server CPU s
# (MariaDB's and PostgreSQL's processes, /proc, during the case: other users of the servers
# count too), peak RSS MB (the largest client process) and the ratios. The last line is
# `bench: PASS` or `bench: FAIL <targets missed>` (issue #12's targets):
#   ferry -> PostgreSQL wall <= 0.8x pipe, client CPU <= 0.6x pipe's; ferry -> MariaDB wall
#   <= 0.8x mydumper's; every ferry run's peak RSS <= 48 MB.
#
# BENCH_ROWS (default 2000000; `make bench ROWS=200000`) rows, generated once per size;
# BENCH_CHUNK_ROWS (default 250000) rows per chunk; BENCH_CONCURRENCY (default: ferry run's,
# the CPU count) chunks at once; BENCH_PG=0 skips the PostgreSQL -> PostgreSQL case (lane pg).
set -euo pipefail
cd "$(dirname "$0")/.."
export AWS_EC2_METADATA_DISABLED=true

ROWS=${BENCH_ROWS:-2000000}
# BENCH_ROUNDS (default 3 at 2M rows and more, else 1): the cases run round-robin that many times and
# every figure is the median of its rounds, as in the issue's table (the machine is shared: one
# round's pipe varied 12.2-15.8 s and Ferry 10.4-13.2 s within minutes).
ROUNDS=${BENCH_ROUNDS:-$([ "$ROWS" -ge 2000000 ] && echo 3 || echo 1)}
CHUNK_ROWS=${BENCH_CHUNK_ROWS:-250000}
CONC=${BENCH_CONCURRENCY:-$(n=$(nproc); [ "$n" -lt 2 ] && n=2; [ "$n" -gt 8 ] && n=8; echo $n)}
MY="mariadb --protocol=tcp -h127.0.0.1 -uroot --default-character-set=utf8mb4"
PSQL="psql -q -h 127.0.0.1 -U postgres"
SRC=ferry_bench_src_$ROWS
ADMIN=ferry_bench_admin
PGDB=ferry_bench
MYDST=ferry_bench_mydst
COLS="id, company_id, customer, note, amount, created_at, status, payload"
PIPE_SELECT="SELECT id, company_id, customer, note, amount, IF(created_at = 0, NULL, created_at), status, payload FROM orders"
STORE=$(mktemp -d /tmp/ferry-bench-store.XXXXXX)
trap 'rm -rf "$STORE"' EXIT
CASES=()

[ -x /usr/bin/time ] || { echo "bench needs GNU time: apt-get install time"; exit 1; }
[ -x ./bin/ferry ] || { echo "bench needs bin/ferry: make cli"; exit 1; }

# server_ticks: CPU clock ticks of the database servers' processes so far (mariadbd; every
# postgres process plus what the postmaster collected from its exited backends).
server_ticks() {
  local t=0 p f
  for p in $(pgrep -x mariadbd) $(pgrep -x postgres); do
    f=$(cut -d')' -f2- "/proc/$p/stat" 2>/dev/null) || continue
    set -- $f
    t=$((t + ${12} + ${13} + ${14} + ${15}))
  done
  echo $t
}

# settle: before a case is timed, PostgreSQL finishes the background work the previous cases left
# (autovacuum of the tables they loaded, a checkpoint of their WAL), so that it is not charged to
# whichever case comes next (the ferry case comes after three 2M-row loads).
settle() {
  local db
  for db in $($PSQL -At -d postgres -c "SELECT datname FROM pg_database WHERE datname LIKE 'ferry_bench%'"); do
    $PSQL -d "$db" -c "VACUUM" >/dev/null 2>&1 || true
  done
  $PSQL -d postgres -c "CHECKPOINT" >/dev/null
  settle_mariadb
  sync
}

# settle_mariadb: MariaDB, likewise, flushes the pages the previous cases dirtied and purges their
# undo history (a few hundred MB of dirty pages otherwise flush, and a dropped table's undo purges,
# during whichever case comes next). innodb_max_dirty_pages_pct is set to 0 until the dirty pages
# are down to 1% of what they were (or 60 s passed), then set back.
settle_mariadb() {
  local pct i dirty hist start
  pct=$($MY -N -e "SELECT @@innodb_max_dirty_pages_pct") || return 0
  start=$(mariadb_metric buffer_pool_pages_dirty)
  $MY -e "SET GLOBAL innodb_max_dirty_pages_pct = 0" 2>/dev/null || return 0
  for i in $(seq 1 120); do
    dirty=$(mariadb_metric buffer_pool_pages_dirty)
    hist=$(mariadb_metric trx_rseg_history_len)
    [ "$dirty" -le $((start / 100 + 64)) ] && [ "$hist" -le 1000 ] && break
    sleep 0.5
  done
  $MY -e "SET GLOBAL innodb_max_dirty_pages_pct = $pct"
}

mariadb_metric() { $MY -N -e "SELECT count FROM information_schema.INNODB_METRICS WHERE name = '$1'" 2>/dev/null || echo 0; }

# measure name command...: runs the case, records <name>_s (wall), <name>_cpu (client
# user+sys), <name>_srv (server CPU s) and <name>_kb (peak RSS KB).
measure() {
  local name=$1; shift
  local t0 t1 w u s m try
  for try in 1 2; do
    settle
    t0=$(server_ticks)
    /usr/bin/time -f "%e %U %S %M" -o "$STORE/.time.$name" "$@" >"$STORE/.out.$name" 2>&1 && break
    tail -20 "$STORE/.out.$name"
    # A peer's own failure (myloader's threads deadlock on InnoDB now and then) is run once more,
    # its failed attempt's time discarded; Ferry's cases get no second chance.
    if [ "$try" = 2 ] || [ "$name" != mydumper ]; then echo "bench: FAIL $name did not run"; exit 1; fi
    echo "  $name failed (its own error, above): its time is discarded and it runs once more"
  done
  t1=$(server_ticks)
  read -r w u s m < <(tail -1 "$STORE/.time.$name")
  awk -v w="$w" -v u="$u" -v s="$s" -v a="$t0" -v b="$t1" -v hz="$(getconf CLK_TCK)" -v m="$m" \
    'BEGIN{printf "%s %.2f %.2f %s\n", w, u+s, (b-a)/hz, m}' >>"$STORE/.rounds.$name"
  median "$name"
}

# median name: <name>_s, _cpu, _srv and _kb become the medians of the rounds measured so far (each
# column on its own); <name>_all lists every round's wall time.
median() {
  local f="$STORE/.rounds.$1" col var
  col=1
  for var in s cpu srv kb; do
    printf -v "${1}_${var}" %s "$(cut -d' ' -f$col "$f" | sort -g | awk '{v[NR]=$1} END{print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}')"
    col=$((col + 1))
  done
  printf -v "${1}_all" %s "$(cut -d' ' -f1 "$f" | paste -sd/)"
}

# row name label: one line of the table.
row() {
  local s=${1}_s c=${1}_cpu v=${1}_srv k=${1}_kb
  printf "%-58s %8.1f %9.2f %9.2f %8.1f\n" "$2" "${!s}" "${!c}" "${!v}" "$(awk -v k="${!k}" 'BEGIN{print k/1024}')"
}

want_rows() { # what table got
  [ "$2" = "$ROWS" ] || { echo "bench: FAIL $1 copied $2 rows, want $ROWS"; exit 1; }
}

setup_source() {
  local gen="" d have
  for d in ../shared/reference /work/shared/reference; do [ -f "$d/orders-gen.sql" ] && gen="$d/orders-gen.sql" && break; done
  [ -n "$gen" ] || { echo "orders-gen.sql not found in ../shared/reference"; exit 1; }
  local bp
  bp=$($MY -N -e "SELECT @@innodb_buffer_pool_size DIV 1048576")
  [ "$bp" -ge 2048 ] || echo "note: innodb_buffer_pool_size is ${bp} MB; the peers' reference figures used 6G"
  have=$($MY -N -e "SELECT COUNT(*) FROM $SRC.orders" 2>/dev/null || echo 0)
  if [ "$have" != "$ROWS" ]; then
    echo "generating $ROWS rows in $SRC.orders (once) ..."
    $MY -e "DROP DATABASE IF EXISTS $SRC; CREATE DATABASE $SRC"
    sed "s/@ROWS@/$ROWS/" "$gen" | $MY "$SRC"
  fi
}

# ferry_env engine: the admin database (one company, one table) and the target for engine.
ferry_env() {
  export FERRY_ADMIN_DSN="mysql://root@127.0.0.1:3306/$ADMIN"
  export FERRY_SOURCE_DSN="mysql://root@127.0.0.1:3306/$SRC"
  export FERRY_STORE="file://$STORE/chunks"
  if [ "$1" = postgres ]; then
    export FERRY_TARGET_DSN="postgres://postgres@127.0.0.1:5432/$PGDB?sslmode=disable"
  else
    export FERRY_TARGET_DSN="mysql://root@127.0.0.1:3306/$MYDST"
  fi
  $MY -e "DROP DATABASE IF EXISTS $ADMIN; CREATE DATABASE $ADMIN"
  ./bin/ferry admin migrate >/dev/null
  ./bin/ferry table add --name orders --query "SELECT $COLS FROM orders" --chunk-rows "$CHUNK_ROWS" --zero-dates null >/dev/null
  ./bin/ferry company add --company-id 1 --alias bench >/dev/null
}

ferry_run() { # name: a timed ferry run (chunk objects removed first)
  rm -rf "$STORE/chunks"
  measure "$1" ./bin/ferry run --concurrency "$CONC" --run-id "bench-$1-$(date +%s)"
}

bench_to_postgres() {
  echo "MariaDB -> PostgreSQL, $ROWS rows ..."
  $PSQL -d postgres -c "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" -c "CREATE DATABASE $PGDB"
  ferry_env postgres
  # Ferry's first run creates the live table; it then gets the source's PK and index, as a BI
  # table has them, and the timed second run copies into it.
  rm -rf "$STORE/chunks"
  ./bin/ferry run --concurrency "$CONC" --run-id "bench-first-$(date +%s)" >"$STORE/.out.first" 2>&1 || { tail "$STORE/.out.first"; exit 1; }
  # Whatever index the table Ferry created carries (an earlier release added one on the chunk column
  # id; Ferry now adds none) is dropped, so that both sides have the same shape, the primary key and
  # one secondary index.
  local own
  own=$($PSQL -At -d $PGDB -c "SELECT string_agg(format('%I.%I', schemaname, indexname), ', ') FROM pg_indexes WHERE schemaname = 'bi_bench' AND tablename = 'orders'")
  [ -n "$own" ] && $PSQL -d $PGDB -c "DROP INDEX $own"
  $PSQL -d $PGDB -c "ALTER TABLE bi_bench.orders ADD PRIMARY KEY (id)" -c "CREATE INDEX orders_company_created ON bi_bench.orders (company_id, created_at)"
  local pk="ALTER TABLE %s ADD PRIMARY KEY (id); CREATE INDEX ON %s (company_id, created_at)"
  # mariadb --batch escapes \n, \t and \\ the way COPY's text format reads them, but not CR: sed does.
  local from="$MY --quick --batch --skip-column-names $SRC -e \"$PIPE_SELECT\" | sed 's/\r/\\\\r/g'"
  local copy="\\copy %s FROM STDIN WITH (FORMAT text, NULL 'NULL')"
  # The ceiling's files are written before anything is timed.
  local k r
  for k in 0 1; do
    $MY --quick --batch --skip-column-names $SRC -e "$PIPE_SELECT WHERE id % 2 = $k" | sed 's/\r/\\r/g' >"$STORE/half$k.tsv"
  done
  for r in $(seq 1 "$ROUNDS"); do
  echo "  round $r of $ROUNDS: pipe, shaped pipe, ceiling, ferry run ..."
  $PSQL -d $PGDB -c "DROP TABLE IF EXISTS pipe_orders, shaped_orders, ceiling_orders" \
    -c "CREATE TABLE pipe_orders (id bigint NOT NULL, company_id integer NOT NULL, customer varchar(64) NOT NULL, note text, amount numeric(12,2) NOT NULL, created_at timestamp, status smallint NOT NULL, payload text)" \
    -c "CREATE TABLE shaped_orders (LIKE bi_bench.orders)" -c "CREATE TABLE ceiling_orders (LIKE bi_bench.orders)"
  measure pipe bash -c "set -o pipefail; $from | $PSQL -d $PGDB -c \"$(printf "$copy" pipe_orders)\" && $PSQL -d $PGDB -c '$(printf "$pk" pipe_orders pipe_orders)'"
  measure shaped bash -c "set -o pipefail; $from | $PSQL -d $PGDB -c \"$(printf "$copy" shaped_orders)\" && $PSQL -d $PGDB -c '$(printf "$pk" shaped_orders shaped_orders)'"
  measure ceiling bash -c "$PSQL -d $PGDB -c \"\\copy ceiling_orders FROM '$STORE/half0.tsv' WITH (FORMAT text, NULL 'NULL')\" & p0=\$!; $PSQL -d $PGDB -c \"\\copy ceiling_orders FROM '$STORE/half1.tsv' WITH (FORMAT text, NULL 'NULL')\" & p1=\$!; wait \$p0 && wait \$p1 && $PSQL -d $PGDB -c '$(printf "$pk" ceiling_orders ceiling_orders)'"
  ferry_run ferry
  local t
  for t in pipe_orders shaped_orders ceiling_orders bi_bench.orders; do
    want_rows "$t" "$($PSQL -At -d $PGDB -c "SELECT count(*) FROM $t")"
  done
  done
  rm -f "$STORE"/half*.tsv
}

bench_to_mariadb() {
  echo "MariaDB -> MariaDB, $ROWS rows ..."
  $MY -e "DROP DATABASE IF EXISTS $MYDST; CREATE DATABASE $MYDST; DROP DATABASE IF EXISTS ferry_bench_myloader; CREATE DATABASE ferry_bench_myloader; DROP DATABASE IF EXISTS bi_bench"
  ferry_env mysql
  rm -rf "$STORE/chunks"
  ./bin/ferry run --concurrency "$CONC" --run-id "bench-myfirst-$(date +%s)" >"$STORE/.out.myfirst" 2>&1 || { tail "$STORE/.out.myfirst"; exit 1; }
  # As for PostgreSQL: Ferry's own chunk-column index goes, the primary key and one index come.
  $MY -e "ALTER TABLE bi_bench.orders DROP KEY ferry_chunk, ADD PRIMARY KEY (id), ADD KEY idx_company_created (company_id, created_at)"
  MYPEER=mypipe
  if command -v mydumper >/dev/null && command -v myloader >/dev/null; then
    MYPEER=mydumper
    # --no-locks --long-query-guard: on a shared server another user's long statement made mydumper
    # abort (its 60 s guard) or its FLUSH TABLES WITH READ LOCK wait for it and stall every writer;
    # nothing writes the bench's source table, so the dump reads the same rows without the lock.
  fi
  local r
  for r in $(seq 1 "$ROUNDS"); do
  if [ "$MYPEER" = mydumper ]; then
    echo "  round $r of $ROUNDS: mydumper | myloader (2 threads), ferry run ..."
    measure mydumper bash -c "rm -rf '$STORE/dump' && mydumper -h 127.0.0.1 -u root -B $SRC -T orders -r ${CHUNK_ROWS} -t 2 --no-locks --long-query-guard 86400 -o '$STORE/dump' && myloader -h 127.0.0.1 -u root -B ferry_bench_myloader -d '$STORE/dump' -t 2 -o"
    want_rows myloader "$($MY -N -e "SELECT COUNT(*) FROM ferry_bench_myloader.orders")"
    rm -rf "$STORE/dump"
  else
    echo "  round $r of $ROUNDS: mydumper is not installed (apt-get install mydumper): comparing with mariadb --quick | LOAD DATA instead"
    $MY -e "DROP TABLE IF EXISTS ferry_bench_myloader.orders; CREATE TABLE ferry_bench_myloader.orders LIKE $SRC.orders"
    measure mypipe bash -c "set -o pipefail; $MY --quick --batch --skip-column-names $SRC -e \"$PIPE_SELECT\" | $MY --local-infile=1 ferry_bench_myloader -e \"LOAD DATA LOCAL INFILE '/dev/stdin' INTO TABLE orders FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\\\\\'\""
    want_rows "the pipe into MariaDB" "$($MY -N -e "SELECT COUNT(*) FROM ferry_bench_myloader.orders")"
  fi
  ferry_run ferrymy
  want_rows "ferry -> MariaDB" "$($MY -N -e "SELECT COUNT(*) FROM bi_bench.orders")"
  done
}

report() {
  local load
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  printf "\n%s rows, %s per chunk, ferry concurrency %s; medians of %s round-robin rounds; load average at the end %s (shared machine)\n" "$ROWS" "$CHUNK_ROWS" "$CONC" "$ROUNDS" "$load"
  printf "%-58s %8s %9s %9s %8s\n" "copy" "wall s" "client s" "server s" "RSS MB"
  row pipe "direct pipe mariadb --quick | psql COPY, then PK + index"
  row shaped "the same pipe into a table shaped like Ferry's, PK + index"
  row ceiling "PostgreSQL ceiling: 2 parallel COPYs from files, PK + index"
  row ferry "ferry run -> PostgreSQL (second run, live has PK + index)"
  if [ "$MYPEER" = mydumper ]; then
    row mydumper "mydumper/myloader, 2 threads (MariaDB -> MariaDB)"
  else
    row mypipe "mariadb --quick | LOAD DATA (mydumper not installed)"
  fi
  row ferrymy "ferry run -> MariaDB (second run, live has PK + index)"
  local peer_s=${MYPEER}_s peer_all=${MYPEER}_all
  printf "each round's wall s: pipe %s, shaped %s, ceiling %s, ferry %s, %s %s, ferry -> MariaDB %s\n" \
    "$pipe_all" "$shaped_all" "$ceiling_all" "$ferry_all" "$MYPEER" "${!peer_all}" "$ferrymy_all"
  awk -v rows="$ROWS" -v fs="$ferry_s" -v ps="$pipe_s" -v cs="$ceiling_s" -v fc="$ferry_cpu" -v pc="$pipe_cpu" \
    -v fk="$ferry_kb" -v pk="$pipe_kb" -v ms="$ferrymy_s" -v ys="${!peer_s}" -v mk="$ferrymy_kb" -v mc="$ferrymy_cpu" -v peer="$MYPEER" 'BEGIN {
    printf "\nratios: ferry -> PostgreSQL / pipe: wall %.2fx (target <= 0.80), client CPU per M rows %.2fx (target <= 0.60), RSS %.1fx\n", fs/ps, fc/pc, fk/pk
    printf "        ferry -> PostgreSQL / ceiling: wall %.2fx\n", fs/cs
    printf "        ferry -> MariaDB / %s: wall %.2fx (target <= 0.80)\n", peer, ms/ys
    printf "        client CPU per M rows: pipe %.2f s, ferry -> PostgreSQL %.2f s, ferry -> MariaDB %.2f s\n", pc/rows*1e6, fc/rows*1e6, mc/rows*1e6
    printf "        peak RSS: ferry -> PostgreSQL %.1f MB, ferry -> MariaDB %.1f MB (target <= 48)\n", fk/1024, mk/1024
  }'
}

verdict() {
  local peer_s=${MYPEER}_s miss
  miss=$(awk -v fs="$ferry_s" -v ps="$pipe_s" -v fc="$ferry_cpu" -v pc="$pipe_cpu" -v fk="$ferry_kb" \
    -v ms="$ferrymy_s" -v ys="${!peer_s}" -v mk="$ferrymy_kb" -v peer="$MYPEER" 'BEGIN {
    if (fs > 0.8*ps) m = m " postgres-wall(" sprintf("%.2f", fs/ps) "x)"
    if (fc > 0.6*pc) m = m " postgres-cpu(" sprintf("%.2f", fc/pc) "x)"
    if (ms > 0.8*ys) m = m " mariadb-wall(" sprintf("%.2f", ms/ys) "x " peer ")"
    if (fk > 48*1024) m = m " postgres-rss(" sprintf("%.0f", fk/1024) "MB)"
    if (mk > 48*1024) m = m " mariadb-rss(" sprintf("%.0f", mk/1024) "MB)"
    print m }')
  if [ -z "$miss" ]; then echo "bench: PASS"; else echo "bench: FAIL$miss"; fi
}

setup_source
bench_to_postgres
bench_to_mariadb
report
echo
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

echo
verdict
