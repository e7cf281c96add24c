#!/usr/bin/env bash
# Benchmark (issue #16): one big data-seeding migration (N INSERTs of ~100 bytes; 500,000 is
# 50 MB) applied by `cargo dbguard up` against the database's own client running the same file
# in one transaction (`sqlite3` inside BEGIN/COMMIT, `psql -1 -f`, `mariadb` with autocommit
# off), same run, on each database. Wall time and peak memory of the whole process (GNU time).
#
#   bench/big-vs-client.sh [SIZES]        # SIZES defaults to "100000 500000"
#   PREV=/path/to/older/cargo-dbguard bench/big-vs-client.sh 100000   # and an older build, same run
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${1:-"100000 500000"}
cargo build --release -q -p dbguard-cli
bin="$PWD/target/release/cargo-dbguard"
work=$(mktemp -d /tmp/dbguard-bigc.XXXXXX)
trap 'rm -rf "$work"; mysql -h 127.0.0.1 -uroot -e "DROP DATABASE IF EXISTS dbguard_bigc" 2>/dev/null || true' EXIT
pg() { psql -h 127.0.0.1 -U postgres -d postgres -qAt -c "$1" >/dev/null 2>&1; }
my() { mysql -h 127.0.0.1 -uroot -e "$1"; }
timed() { /usr/bin/time -f '%e %M' -o "$work/t" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }; cat "$work/t"; }
ratio() { python3 -c "import sys; a, b = map(float, sys.argv[1:]); print(f'{a / b:.2f}')" "$1" "$2"; }
prev=${PREV:-}
echo "| rows | size | database | client (s, KB) | dbguard (s, KB) | ratio |${prev:+ previous build (s, KB) | ratio |}"
echo "|---|---|---|---|---|---|${prev:+---|---|}"
# The previous build's columns, when PREV is set: $1 runs it after preparing the database.
older() {
  [ -n "$prev" ] || return 0
  "$1"
  read -r ps pm < <(timed "$prev" dbguard up -m "$work/m" -d "$2")
  printf ' %s, %s | %s |' "$ps" "$pm" "$(ratio "$ps" "$cs")"
}
fresh_sqlite() { rm -rf "$work/d.db"*; }
fresh_pg() { pg "DROP DATABASE IF EXISTS dbguard_bigc WITH (FORCE)"; pg "CREATE DATABASE dbguard_bigc"; }
fresh_my() { my "DROP DATABASE IF EXISTS dbguard_bigc; CREATE DATABASE dbguard_bigc"; }
for n in $sizes; do
  rm -rf "$work/m"; python3 bench/write-seed.py "$n" "$work/m" 'VARCHAR(100)'
  up="$work/m/1_seed/up.sql"
  size=$(du -h "$up" | cut -f1)
  { echo "BEGIN;"; cat "$up"; echo "COMMIT;"; } > "$work/sqlite.sql"
  { echo "SET autocommit = 0;"; cat "$up"; echo "COMMIT;"; } > "$work/mysql.sql"

  rm -rf "$work/c.db" "$work/d.db"*
  read -r cs cm < <(timed sh -c "sqlite3 '$work/c.db' < '$work/sqlite.sql'")
  read -r ds dm < <(timed "$bin" dbguard up -m "$work/m" -d "sqlite://$work/d.db")
  echo "| $n | $size | SQLite | $cs, $cm | $ds, $dm | $(ratio "$ds" "$cs") |$(older fresh_sqlite "sqlite://$work/d.db")"

  pg "DROP DATABASE IF EXISTS dbguard_bigc WITH (FORCE)"; pg "CREATE DATABASE dbguard_bigc"
  read -r cs cm < <(timed psql -h 127.0.0.1 -U postgres -d dbguard_bigc -q -1 -v ON_ERROR_STOP=1 -f "$up")
  pg "DROP DATABASE IF EXISTS dbguard_bigc WITH (FORCE)"; pg "CREATE DATABASE dbguard_bigc"
  read -r ds dm < <(timed "$bin" dbguard up -m "$work/m" -d "postgres://postgres@127.0.0.1:5432/dbguard_bigc?sslmode=disable")
  echo "| $n | $size | PostgreSQL | $cs, $cm | $ds, $dm | $(ratio "$ds" "$cs") |$(older fresh_pg "postgres://postgres@127.0.0.1:5432/dbguard_bigc?sslmode=disable")"
  pg "DROP DATABASE IF EXISTS dbguard_bigc WITH (FORCE)"

  my "DROP DATABASE IF EXISTS dbguard_bigc; CREATE DATABASE dbguard_bigc"
  read -r cs cm < <(timed sh -c "mariadb -h 127.0.0.1 -uroot dbguard_bigc < '$work/mysql.sql'")
  my "DROP DATABASE IF EXISTS dbguard_bigc; CREATE DATABASE dbguard_bigc"
  read -r ds dm < <(timed "$bin" dbguard up -m "$work/m" -d "mysql://root@127.0.0.1:3306/dbguard_bigc")
  echo "| $n | $size | MariaDB | $cs, $cm | $ds, $dm | $(ratio "$ds" "$cs") |$(older fresh_my "mysql://root@127.0.0.1:3306/dbguard_bigc")"
done
