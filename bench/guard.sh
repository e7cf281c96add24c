#!/usr/bin/env bash
# Benchmark: the data guards on a 1,000,000-row table, SQLite and PostgreSQL (docs/benchmarks.md).
#   bench/guard.sh [ROWS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
runs=${2:-5}
work=$(mktemp -d /tmp/dbguard-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
cargo build --release -q -p dbguard-tests --bin dbguard-bench-guard
bin=target/release/dbguard-bench-guard
"$bin" "sqlite://$work/bench.db" "$rows" "$runs"
psql -h 127.0.0.1 -U postgres -d postgres -qAt -c "DROP DATABASE IF EXISTS dbguard_bench_guard" -c "CREATE DATABASE dbguard_bench_guard" >/dev/null
"$bin" "postgres://postgres@127.0.0.1:5432/dbguard_bench_guard?sslmode=disable" "$rows" "$runs"
psql -h 127.0.0.1 -U postgres -d postgres -qAt -c "DROP DATABASE dbguard_bench_guard" >/dev/null
