#!/usr/bin/env bash
# Benchmark: apply 500 small migrations (each creates a table and inserts 10 rows) from empty,
# and a no-op run when all are applied, on SQLite and PostgreSQL; whole process, side by side
# with sqlx-cli and refinery_cli on the same SQL. Not a test: it prints hyperfine tables.
#
#   bench/migrate.sh [N]     (N migrations, default 500)
#
# BENCH_PG_SYNC_OFF=1 sets synchronous_commit = off on the PostgreSQL bench databases (for every
# tool alike): fresh runs then measure the migrators' own work instead of this VM's fsync noise.
#
# PostgreSQL runs use sslmode=disable for every tool: on loopback a TLS handshake (which sqlx
# attempts by default and refinery does not) would dominate and compare encryption, not migrators.
#
# Needs hyperfine (apt-get install hyperfine), PostgreSQL on 127.0.0.1:5432 (user postgres), and,
# for the comparison, `sqlx` and `refinery` on PATH, installed outside the repository:
#   cargo install sqlx-cli@0.9.0 --no-default-features --features sqlite,postgres,rustls --root /tmp/peers/sqlx
#   cargo install refinery_cli@0.10.0 --root /tmp/peers/refinery
#   PATH=/tmp/peers/sqlx/bin:/tmp/peers/refinery/bin:$PATH bench/migrate.sh
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-500}
source bench/lib.sh

cargo build --release -q -p dbguard-cli
dbguard="$PWD/target/release/cargo-dbguard"
write_migrations "$n" "$work/dbguard" "$work/refinery"

pg() { psql -h 127.0.0.1 -U postgres -d postgres -qAt "$@" >/dev/null; }
have() { command -v "$1" >/dev/null 2>&1; }
tools=(dbguard)
have sqlx && tools+=(sqlx)
have refinery && tools+=(refinery)

# The command that migrates tool $1's own database at URL $2.
cmd() {
  case $1 in
    dbguard) echo "$dbguard dbguard up -m $work/dbguard -d $2" ;;
    sqlx) echo "sqlx migrate run --source $work/dbguard -D $2" ;;
    refinery) echo "env DB_URL=$2 refinery migrate -e DB_URL -p $work/refinery" ;;
  esac
}

for engine in sqlite postgres; do
  fresh=() noop=()
  for t in "${tools[@]}"; do
    if [ "$engine" = sqlite ]; then
      f="$work/$t.db"
      url="sqlite://$f"
      reset="rm -f $f $f.dbguard.lock && touch $f"
    else
      db="dbguard_bench_$t"
      url="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable"
      reset="psql -h 127.0.0.1 -U postgres -d postgres -qAt -c 'DROP DATABASE IF EXISTS $db WITH (FORCE)' -c 'CREATE DATABASE $db'"
      if [ "${BENCH_PG_SYNC_OFF:-0}" = 1 ]; then reset="$reset -c 'ALTER DATABASE $db SET synchronous_commit = off'"; fi
    fi
    fresh+=(--prepare "sh -c \"$reset\"" -n "$t" "$(cmd "$t" "$url")")
    noop+=(-n "$t" "$(cmd "$t" "$url")")
  done
  echo "# $engine: $n migrations from empty"
  hyperfine -N --warmup 1 --runs 10 "${fresh[@]}"
  echo "# $engine: no-op run, all $n applied"
  hyperfine -N --warmup 2 --runs 20 "${noop[@]}"
done
for t in "${tools[@]}"; do pg -c "DROP DATABASE IF EXISTS dbguard_bench_$t WITH (FORCE)"; done
