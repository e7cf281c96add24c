#!/usr/bin/env bash
# Benchmark: restoring the rows a DELETE removed (a snapshot of some rows, put back by primary
# key) into a big SQLite table: N rows, a migration deleting every third, then `restore`.
# Side by side with an older build when PREV is set (same run).
#
#   bench/restore-rows.sh [N]                       # N defaults to 300000
#   PREV=/path/to/older/cargo-dbguard bench/restore-rows.sh 300000
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-300000}
cargo build --release -q -p dbguard-cli
work=$(mktemp -d /tmp/dbguard-restore-rows.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/m/1_users" "$work/m/2_trim"
cat > "$work/m/1_users/up.sql" <<SQL
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < $n) INSERT INTO users SELECT g, 'user' || g || '@example.com' FROM s;
SQL
echo "DROP TABLE users;" > "$work/m/1_users/down.sql"
echo "DELETE FROM users WHERE id % 3 = 0;" > "$work/m/2_trim/up.sql"
echo "-- dbguard: irreversible = \"rows are restored from the snapshot\"" > "$work/m/2_trim/down.sql"
one() {
  local bin=$1 db="$work/r.db"
  rm -rf "$db"*
  "$bin" dbguard up -m "$work/m" -d "sqlite://$db" >/dev/null
  local id
  id=$("$bin" dbguard backups list -m "$work/m" -d "sqlite://$db" --format json | python3 -c "import json,sys; print([s['id'] for s in json.load(sys.stdin)['snapshots'] if s['source_table']=='users'][0])")
  /usr/bin/time -f '%e' -o "$work/t" "$bin" dbguard restore "$id" -m "$work/m" -d "sqlite://$db" >/dev/null
  cat "$work/t"
}
echo "| rows | rows put back | this build (s) |${PREV:+ previous build (s) |}"
echo "|---|---|---|${PREV:+---|}"
now=$(one "$PWD/target/release/cargo-dbguard")
prev=""
[ -n "${PREV:-}" ] && prev=" $(one "$PREV") |"
echo "| $n | $((n / 3)) | $now |$prev"
