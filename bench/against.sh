#!/usr/bin/env bash
# This build against another dbguard binary (the previous release, say), on the migrate
# benchmark's 500 migrations: SQLite and PostgreSQL, from empty and as a no-op, the two binaries
# run in turn, round after round, so that the machine's noise weighs on both alike.
#
#   git worktree add /tmp/prev <commit> && (cd /tmp/prev && CARGO_TARGET_DIR=/tmp/prev-target cargo build --release -p dbguard-cli)
#   bench/against.sh /tmp/prev-target/release/cargo-dbguard [N] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
old=$1
n=${2:-500}
rounds=${3:-10}
source bench/lib.sh
cargo build --release -q -p dbguard-cli
new="$PWD/target/release/cargo-dbguard"
write_migrations "$n" "$work/m" "$work/r"
ms() { local s; s=$(date +%s%N); "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; echo $(( ($(date +%s%N) - s) / 1000000 )); }
pg_reset() { psql -h 127.0.0.1 -U postgres -d postgres -qAt -c "DROP DATABASE IF EXISTS bench_$1 WITH (FORCE)" -c "CREATE DATABASE bench_$1" >/dev/null 2>&1; }
pg_url() { echo "postgres://postgres@127.0.0.1:5432/bench_$1?sslmode=disable"; }
sqlite_reset() { rm -rf "$work/$1.db"*; touch "$work/$1.db"; }
run() { ms "$1" dbguard up -m "$work/m" -d "$2"; }
for engine in sqlite postgres; do
  printf '# %s, %s migrations: round, new fresh, old fresh, new no-op, old no-op (ms)\n' "$engine" "$n"
  for r in $(seq 0 "$rounds"); do
    if [ "$engine" = sqlite ]; then
      sqlite_reset new; sqlite_reset old; un="sqlite://$work/new.db"; uo="sqlite://$work/old.db"
    else
      pg_reset new; pg_reset old; un=$(pg_url new); uo=$(pg_url old)
    fi
    # Which binary goes first alternates: the first run after a reset pays for the server's
    # state (checkpoints, cache), which must not always fall on the same one.
    if [ $((r % 2)) -eq 1 ]; then
      a=$(run "$new" "$un"); b=$(run "$old" "$uo"); c=$(run "$new" "$un"); d=$(run "$old" "$uo")
    else
      b=$(run "$old" "$uo"); a=$(run "$new" "$un"); d=$(run "$old" "$uo"); c=$(run "$new" "$un")
    fi
    # Round 0 warms the caches and is not counted.
    [ "$r" -gt 0 ] && printf '%s %s %s %s %s\n' "$r" "$a" "$b" "$c" "$d"
  done | tee "$work/$engine"
  awk -v e="$engine" '{ a += $2; b += $3; c += $4; d += $5; n++ }
    END { printf "%s mean: fresh new %.0f ms, old %.0f ms (%.2fx); no-op new %.1f ms, old %.1f ms (%.2fx), %d rounds\n", e, a/n, b/n, a/b, c/n, d/n, c/d, n }' "$work/$engine"
  for col in 2 3 4 5; do sort -n -k$col,$col "$work/$engine" | awk -v c=$col '{ v[NR] = $c } END { printf "%s ", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; done | awk -v e="$engine" '{ printf "%s median: fresh new %s ms, old %s ms; no-op new %s ms, old %s ms\n", e, $1, $2, $3, $4 }'
done
for t in new old; do psql -h 127.0.0.1 -U postgres -d postgres -qAt -c "DROP DATABASE IF EXISTS bench_$t WITH (FORCE)" >/dev/null 2>&1; done
