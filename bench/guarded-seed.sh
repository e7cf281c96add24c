#!/usr/bin/env bash
# Benchmark (issue #16): a seed the guard has something to do in. One migration of N INSERTs
# followed by an UPDATE of ten of those rows (the guard snapshots them first), applied by
# `cargo dbguard up` on each database, this build beside an older one (PREV) in the same run.
# Wall time and peak memory of the whole process (GNU time).
#
#   PREV=/path/to/older/cargo-dbguard bench/guarded-seed.sh [N]     # N defaults to 200000
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200000}
cargo build --release -q -p dbguard-cli
bin="$PWD/target/release/cargo-dbguard"
work=$(mktemp -d /tmp/dbguard-gseed.XXXXXX)
pg() { psql -h 127.0.0.1 -U postgres -d postgres -qAt -c "$1" >/dev/null 2>&1; }
my() { mysql -h 127.0.0.1 -uroot -e "$1"; }
trap 'rm -rf "$work"; pg "DROP DATABASE IF EXISTS dbguard_gseed WITH (FORCE)" || true; my "DROP DATABASE IF EXISTS dbguard_gseed" 2>/dev/null || true' EXIT
python3 bench/write-seed.py "$n" "$work/m" 'VARCHAR(100)' "UPDATE seed SET v = v + 1 WHERE id <= 10;"
timed() { /usr/bin/time -f '%e s, %M KB' -o "$work/t" "$@" >/dev/null 2>"$work/err" || { echo "failed: $(tail -3 "$work/err")"; return; }; cat "$work/t"; }
echo "| rows | database | this build | previous build |"
echo "|---|---|---|---|"
for db in SQLite PostgreSQL MariaDB; do
  row="| $n | $db |"
  for b in "$bin" ${PREV:-}; do
    case $db in
      SQLite) rm -rf "$work/s.db"* "$work"/*.dbguard-backups; url="sqlite://$work/s.db" ;;
      PostgreSQL) pg "DROP DATABASE IF EXISTS dbguard_gseed WITH (FORCE)"; pg "CREATE DATABASE dbguard_gseed"
        url="postgres://postgres@127.0.0.1:5432/dbguard_gseed" ;;
      MariaDB) my "DROP DATABASE IF EXISTS dbguard_gseed; CREATE DATABASE dbguard_gseed"
        url="mysql://root@127.0.0.1:3306/dbguard_gseed" ;;
    esac
    row="$row $(timed "$b" dbguard up -m "$work/m" -d "$url") |"
  done
  echo "$row"
done
