#!/usr/bin/env bash
# Benchmark (issue #16): memory independent of the migration's size. One seed of N INSERTs
# (2,000,000 is 206 MB) applied by `cargo dbguard up` on each database inside a memory cgroup
# of LIMIT_MB (page cache included), this build beside an older one (PREV) in the same run:
# whether it finishes, its time and peak RSS (GNU time; the mapped file's pages count there,
# though the cgroup reclaims them). Needs root and cgroup v1 (memory controller) or v2.
#
#   PREV=/path/to/older/cargo-dbguard bench/seed-memory-limit.sh [N] [LIMIT_MB]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000000}
limit=${2:-32}
cargo build --release -q -p dbguard-cli
bin="$PWD/target/release/cargo-dbguard"
work=$(mktemp -d /tmp/dbguard-memlim.XXXXXX)
# The cgroup: a child of this shell's own memory cgroup (v1) or of the unified root (v2).
if [ -d /sys/fs/cgroup/memory ]; then
  cg="/sys/fs/cgroup/memory$(awk -F: '$2 == "memory" {print $3}' /proc/self/cgroup)/dbguard-bench-$$"
  mkdir -p "$cg"; echo $((limit * 1024 * 1024)) > "$cg/memory.limit_in_bytes"
else
  cg="/sys/fs/cgroup/dbguard-bench-$$"
  mkdir -p "$cg"; echo $((limit * 1024 * 1024)) > "$cg/memory.max"
fi
cleanup() {
  rm -rf "$work"; rmdir "$cg" 2>/dev/null || true
  psql -h 127.0.0.1 -U postgres -d postgres -qAt -c "DROP DATABASE IF EXISTS dbguard_memlim WITH (FORCE)" >/dev/null 2>&1 || true
  mysql -h 127.0.0.1 -uroot -e "DROP DATABASE IF EXISTS dbguard_memlim" 2>/dev/null || true
}
trap cleanup EXIT
python3 bench/write-seed.py "$n" "$work/m" TEXT
size=$(du -h "$work/m/1_seed/up.sql" | cut -f1)
# Runs the binary inside the cgroup: the subshell joins it, then becomes the binary.
inside() { /usr/bin/time -f '%e s, %M KB' -o "$work/t" sh -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' _ "$cg" "$@" >/dev/null 2>&1; }
run() {
  local bin=$1 url=$2
  local rc=0
  inside "$bin" dbguard up -m "$work/m" -d "$url" || rc=$?
  # 137: killed by the cgroup's out-of-memory killer (SIGKILL).
  if [ $rc = 0 ]; then cat "$work/t"; else echo "exit $rc after $(tail -1 "$work/t")"; fi
}
echo "| rows | size | limit | database | this build | previous build |"
echo "|---|---|---|---|---|---|"
for db in SQLite PostgreSQL MariaDB; do
  row="| $n | $size | $limit MB | $db |"
  for b in "$bin" ${PREV:-}; do
    case $db in
      SQLite) rm -rf "$work/s.db"*; url="sqlite://$work/s.db" ;;
      PostgreSQL) psql -h 127.0.0.1 -U postgres -d postgres -qAt -c "DROP DATABASE IF EXISTS dbguard_memlim WITH (FORCE)" -c "CREATE DATABASE dbguard_memlim" >/dev/null 2>&1
        url="postgres://postgres@127.0.0.1:5432/dbguard_memlim" ;;
      MariaDB) mysql -h 127.0.0.1 -uroot -e "DROP DATABASE IF EXISTS dbguard_memlim; CREATE DATABASE dbguard_memlim"
        url="mysql://root@127.0.0.1:3306/dbguard_memlim" ;;
    esac
    row="$row $(run "$b" "$url") |"
  done
  echo "$row"
done
