#!/usr/bin/env bash
# The scheduled fuzz run (issue #14): every cargo-fuzz target for SECONDS each (default 300),
# one after the other, from the corpus kept by earlier runs. Needs nightly and cargo-fuzz
# (`cargo install cargo-fuzz --locked`); not part of CI's run. Prints each target's last
# libFuzzer status line and fails when a target found a crash (its input is left in
# fuzz/artifacts/<target>/).
#
#   bench/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${1:-300}
failed=0
for t in lexer split lint directives loader; do
  log=$(mktemp)
  if cargo +nightly fuzz run "$t" -- -max_total_time="$secs" -max_len=4096 > "$log" 2>&1; then
    echo "$t: $(grep -E '^#[0-9]+' "$log" | tail -1)"
  else
    echo "$t: FAILED (see fuzz/artifacts/$t/)"; tail -20 "$log"; failed=1
  fi
  rm -f "$log"
done
exit $failed
