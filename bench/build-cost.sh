#!/usr/bin/env bash
# What a user pays to depend on dbguard: a clean debug build of a small project that uses
# dbguard with its default features (SQLite only) and tokio, at an older commit and at this
# tree, in turn, round after round (each build from an empty target directory). Prints the
# crates in the dependency graph, the compiler invocations and the wall time of each build.
#
#   bench/build-cost.sh OLD_COMMIT [ROUNDS]      # e.g. bench/build-cost.sh 8ef26be 2
set -euo pipefail
cd "$(dirname "$0")/.."
old_rev=$1
rounds=${2:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/old-tree"
git archive "$old_rev" | tar -x -C "$work/old-tree"
project() { # name tree
  local p="$work/$1"
  mkdir -p "$p/src"
  cat >"$p/Cargo.toml" <<EOF
[package]
name = "user-app"
version = "0.1.0"
edition = "2024"

[dependencies]
dbguard = { path = "$2/dbguard" }
tokio = { version = "1", features = ["rt-multi-thread", "macros"] }
EOF
  # The dependency versions the tree was tested with.
  cp "$2/Cargo.lock" "$p/Cargo.lock"
  cat >"$p/src/main.rs" <<'EOF'
#[tokio::main]
async fn main() {
    println!("{}", std::any::type_name::<dbguard::Migrator>());
}
EOF
}
project old "$work/old-tree"
project new "$PWD"

crates() { (cd "$work/$1" && cargo tree -q -e normal,build --prefix none | sed 's/ (\*)$//; s/ (proc-macro)$//' | sort -u | wc -l); }
drivers() { (cd "$work/$1" && cargo tree -q -e normal --prefix none | grep -cE '^sqlx-(postgres|mysql) ' || true); }
build() { # name round -> "seconds units"
  local t="$work/target-$1-$2" s units
  s=$(date +%s%N)
  units=$(cd "$work/$1" && CARGO_TARGET_DIR="$t" cargo build --color never 2>&1 | grep -c '^ *Compiling ')
  printf '%s %s\n' "$(( ($(date +%s%N) - s) / 1000000 ))" "$units"
  rm -rf "$t"
}
printf '# crates in the graph: old %s, new %s; PostgreSQL/MySQL drivers: old %s, new %s\n' \
  "$(crates old)" "$(crates new)" "$(drivers old)" "$(drivers new)"
printf '# round, old ms, old units, new ms, new units (clean debug build)\n'
for r in $(seq 1 "$rounds"); do
  # Which one goes first alternates, so that the machine's warm-up does not favour one.
  if [ $((r % 2)) -eq 1 ]; then o=$(build old "$r"); n=$(build new "$r"); else n=$(build new "$r"); o=$(build old "$r"); fi
  printf '%s %s %s\n' "$r" "$o" "$n"
done | tee "$work/rounds"
awk '{ o += $2; n += $4; k++ } END { printf "mean: old %.1f s, new %.1f s (%.0f%%)\n", o / k / 1000, n / k / 1000, 100 * n / o }' "$work/rounds"
