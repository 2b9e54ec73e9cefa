#!/usr/bin/env bash
# Issue 14 point 5: one load generator (wrk), in one run, against
#   - a trivial HTTP server on Castellan's HTTP stack (Javalin on Jetty, virtual threads) that
#     reads the request body and answers every POST with a fixed small JSON body, and
#   - Castellan's check endpoint on the embedded store (H2) and on PostgreSQL, with the default
#     settings (every decision audited) and with auditing off,
# then prints rates, the ratio to the trivial server, the latency percentiles and, from the
# server's own counters, its CPU time and heap allocation per request.
#
# One server runs at a time (start, warm up, measure, stop), so every target is measured under the
# same conditions. With PIN=1 (the default on a machine with 2 cores or more) wrk runs on the first
# core and the server on the others (taskset), so that the load generator and the server do not
# take turns on one core and the p99 is the server's, not the scheduler's.
#
# CPU and allocation per request (cpu us/req, alloc B/req, and the audit writer's share) are the
# figures to compare on a machine that other work shares: they move far less than rates and
# latencies do. cpu us/req is the whole server process (request threads, JIT, GC, the audit
# writer) over the measured run, divided by wrk's request count.
#
# Usage: castellan-bench/scripts/bench-http-check.sh
# Env:   DURATION (s, default 15), WARMUP (s, default 45: with a server pinned to one core, the JIT
#        compiler threads still take most of that core 15 s into a Castellan run, which a short
#        warm-up bills to the requests; the trivial server has far less code to compile),
#        CONNECTIONS (default 4),
#        THREADS (wrk threads; default 1 when pinned, else 2),
#        PIN (1: wrk on core 0, the server on cores 1..n-1; default 1 when nproc >= 2),
#        TARGETS (default "trivial embedded-audit embedded-noaudit pg-audit pg-noaudit"; also
#        trivial-jetty: the trivial server on a bare Jetty core handler, without Javalin),
#        PG_DB (default castellan_bench; dropped and created again for each PostgreSQL target),
#        PG_URL (default jdbc:postgresql://127.0.0.1:5432/$PG_DB?user=postgres),
#        JAVA_OPTS (e.g. JFR flags; "%n" in them is replaced by the target's name),
#        SKIP_BUILD=1 to use the jar already built (JAR=... another build of castellan-bench, e.g.
#        an older commit's, to compare), KEEP=DIR to keep the logs and wrk outputs.
#        PORT, STATS_PORT (defaults 18960, 18970: two runs at once need others).
# Needs: wrk, curl, a JDK 21+, PostgreSQL (createdb/dropdb on PATH) at PG_URL, taskset to pin.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-15}
WARMUP=${WARMUP:-45}
CONNECTIONS=${CONNECTIONS:-4}
CORES=$(nproc)
if [ "$CORES" -ge 2 ] && command -v taskset >/dev/null; then PIN=${PIN:-1}; else PIN=${PIN:-0}; fi
if [ "$PIN" = 1 ]; then THREADS=${THREADS:-1}; else THREADS=${THREADS:-2}; fi
TARGETS=${TARGETS:-trivial embedded-audit embedded-noaudit pg-audit pg-noaudit}
PG_DB=${PG_DB:-castellan_bench}
PG_URL=${PG_URL:-jdbc:postgresql://127.0.0.1:5432/${PG_DB}?user=postgres}
JAVA_OPTS=${JAVA_OPTS:-}
source scripts/java-env.sh >/dev/null 2>&1 || true
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)"; exit 1; }
command -v curl >/dev/null || { echo "curl is needed"; exit 1; }

if [ "$PIN" = 1 ]; then
  WRK=(taskset -c 0 wrk)
  SERVER=(taskset -c "1-$((CORES - 1))")
else
  WRK=(wrk)
  SERVER=()
fi

if [ "${SKIP_BUILD:-}" != 1 ]; then
  ./mvnw -q -B -ntp -o package -pl castellan-bench -am -DskipTests -Djacoco.skip=true -P'!fuzz'
fi
JAR=${JAR:-castellan-bench/target/castellan-benchmarks.jar}
if [ -n "${KEEP:-}" ]; then WORK=$KEEP; mkdir -p "$WORK"; else WORK=$(mktemp -d); fi
PORT=${PORT:-18960}
STATS_PORT=${STATS_PORT:-18970}
PID=
stop() { if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=; fi; }
cleanup() { stop; if [ -z "${KEEP:-}" ]; then rm -rf "$WORK"; fi; }
trap cleanup EXIT

start() { # name
  local name=$1 args
  case $name in
    trivial) args=(--trivial "$PORT");;
    trivial-jetty) args=(--trivial-jetty "$PORT");;
    embedded-audit) args=(--castellan "$PORT" --store "embedded:$WORK/h2-audit");;
    embedded-noaudit) args=(--castellan "$PORT" --store "embedded:$WORK/h2-noaudit" --audit off);;
    pg-audit) args=(--castellan "$PORT" --store "$PG_URL");;
    pg-noaudit) args=(--castellan "$PORT" --store "$PG_URL" --audit off);;
    *) echo "unknown target $name"; exit 1;;
  esac
  case $name in trivial*) ;; *) args+=(--request "$WORK/$name.lua");; esac
  case $name in pg-*)
    dropdb -h 127.0.0.1 -U postgres --if-exists "$PG_DB" >/dev/null 2>&1 || true
    createdb -h 127.0.0.1 -U postgres "$PG_DB";;
  esac
  rm -rf "$WORK/h2-audit" "$WORK/h2-noaudit"
  # shellcheck disable=SC2086
  "${SERVER[@]}" "$JAVA" -Xmx1g --sun-misc-unsafe-memory-access=allow ${JAVA_OPTS//%n/$name} \
    -cp "$JAR" dev.castellan.bench.CheckServer "${args[@]}" --stats "$STATS_PORT" \
    >"$WORK/$name.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 600); do
    if grep -q '^ready' "$WORK/$name.log"; then return 0; fi
    if ! kill -0 "$PID" 2>/dev/null; then break; fi
    sleep 0.5
  done
  echo "$name did not start:"; cat "$WORK/$name.log"; exit 1
}
counter() { awk -F= -v k="$2" '$1==k {print $2}' "$1"; }

# The trivial server gets the same request as the checks (method, headers, body; its path is
# /check): made from the first Castellan target's request, or written here when only the trivial
# server is measured.
trivial_request() {
  local from
  from=$(ls "$WORK"/*-audit.lua "$WORK"/*-noaudit.lua 2>/dev/null | head -1 || true)
  if [ -n "$from" ]; then
    sed 's#^wrk.path = .*#wrk.path = "/check"#' "$from" >"$WORK/trivial.lua"
  else
    cat >"$WORK/trivial.lua" <<'LUA'
wrk.method = "POST"
wrk.path = "/check"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench-bootstrap-token-0123456789"
wrk.body = '{"tuple_key":{"user":"user:u42","relation":"viewer","object":"document:d42"}}'
LUA
  fi
}

ORDER=()
for n in $TARGETS; do case $n in trivial*) ;; *) ORDER+=("$n");; esac; done
# The trivial server last, once a Castellan target has written the request it copies.
for n in $TARGETS; do case $n in trivial*) ORDER+=("$n");; esac; done
echo "machine: $CORES cores, $(uname -r), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$PIN" = 1 ]; then
  echo "pinned: wrk on core 0, each server on cores 1-$((CORES - 1)), one server at a time"
else
  echo "not pinned, one server at a time"
fi
echo "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency (after ${WARMUP}s warm-up each)"
declare -A RATE P50 P90 P99 CPU ALLOC WRITER GCS
for n in "${ORDER[@]}"; do
  case $n in trivial*) trivial_request; cp "$WORK/trivial.lua" "$WORK/$n.lua" 2>/dev/null || true;; esac
  start "$n"
  url="http://127.0.0.1:$PORT"
  "${WRK[@]}" -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -s "$WORK/$n.lua" "$url" >/dev/null
  curl -sf "http://127.0.0.1:$STATS_PORT/" >"$WORK/$n.before"
  "${WRK[@]}" -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WORK/$n.lua" "$url" \
    >"$WORK/$n.wrk"
  curl -sf "http://127.0.0.1:$STATS_PORT/" >"$WORK/$n.after"
  stop
  if grep -q "Non-2xx" "$WORK/$n.wrk"; then echo "$n answered errors:"; cat "$WORK/$n.wrk"; exit 1; fi
  requests=$(awk '/requests in/ {print $1}' "$WORK/$n.wrk")
  RATE[$n]=$(awk '/^Requests\/sec/ {print $2}' "$WORK/$n.wrk")
  P50[$n]=$(awk '$1=="50%" {print $2}' "$WORK/$n.wrk")
  P90[$n]=$(awk '$1=="90%" {print $2}' "$WORK/$n.wrk")
  P99[$n]=$(awk '$1=="99%" {print $2}' "$WORK/$n.wrk")
  per() { # counter, scale: (after - before) / requests / scale
    awk -v a="$(counter "$WORK/$n.after" "$1")" -v b="$(counter "$WORK/$n.before" "$1")" \
      -v r="$requests" -v s="$2" -v f="$3" 'BEGIN {printf f, (a - b) / r / s}'
  }
  CPU[$n]=$(per cpu_ns 1000 "%.1f")
  WRITER[$n]=$(per audit_writer_cpu_ns 1000 "%.1f")
  ALLOC[$n]=$(per alloc_bytes 1 "%.0f")
  GCS[$n]=$(( $(counter "$WORK/$n.after" gc_count) - $(counter "$WORK/$n.before" gc_count) ))
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
label() { case $1 in
  trivial) echo "trivial server (Javalin, fixed JSON)";;
  trivial-jetty) echo "trivial server (Jetty core handler)";;
  embedded-audit) echo "check, embedded H2, audit on (default)";;
  embedded-noaudit) echo "check, embedded H2, audit off";;
  pg-audit) echo "check, PostgreSQL, audit on (default)";;
  pg-noaudit) echo "check, PostgreSQL, audit off";; esac; }
printf '| %-38s | %10s | %10s | %8s | %8s | %8s | %11s | %12s | %11s | %4s |\n' \
  target "req/s" "vs trivial" p50 p90 p99 "cpu us/req" "alloc B/req" "writer us/req" GCs
printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..40})" "------------" \
  "------------" "----------" "----------" "----------" "-------------" "--------------" \
  "-------------" "------"
for n in trivial trivial-jetty embedded-audit embedded-noaudit pg-audit pg-noaudit; do
  [ -n "${RATE[$n]:-}" ] || continue
  if [ -n "${RATE[trivial]:-}" ]; then
    ratio=$(awk -v a="${RATE[$n]}" -v b="${RATE[trivial]}" 'BEGIN {printf "%.0f%%", 100*a/b}')
  else
    ratio=-
  fi
  printf '| %-38s | %10s | %10s | %8s | %8s | %8s | %11s | %12s | %13s | %4s |\n' "$(label "$n")" \
    "${RATE[$n]}" "$ratio" "${P50[$n]}" "${P90[$n]}" "${P99[$n]}" "${CPU[$n]}" "${ALLOC[$n]}" \
    "${WRITER[$n]}" "${GCS[$n]}"
done
