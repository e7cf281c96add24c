#!/usr/bin/env bash
# Benchmark: lint throughput and peak memory over the crates.io corpus (every up.sql and
# down.sql) concatenated 1x, 10x, 20x and 100x, single-threaded; and in parallel over the corpus's
# files copied 20x; side by side with squawk on the same files. Not a test.
#
#   bench/lint.sh
#
# Needs the corpus at ../shared/corpora/cratesio and, for the comparison, `squawk` on PATH,
# installed outside the repository:
#   cargo install squawk@2.68.0 --locked --root /tmp/peers/squawk
#   PATH=/tmp/peers/squawk/bin:$PATH bench/lint.sh
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=../shared/corpora/cratesio
work=$(mktemp -d /tmp/dbguard-lintbench.XXXXXX)
trap 'rm -rf "$work"' EXIT
cargo build --release -q -p dbguard-cli
bin="$PWD/target/release/cargo-dbguard"

one="$work/corpus_x1.sql"
while read -r m; do cat "$corpus/$m/up.sql" "$corpus/$m/down.sql"; printf '\n'; done < "$corpus/ORDER" > "$one"
for n in 10 20 100; do
  for _ in $(seq 1 "$n"); do cat "$one"; done > "$work/corpus_x$n.sql"
done
mkdir -p "$work/files"
for i in $(seq 1 20); do cp -r "$corpus" "$work/files/copy$i"; rm -f "$work/files/copy$i/ORDER"; done

# Best of 3 wall-clock times (nanosecond clock); peak RSS (GNU time) of the last run.
# Lint exits 1 when it finds errors: that is expected here.
measure() {
  local best="" rss="" t0 t1 secs
  for _ in 1 2 3; do
    t0=$(date +%s%N)
    /usr/bin/time -f '%M' -o "$work/t" "$@" > /dev/null 2>&1 || true
    t1=$(date +%s%N)
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')
    if [ -z "$best" ] || awk "BEGIN{exit !($secs < $best)}"; then best=$secs; fi
    rss=$(tail -n 1 "$work/t")
  done
  echo "$best $rss"
}
row() { # name file-or-dir bytes command...
  local name=$1 bytes=$2; shift 2
  read -r secs kb < <(measure "$@")
  awk -v n="$name" -v b="$bytes" -v s="$secs" -v k="$kb" \
    'BEGIN { mb = b / 1e6; printf "| %s | %.2f MB | %.3f s | %.1f MB/s | %.1f MB |\n", n, mb, s, (s > 0 ? mb / s : 0), k / 1024 }'
}

echo "| run | input | time (best of 3) | throughput | peak memory |"
echo "|---|---|---|---|---|"
for n in 1 10 20 100; do
  f="$work/corpus_x$n.sql"
  row "dbguard, 1 thread, corpus x$n" "$(stat -c %s "$f")" "$bin" dbguard lint --jobs 1 --format json "$f"
done
dirbytes=$(cat "$work"/files/*/*/*.sql | wc -c)
row "dbguard, 1 thread, 5700 files (x20)" "$dirbytes" "$bin" dbguard lint --jobs 1 --format json $work/files/copy*
row "dbguard, 2 threads, 5700 files (x20)" "$dirbytes" "$bin" dbguard lint --jobs 2 --format json $work/files/copy*
if command -v squawk >/dev/null; then
  for n in 1 10 20 100; do
    f="$work/corpus_x$n.sql"
    row "squawk $(squawk --version | awk '{print $2}'), corpus x$n" "$(stat -c %s "$f")" squawk "$f"
  done
fi
