#!/usr/bin/env bash
# PostgreSQL, 500 migrations from empty: dbguard, sqlx-cli and refinery run in turn, round after
# round, each on a fresh database, so that the server's state (checkpoints, autovacuum, cache)
# weighs on all three alike. hyperfine (bench/migrate.sh) runs each tool's rounds back to back,
# which on this VM swings a tool's mean by ±50 % from one invocation to the next.
#
#   PATH=/tmp/peers/sqlx/bin:/tmp/peers/refinery/bin:$PATH bench/interleaved.sh 500 10
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-500}
rounds=${2:-10}
source bench/lib.sh
cargo build --release -q -p dbguard-cli
dbguard="$PWD/target/release/cargo-dbguard"
write_migrations "$n" "$work/m" "$work/r"
reset() { psql -h 127.0.0.1 -U postgres -d postgres -qAt -c "DROP DATABASE IF EXISTS bench_$1 WITH (FORCE)" -c "CREATE DATABASE bench_$1" >/dev/null 2>&1; }
url() { echo "postgres://postgres@127.0.0.1:5432/bench_$1?sslmode=disable"; }
ms() { local s; s=$(date +%s%N); "$@" >/dev/null 2>&1; echo $(( ($(date +%s%N) - s) / 1000000 )); }
printf 'round dbguard sqlx refinery (ms)\n'
for r in $(seq 0 "$rounds"); do
  reset d; reset s; reset r
  a=$(ms "$dbguard" dbguard up -m "$work/m" -d "$(url d)")
  b=$(ms sqlx migrate run --source "$work/m" -D "$(url s)")
  c=$(ms env DB_URL="$(url r)" refinery migrate -e DB_URL -p "$work/r")
  # Round 0 warms the caches and is not counted.
  [ "$r" -gt 0 ] && printf '%s %s %s %s\n' "$r" "$a" "$b" "$c"
done | tee "$work/times"
awk '{ d += $2; s += $3; f += $4; n++ } END { printf "mean dbguard %.0f ms, sqlx %.0f ms, refinery %.0f ms over %d rounds\n", d/n, s/n, f/n, n }' "$work/times"
for t in d s r; do psql -h 127.0.0.1 -U postgres -d postgres -qAt -c "DROP DATABASE IF EXISTS bench_$t WITH (FORCE)" >/dev/null 2>&1; done
