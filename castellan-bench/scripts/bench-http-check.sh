#!/usr/bin/env bash
# Issue 14 point 5: one load generator (wrk), in one run, against
#   - a trivial HTTP server on Castellan's HTTP stack (Javalin on Jetty, virtual threads) that
#     answers every POST with a fixed small JSON body, and
#   - Castellan's check endpoint on the embedded store (H2) and on PostgreSQL, with the default
#     settings (every decision audited) and with auditing off,
# then prints rates, the ratio to the trivial server and the latency percentiles.
#
# Usage: castellan-bench/scripts/bench-http-check.sh
# Env:   DURATION (s, default 15), WARMUP (s, default 5), CONNECTIONS (default 4), THREADS (wrk
#        threads, default 2), PG_URL (default jdbc:postgresql://127.0.0.1:5432/castellan_bench
#        ?user=postgres; the database is dropped and created again), JAVA_OPTS (e.g. JFR flags),
#        SKIP_BUILD=1 to use the jar already built.
# Needs: wrk, a JDK 21+, PostgreSQL (createdb/dropdb on PATH) at PG_URL.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-15}
WARMUP=${WARMUP:-5}
CONNECTIONS=${CONNECTIONS:-4}
THREADS=${THREADS:-2}
PG_DB=${PG_DB:-castellan_bench}
PG_URL=${PG_URL:-jdbc:postgresql://127.0.0.1:5432/${PG_DB}?user=postgres}
JAVA_OPTS=${JAVA_OPTS:-}
source scripts/java-env.sh >/dev/null 2>&1 || true
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)"; exit 1; }

if [ "${SKIP_BUILD:-}" != 1 ]; then
  ./mvnw -q -B -ntp -o package -pl castellan-bench -am -DskipTests -Djacoco.skip=true -P'!fuzz'
fi
JAR=castellan-bench/target/castellan-benchmarks.jar
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

dropdb -h 127.0.0.1 -U postgres --if-exists "$PG_DB" >/dev/null 2>&1 || true
createdb -h 127.0.0.1 -U postgres "$PG_DB"

start() { # name, args...
  local name=$1; shift
  # shellcheck disable=SC2086
  "$JAVA" -Xmx1g --sun-misc-unsafe-memory-access=allow $JAVA_OPTS \
    -cp "$JAR" dev.castellan.bench.CheckServer "$@" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
}
wait_ready() {
  for _ in $(seq 1 600); do grep -q '^ready' "$WORK/$1.log" && return 0; sleep 0.5; done
  echo "$1 did not start:"; cat "$WORK/$1.log"; exit 1
}

start trivial --trivial 18960
start embedded-audit --castellan 18961 --store "embedded:$WORK/h2-audit" --request "$WORK/embedded-audit.lua"
start embedded-noaudit --castellan 18962 --store "embedded:$WORK/h2-noaudit" --audit off --request "$WORK/embedded-noaudit.lua"
for n in trivial embedded-audit embedded-noaudit; do wait_ready $n; done
# The PostgreSQL servers one after the other: two first starts on one empty database race.
start pg-audit --castellan 18963 --store "$PG_URL" --request "$WORK/pg-audit.lua"
wait_ready pg-audit
start pg-noaudit --castellan 18964 --store "$PG_URL" --audit off --request "$WORK/pg-noaudit.lua"
wait_ready pg-noaudit
# The trivial server gets the same request: method, headers and body (its path is /check).
sed 's#^wrk.path = .*#wrk.path = "/check"#' "$WORK/embedded-audit.lua" >"$WORK/trivial.lua"

declare -A PORT=([trivial]=18960 [embedded-audit]=18961 [embedded-noaudit]=18962 [pg-audit]=18963 [pg-noaudit]=18964)
ORDER=(trivial embedded-audit embedded-noaudit pg-audit pg-noaudit)
echo "machine: $(nproc) cores, $(uname -r), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency (after ${WARMUP}s warm-up each)"
declare -A RATE P50 P90 P99
for n in "${ORDER[@]}"; do
  url="http://127.0.0.1:${PORT[$n]}"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -s "$WORK/$n.lua" "$url" >/dev/null
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WORK/$n.lua" "$url" >"$WORK/$n.wrk"
  if grep -q "Non-2xx" "$WORK/$n.wrk"; then echo "$n answered errors:"; cat "$WORK/$n.wrk"; exit 1; fi
  RATE[$n]=$(awk '/^Requests\/sec/ {print $2}' "$WORK/$n.wrk")
  P50[$n]=$(awk '$1=="50%" {print $2}' "$WORK/$n.wrk")
  P90[$n]=$(awk '$1=="90%" {print $2}' "$WORK/$n.wrk")
  P99[$n]=$(awk '$1=="99%" {print $2}' "$WORK/$n.wrk")
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '| %-36s | %10s | %8s | %9s | %9s | %9s |\n' target "req/s" "vs trivial" p50 p90 p99
printf '|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..38})" "------------" "----------" "-----------" "-----------" "-----------"
label() { case $1 in
  trivial) echo "trivial server (Javalin, fixed JSON)";;
  embedded-audit) echo "check, embedded H2, audit on (default)";;
  embedded-noaudit) echo "check, embedded H2, audit off";;
  pg-audit) echo "check, PostgreSQL, audit on (default)";;
  pg-noaudit) echo "check, PostgreSQL, audit off";; esac; }
for n in "${ORDER[@]}"; do
  ratio=$(awk -v a="${RATE[$n]}" -v b="${RATE[trivial]}" 'BEGIN {printf "%.0f%%", 100*a/b}')
  printf '| %-36s | %10s | %8s | %9s | %9s | %9s |\n' "$(label $n)" "${RATE[$n]}" "$ratio" "${P50[$n]}" "${P90[$n]}" "${P99[$n]}"
done
