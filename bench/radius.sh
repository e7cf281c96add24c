#!/usr/bin/env bash
# Benchmark (issue #13): what the blast radius costs on a big table, on each database.
#   - a guarded `DELETE FROM big WHERE id <= 1000` (the whole `cargo dbguard up` process, which
#     copies only those 1,000 rows) against one raw full copy of the table
#     (`CREATE TABLE ... AS SELECT *`), which is what guarding it whole costs; target ≤ 0.1×;
#   - a guarded whole-table `UPDATE big SET v = v + 1` (snapshot of the whole table, then the
#     update) against the raw UPDATE plus a raw copy; target ≤ 1.2×.
# One run per figure (each changes the table), release build. SQLite file backups are turned
# off (`file-backups = 0`): they copy the whole file whatever the statement, and are measured in
# the migrate benchmarks.
#
#   bench/radius.sh [PG_ROWS] [SQLITE_ROWS] [MYSQL_ROWS]     # defaults 5000000 5000000 1000000
set -euo pipefail
cd "$(dirname "$0")/.."
pg_rows=${1:-5000000}
sqlite_rows=${2:-5000000}
mysql_rows=${3:-1000000}
cargo build --release -q -p dbguard-cli
bin="$PWD/target/release/cargo-dbguard"
work=$(mktemp -d /tmp/dbguard-radius.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
printf '[package]\nname = "bench"\nversion = "0.0.0"\nedition = "2021"\n\n[package.metadata.dbguard]\nfile-backups = 0\n' > Cargo.toml
mkdir -p src && touch src/lib.rs

ms() { local s; s=$(date +%s%N); "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; echo $(( ($(date +%s%N) - s) / 1000000 )); }
migration() { mkdir -p "m/$1"; printf '%s\n' "$2" > "m/$1/up.sql"; printf -- '-- dbguard: irreversible = "benchmark"\n' > "m/$1/down.sql"; }
sql_pg() { psql -h 127.0.0.1 -U postgres -d dbguard_bench_radius -qAt -v ON_ERROR_STOP=1 -c "$1"; }
sql_mysql() { mysql -h 127.0.0.1 -uroot dbguard_bench_radius -e "$1"; }
sql_sqlite() { python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()' "$work/bench.db" "$1"; }

run() {
  local engine=$1 rows=$2 url=$3 fill=$4 sql=sql_$1
  rm -rf m
  migration 1_big "CREATE TABLE big (id BIGINT NOT NULL PRIMARY KEY, v BIGINT NOT NULL, pad VARCHAR(40) NOT NULL);"
  "$bin" dbguard up -m m -d "$url" >/dev/null 2>&1
  $sql "$fill"
  [ "$engine" = pg ] && sql_pg "VACUUM ANALYZE big"
  local copy del raw_del upd raw_upd
  copy=$(ms $sql "CREATE TABLE raw_copy AS SELECT * FROM big")
  $sql "DROP TABLE raw_copy"
  migration 2_trim "DELETE FROM big WHERE id <= 1000;"
  del=$(ms "$bin" dbguard up -m m -d "$url")
  raw_del=$(ms $sql "DELETE FROM big WHERE id > 1000 AND id <= 2000")
  # Each UPDATE starts from a vacuumed table (PostgreSQL): the first leaves a dead version of
  # every row, which would make the second slower whoever runs it.
  [ "$engine" = pg ] && sql_pg "VACUUM big"
  raw_upd=$(ms $sql "UPDATE big SET v = v + 1")
  [ "$engine" = pg ] && sql_pg "VACUUM big"
  migration 3_bump "-- dbguard:allow update-without-where reason=\"benchmark\"
UPDATE big SET v = v + 1;"
  upd=$(ms "$bin" dbguard up -m m -d "$url")
  printf '| %s | %s | %s | %s | %s | %.3f | %s | %s | %.2f |\n' "$engine" "$rows" "$copy" "$del" "$raw_del" \
    "$(echo "$del / $copy" | bc -l)" "$raw_upd" "$upd" "$(echo "$upd / ($raw_upd + $copy)" | bc -l)"
}

echo "| database | rows | raw full copy (ms) | guarded DELETE ... WHERE id <= 1000 (ms) | raw DELETE of 1,000 rows (ms) | guarded DELETE / copy | raw whole UPDATE (ms) | guarded whole UPDATE (ms) | guarded UPDATE / (raw UPDATE + copy) |"
echo "|---|---|---|---|---|---|---|---|---|"
psql -h 127.0.0.1 -U postgres -d postgres -qAt -c "DROP DATABASE IF EXISTS dbguard_bench_radius WITH (FORCE)" -c "CREATE DATABASE dbguard_bench_radius" >/dev/null 2>&1
run pg "$pg_rows" "postgres://postgres@127.0.0.1:5432/dbguard_bench_radius?sslmode=disable" \
  "INSERT INTO big SELECT g, g % 1000, md5(g::text) FROM generate_series(1, $pg_rows) g"
psql -h 127.0.0.1 -U postgres -d postgres -qAt -c "DROP DATABASE dbguard_bench_radius WITH (FORCE)" >/dev/null
run sqlite "$sqlite_rows" "sqlite://$work/bench.db" \
  "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < $sqlite_rows) INSERT INTO big SELECT g, g % 1000, hex(randomblob(16)) FROM s"
mysql -h 127.0.0.1 -uroot -e "DROP DATABASE IF EXISTS dbguard_bench_radius; CREATE DATABASE dbguard_bench_radius"
run mysql "$mysql_rows" "mysql://root@127.0.0.1:3306/dbguard_bench_radius" \
  "INSERT INTO big SELECT seq, seq % 1000, md5(seq) FROM seq_1_to_$mysql_rows"
mysql -h 127.0.0.1 -uroot -e "DROP DATABASE dbguard_bench_radius"
