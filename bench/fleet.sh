#!/usr/bin/env bash
# Benchmark (issue #16): one migration set over a fleet of PostgreSQL databases.
# N databases (default 100) × 20 migrations (a table and a 10-row INSERT each): the N single
# `cargo dbguard up` runs one after the other (the shell loop a fleet replaces), then
# `cargo dbguard fleet up --parallel P` for P in 1 2 4 8, each series from fresh empty
# databases. Wall time of the whole series; the ratio is to the sequential single runs.
#
#   bench/fleet.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100}
cargo build --release -q -p dbguard-cli
bin="$PWD/target/release/cargo-dbguard"
source bench/lib.sh
cd "$work"
printf '[package]\nname = "bench"\nversion = "0.0.0"\nedition = "2021"\n' > Cargo.toml
mkdir -p src && touch src/lib.rs
write_migrations 20 m refinery-unused  # refinery's copy is not used here

dbs() { for i in $(seq 1 "$n"); do printf 'dbguard_bench_fleet_%03d\n' "$i"; done; }
fresh() {
  dbs | while read -r d; do printf 'DROP DATABASE IF EXISTS %s;\nCREATE DATABASE %s;\n' "$d" "$d"; done \
    | psql -h 127.0.0.1 -U postgres -qAt -v ON_ERROR_STOP=1 >/dev/null 2>&1
}
trap 'dbs | while read -r d; do printf "DROP DATABASE IF EXISTS %s;\n" "$d"; done | psql -h 127.0.0.1 -U postgres -qAt >/dev/null 2>&1; rm -rf "$work"' EXIT
dbs | while read -r d; do printf '[[target]]\nname = "%s"\nurl = "postgres://postgres@127.0.0.1:5432/%s"\n' "$d" "$d"; done > fleet.toml

ms() { local s; s=$(date +%s%N); "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; echo $(( ($(date +%s%N) - s) / 1000000 )); }
single_runs() { dbs | while read -r d; do "$bin" dbguard -d "postgres://postgres@127.0.0.1:5432/$d" -m m up || exit 1; done; }

fresh
base=$(ms single_runs)
echo "| $n single \`up\` runs, one after the other | $base ms | 1.00 |"
for p in 1 2 4 8; do
  fresh
  t=$(ms "$bin" dbguard -m m fleet --fleet fleet.toml --parallel "$p" up)
  echo "| \`fleet up --parallel $p\` | $t ms | $(python3 -c "print(f'{$t/$base:.2f}')") |"
done
