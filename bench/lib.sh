# Shared by the migrate benchmarks: `source bench/lib.sh`.

# A scratch directory, removed on exit, in $work.
work=$(mktemp -d /tmp/dbguard-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

# write_migrations N SQLX_DIR REFINERY_DIR: N migrations, each `CREATE TABLE` plus an `INSERT`
# of 10 rows, as sqlx-layout files (read by dbguard and sqlx-cli) and refinery's `VN__name.sql`.
write_migrations() {
  local n=$1 sqlx=$2 refinery=$3 i v rows up
  mkdir -p "$sqlx" "$refinery"
  rows=$(for r in $(seq 1 10); do if [ "$r" -gt 1 ]; then printf ', '; fi; printf "(%d, 'row %d')" "$r" "$r"; done)
  for i in $(seq 1 "$n"); do
    v=$(printf '%04d' "$i")
    up="CREATE TABLE t_$v (id INTEGER PRIMARY KEY, v TEXT);
INSERT INTO t_$v (id, v) VALUES $rows;"
    printf '%s\n' "$up" > "$sqlx/${v}_t_$v.up.sql"
    printf 'DROP TABLE t_%s;\n' "$v" > "$sqlx/${v}_t_$v.down.sql"
    printf '%s\n' "$up" > "$refinery/V${i}__t_$v.sql"
  done
}
