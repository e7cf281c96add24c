#!/usr/bin/env bash
# The linter over PostgreSQL's own regression SQL (339 files of every construct the server
# accepts, and many it refuses): it must never panic. Each file is linted on its own, in each
# dialect; exit 0 (clean) and 1 (findings) are answers, 2 is a clear refusal of bad input
# (non-UTF-8 files); anything else (101: a panic) is a failure. Not part of CI's run: it
# downloads the files.
#
# The files come from the pglast source distribution on PyPI, which ships libpg_query's copy of
# PostgreSQL's src/test/regress/sql (pinned by its SHA-256).
#
#   bench/pg-regress.sh
set -euo pipefail
cd "$(dirname "$0")/.."
url="https://files.pythonhosted.org/packages/62/b2/fa8b837b58f352e5941ea7a8160121d32bad978a55538232d7890b8aaad5/pglast-8.8.tar.gz"
sum="ff9998ec6bac4f30f84db6b6edb28a0fb03b1eda5c8ad211ab8362f5a08b833b"
work="${TMPDIR:-/tmp}/dbguard-pg-regress"
mkdir -p "$work"
if [ ! -f "$work/pglast.tar.gz" ] || ! echo "$sum  $work/pglast.tar.gz" | sha256sum -c --quiet; then
  curl -sSL -o "$work/pglast.tar.gz" "$url"
  echo "$sum  $work/pglast.tar.gz" | sha256sum -c --quiet
fi
rm -rf "$work/sql" && mkdir -p "$work/sql"
tar xzf "$work/pglast.tar.gz" -C "$work/sql" --strip-components=5 --wildcards 'pglast-*/libpg_query/test/sql/postgres_regress/*.sql'
cargo build --release -q -p dbguard-cli
bin="$PWD/target/release/cargo-dbguard"
files=("$work"/sql/*.sql)
declare -A codes=()
failed=0
for dialect in postgres mysql sqlite; do
  for f in "${files[@]}"; do
    set +e
    "$bin" dbguard lint --dialect "$dialect" --format json "$f" > /dev/null 2> "$work/stderr"
    code=$?
    set -e
    codes[$code]=$(( ${codes[$code]:-0} + 1 ))
    if [ "$code" -gt 2 ]; then
      failed=$((failed + 1))
      echo "FAILED ($code) $dialect $f:"; head -5 "$work/stderr"
    fi
  done
done
bytes=$(cat "${files[@]}" | wc -c)
echo "${#files[@]} files, $bytes bytes, 3 dialects: exit codes $(for c in "${!codes[@]}"; do printf '%s:%s ' "$c" "${codes[$c]}"; done)"
[ "$failed" -eq 0 ] && echo "no panic" || { echo "$failed runs failed"; exit 1; }
