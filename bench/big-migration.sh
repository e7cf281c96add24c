#!/usr/bin/env bash
# Benchmark (issue #16): one big data-seeding migration (N INSERTs of ~100 bytes: 100,000 is
# 10 MB) applied by `cargo dbguard up`, whole process, on SQLite and PostgreSQL, this build
# beside another binary (the previous one) in the same run. Time and peak memory (GNU time).
#
#   git worktree add /tmp/prev <commit> && (cd /tmp/prev && CARGO_TARGET_DIR=/tmp/prev-target cargo build --release -p dbguard-cli)
#   bench/big-migration.sh [OLD_BIN] [SIZES]       # SIZES defaults to "10000 100000 500000"
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:-}
sizes=${2:-"10000 100000 500000"}
cargo build --release -q -p dbguard-cli
new="$PWD/target/release/cargo-dbguard"
work=$(mktemp -d /tmp/dbguard-big.XXXXXX)
trap 'rm -rf "$work"' EXIT
pg() { psql -h 127.0.0.1 -U postgres -d postgres -qAt -c "$1" >/dev/null 2>&1; }
echo "| rows | size | binary | SQLite | PostgreSQL |"
echo "|---|---|---|---|---|"
for n in $sizes; do
  rm -rf "$work/m"; python3 bench/write-seed.py "$n" "$work/m" TEXT
  size=$(du -h "$work/m/1_seed/up.sql" | cut -f1)
  for which in new old; do
    bin=$new; [ "$which" = old ] && bin=$old
    [ -z "$bin" ] && continue
    row="| $n | $size | $which |"
    rm -rf "$work/s.db"*
    # The previous binary was quadratic on SQLite: give it 10 minutes, then say so.
    if timeout 600 /usr/bin/time -f '%e s, %M KB' -o "$work/t" "$bin" dbguard up -m "$work/m" -d "sqlite://$work/s.db" >/dev/null 2>&1; then
      row="$row $(cat "$work/t") |"
    else
      row="$row over 600 s (stopped) |"
    fi
    pg "DROP DATABASE IF EXISTS dbguard_big WITH (FORCE)"; pg "CREATE DATABASE dbguard_big"
    /usr/bin/time -f '%e s, %M KB' -o "$work/t" "$bin" dbguard up -m "$work/m" -d "postgres://postgres@127.0.0.1:5432/dbguard_big?sslmode=disable" >/dev/null 2>&1
    echo "$row $(cat "$work/t") |"
  done
done
pg "DROP DATABASE IF EXISTS dbguard_big WITH (FORCE)"
