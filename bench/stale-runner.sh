#!/usr/bin/env bash
# Benchmark (issue #14): how long a second runner waits for the lock after the first was
# killed (SIGKILL) inside a long statement.
#   - PostgreSQL: a 20 s `pg_sleep`; the server cancels it within a second of the runner's
#     death (`client_connection_check_interval`), so the next runner gets the lock at once;
#     target < 3 s.
#   - MariaDB: a CPU-bound statement (about a minute of `BENCHMARK`), which the server runs to
#     its end whoever is gone; the next runner with `--kill-stale-runner` ends it; without the
#     flag it waits (`--lock-timeout 5`) and is told the holder is gone.
# Each time is the whole `cargo dbguard up` process of the second runner, release build.
#
#   bench/stale-runner.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p dbguard-cli
bin="$PWD/target/release/cargo-dbguard"
work=$(mktemp -d /tmp/dbguard-stale.XXXXXX)
trap 'rm -rf "$work"; mysql -h 127.0.0.1 -uroot -e "DROP DATABASE IF EXISTS dbguard_bench_stale" 2>/dev/null || true' EXIT
cd "$work"
printf '[package]\nname = "bench"\nversion = "0.0.0"\nedition = "2021"\n' > Cargo.toml
mkdir -p src && touch src/lib.rs

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
migration() { mkdir -p "$1/1_slow"; printf '%s\n' "$2" > "$1/1_slow/up.sql"; printf -- '-- dbguard: irreversible = "benchmark"\n' > "$1/1_slow/down.sql"; }
# wait_for SQL-COMMAND: until the count it prints is above 0 (30 s at most).
wait_for() { for _ in $(seq 1 300); do [ "$("$@")" -gt 0 ] && return 0; sleep 0.1; done; echo "the statement never started" >&2; exit 1; }

# PostgreSQL
psql -h 127.0.0.1 -U postgres -qAt -c "DROP DATABASE IF EXISTS dbguard_bench_stale" -c "CREATE DATABASE dbguard_bench_stale"
pg=postgres://postgres@127.0.0.1:5432/dbguard_bench_stale
migration pg_slow "SELECT pg_sleep(20);"
migration pg_quick "SELECT 1;"
"$bin" dbguard -d "$pg" -m pg_slow up >/dev/null 2>&1 & runner=$!
wait_for psql -h 127.0.0.1 -U postgres -d dbguard_bench_stale -qAt -c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(20)%' AND pid <> pg_backend_pid()"
kill -9 $runner; wait $runner 2>/dev/null || true
start=$(date +%s%N)
"$bin" dbguard -d "$pg" -m pg_quick up --lock-timeout 60 >/dev/null
echo "postgres: next runner done $(ms_since "$start") ms after killing one inside a 20 s statement"
psql -h 127.0.0.1 -U postgres -qAt -c "DROP DATABASE dbguard_bench_stale"

# MariaDB
mysql -h 127.0.0.1 -uroot -e "DROP DATABASE IF EXISTS dbguard_bench_stale; CREATE DATABASE dbguard_bench_stale"
my=mysql://root@127.0.0.1:3306/dbguard_bench_stale
migration my_slow "CREATE TABLE slow (b BIGINT);
INSERT INTO slow (b) SELECT BENCHMARK(IF(IS_USED_LOCK('dbguard-bench-slow') IS NULL, 1, 300000000), MD5('x'));"
running() { mysql -h 127.0.0.1 -uroot -N -e "SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE 'INSERT INTO slow%' AND id <> CONNECTION_ID()"; }
# The statement is long only when it starts while this script holds the user lock.
mysql -h 127.0.0.1 -uroot -N -e "SELECT GET_LOCK('dbguard-bench-slow', 0); DO SLEEP(3);" > /dev/null &
sleep 0.5
"$bin" dbguard -d "$my" -m my_slow up >/dev/null 2>&1 & runner=$!
wait_for running
kill -9 $runner; wait $runner 2>/dev/null || true
sleep 3
start=$(date +%s%N)
if "$bin" dbguard -d "$my" -m my_slow up --lock-timeout 5 > out.txt 2>&1; then echo "mariadb: expected a lock timeout" >&2; exit 1; fi
echo "mariadb without --kill-stale-runner: gave up after $(ms_since "$start") ms:"
grep -E "held by|its runner is gone" out.txt | sed 's/^/    /'
start=$(date +%s%N)
"$bin" dbguard -d "$my" -m my_slow up --kill-stale-runner --lock-timeout 60 > out.txt 2>&1
echo "mariadb with --kill-stale-runner: next runner done $(ms_since "$start") ms after (statements of the dead runner left: $(running))"
grep "ended the statement" out.txt | sed 's/^/    /'
