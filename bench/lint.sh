#!/usr/bin/env bash
# Benchmark: `cargo dbguard lint` against squawk, like with like: each dbguard output format
# beside squawk's matching reporter (text beside gcc and tty, JSON beside JSON), on the same
# input in the same run. Input: the crates.io corpus (every up.sql and down.sql) concatenated
# in ORDER, repeated 1x, 5x, 20x and 100x; and the corpus's files copied 20x (5,700 files).
# Whole process, release build, best of 3 wall-clock times, peak RSS (GNU time). Not a test.
#
#   bench/lint.sh [SIZES]          # SIZES defaults to "1 5 20 100"
#
# Needs the corpus at ../shared/corpora/cratesio and, for the comparison, `squawk` on PATH,
# installed outside the repository:
#   cargo install squawk@2.68.0 --locked --root /tmp/peers/squawk
#   PATH=/tmp/peers/squawk/bin:$PATH bench/lint.sh
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=../shared/corpora/cratesio
sizes=${1:-"1 5 20 100"}
work=$(mktemp -d /tmp/dbguard-lintbench.XXXXXX)
trap 'rm -rf "$work"' EXIT
cargo build --release -q -p dbguard-cli
bin="$PWD/target/release/cargo-dbguard"

one="$work/corpus_x1.sql"
# The same work for both tools: squawk stops at the first syntax error of an input and reports
# only that (one corpus file misses a `;` mid-file, and files that leave out their last `;` run
# into the next), so the files squawk cannot parse are left out, and each file's last
# statement is ended with a `;`. Without squawk, every file is used.
skipped=0
while read -r m; do
  for f in up down; do
    # (The output first, then grep: squawk exits 1 when it finds something.)
    if command -v squawk >/dev/null && { squawk --reporter gcc "$corpus/$m/$f.sql" 2>/dev/null || true; } | grep -q syntax-error; then
      skipped=$((skipped + 1)); continue
    fi
    cat "$corpus/$m/$f.sql"; printf '\n;\n'
  done
done < "$corpus/ORDER" > "$one"
echo "input: $(wc -c < "$one") bytes; files left out (squawk reports a syntax error): $skipped"
for n in $sizes; do
  [ "$n" = 1 ] && continue
  for _ in $(seq 1 "$n"); do cat "$one"; done > "$work/corpus_x$n.sql"
done
mkdir -p "$work/files"
for i in $(seq 1 20); do cp -r "$corpus" "$work/files/copy$i"; rm -f "$work/files/copy$i/ORDER"; done

# Best of 3 wall-clock times (nanosecond clock); peak RSS (GNU time) of the best run; output
# bytes. Lint exits 1 when it finds errors: that is expected here.
measure() {
  local best="" rss="" bytes="" t0 t1 secs
  for _ in 1 2 3; do
    t0=$(date +%s%N)
    NO_COLOR=1 /usr/bin/time -f '%M' -o "$work/t" "$@" > "$work/out" 2>/dev/null || true
    t1=$(date +%s%N)
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')
    if [ -z "$best" ] || awk "BEGIN{exit !($secs < $best)}"; then
      best=$secs; rss=$(tail -n 1 "$work/t"); bytes=$(wc -c < "$work/out")
    fi
  done
  echo "$best $rss $bytes"
}
row() { # tool format input-name bytes command...
  local tool=$1 format=$2 name=$3 bytes=$4; shift 4
  read -r secs kb out < <(measure "$@")
  awk -v t="$tool" -v f="$format" -v n="$name" -v b="$bytes" -v s="$secs" -v k="$kb" -v o="$out" \
    'BEGIN { mb = b / 1e6; printf "| %s | %s | %s | %.2f MB | %.3f s | %.1f MB/s | %.1f MB | %.1f MB |\n", t, f, n, mb, s, (s > 0 ? mb / s : 0), k / 1024, o / 1e6 }'
}

squawk_v=""
command -v squawk >/dev/null && squawk_v="squawk $(squawk --version | awk '{print $2}')"
echo "| tool | format | input | size | time (best of 3) | throughput | peak memory | output |"
echo "|---|---|---|---|---|---|---|---|"
for n in $sizes; do
  f="$work/corpus_x$n.sql"
  size=$(stat -c %s "$f")
  for format in text json github sarif; do
    row dbguard "$format" "x$n" "$size" "$bin" dbguard lint --jobs 1 --format "$format" "$f"
  done
  if [ -n "$squawk_v" ]; then
    for reporter in tty gcc json; do
      # squawk's tty reporter grows quadratically (over a minute a run at x20): x1 and x5 only.
      [ "$reporter" = tty ] && [ "$n" -ge 20 ] && continue
      row "$squawk_v" "$reporter" "x$n" "$size" squawk --reporter "$reporter" "$f"
    done
  fi
done
dirbytes=$(cat "$work"/files/*/*/*.sql | wc -c)
for jobs in 1 2; do
  for format in text json; do
    row "dbguard, $jobs thread(s)" "$format" "5,700 files" "$dirbytes" "$bin" dbguard lint --jobs "$jobs" --format "$format" $work/files/copy*
  done
done
if [ -n "$squawk_v" ]; then
  for reporter in gcc json; do
    row "$squawk_v" "$reporter" "5,700 files" "$dirbytes" squawk --reporter "$reporter" $work/files/copy*/*/*.sql
  done
fi
