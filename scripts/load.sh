#!/usr/bin/env bash
# Load test of a release API on PostgreSQL and Redis with one worker, driven by
# wrk (installed with apt-get if missing) and printed beside the targets:
#
#   GET  /api/v1/dashboard   >= 5,000 req/s, p99 < 20 ms at 32 connections
#   GET  /api/v1/auth/me     (no target; the cheapest authenticated call)
#   POST /api/v1/checkins    >= 2,000 req/s, p99 < 30 ms
#   check-in -> completed insight at 20 check-ins/s: p95 < 50 ms
#   API resident memory      < 64 MiB;  errors (non-2xx, socket errors): none
#
# Each request goes as a random one of USERS seeded users (signed up through
# the API, with CHECKINS days of history each). Also printed: p50/p90/p99, the
# CPU time the API and the worker spent per request (/proc/<pid>/stat), the
# API's VmRSS/VmHWM. Exit status 0 when every target is met.
#
#   DURATION=20 CONNS=32 USERS=200 CHECKINS=10 RATE=20 LATENCY_SECS=15 scripts/load.sh
#   SKIP_BUILD=1 scripts/load.sh      # reuse target/release
#   PHASES="latency" MINDWELL_WORKER_POLL_MS=10 SKIP_BUILD=1 scripts/load.sh   # one phase, a worker setting
#   NO_WORKER_ROW=0 ...               # skip the extra check-in burst with the worker stopped
#   WORKER_NICE=10 ...                # run the worker at a lower CPU priority (load/lib.sh)
set -euo pipefail
source "$(dirname "$0")/load/lib.sh"

DURATION="${DURATION:-20}"
CONNS="${CONNS:-32}"
USERS="${USERS:-200}"
CHECKINS="${CHECKINS:-10}"
RATE="${RATE:-20}"
LATENCY_SECS="${LATENCY_SECS:-15}"
WARMUP="${WARMUP:-3}"
PHASES=" ${PHASES:-dashboard me latency checkins} "
on() { [[ "$PHASES" == *" $1 "* ]]; }

mw_init load
mw_tools
mw_build
mw_fresh_db
mw_env
mw_start_api
mw_start_worker worker
sleep 2
echo "machine: $(nproc) cores, load average $(mw_loadavg); API pid $API_PID, worker pid ${WORKER_PIDS[0]}"

echo "seeding $USERS users x $CHECKINS check-ins through the API ..."
$MWLOAD seed --base "$BASE" --users "$USERS" --checkins "$CHECKINS" --out "$MW_OUT/tokens.txt" --acks "$MW_OUT/seed-acks.csv"
$MWLOAD wait --db "$DB_URL" --acks "$MW_OUT/seed-acks.csv" --timeout 1200
TOKENS="$MW_OUT/tokens.txt"
WORKER="${WORKER_PIDS[0]}"

declare -A R # results by key
row() { # label conns: runs wrk and records its figures
  local label="$1" conns="$2"
  shift 2
  [ "$WARMUP" -gt 0 ] && mw_wrk "$label-warmup" "$conns" "$WARMUP" "$@"
  local load a0 w0 a1 w1 p0 p1 r0 r1 b0 b1
  load=$(mw_loadavg)
  a0=$(mw_ticks "$API_PID")
  w0=$(mw_ticks "$WORKER")
  p0=$(mw_comm_ticks postgres)
  r0=$(mw_comm_ticks redis-server)
  b0=$(mw_busy_ticks)
  mw_wrk "$label" "$conns" "$DURATION" "$@"
  a1=$(mw_ticks "$API_PID")
  w1=$(mw_ticks "$WORKER")
  p1=$(mw_comm_ticks postgres)
  r1=$(mw_comm_ticks redis-server)
  b1=$(mw_busy_ticks)
  # Where the machine's CPU went, in us per request (and busy % of all cores).
  local per='BEGIN { printf "%.0f", t / hz / n * 1e6 }'
  R[$label.cpu]="API $(awk -v t="$((a1 - a0))" -v hz="$HZ" -v n="$WRK_requests" "$per"), worker $(awk -v t="$((w1 - w0))" -v hz="$HZ" -v n="$WRK_requests" "$per"), PostgreSQL $(awk -v t="$((p1 - p0))" -v hz="$HZ" -v n="$WRK_requests" "$per"), Redis $(awk -v t="$((r1 - r0))" -v hz="$HZ" -v n="$WRK_requests" "$per"), wrk $(awk -v s="${WRK_cpu_s:-0}" -v n="$WRK_requests" 'BEGIN { printf "%.0f", s / n * 1e6 }'), machine busy $(awk -v t="$((b1 - b0))" -v hz="$HZ" -v d="$DURATION" -v c="$(nproc)" 'BEGIN { printf "%.0f%%", t / hz / d / c * 100 }')"
  R[$label.rps]=$WRK_rps
  R[$label.p50]=$(awk -v v="$WRK_p50_us" 'BEGIN { printf "%.2f", v / 1000 }')
  R[$label.p90]=$(awk -v v="$WRK_p90_us" 'BEGIN { printf "%.2f", v / 1000 }')
  R[$label.p99]=$(awk -v v="$WRK_p99_us" 'BEGIN { printf "%.2f", v / 1000 }')
  R[$label.non2xx]=$WRK_non2xx
  R[$label.sock]=$((WRK_err_connect + WRK_err_read + WRK_err_write + WRK_err_timeout))
  R[$label.sockd]="connect $WRK_err_connect, read $WRK_err_read, write $WRK_err_write, timeout $WRK_err_timeout"
  R[$label.api_cpu]=$(awk -v a="$((a1 - a0))" -v hz="$HZ" -v n="$WRK_requests" 'BEGIN { printf "%.0f", a / hz / n * 1e6 }')
  R[$label.wrk_cpu]=$(awk -v a="$((w1 - w0))" -v hz="$HZ" -v n="$WRK_requests" 'BEGIN { printf "%.0f", a / hz / n * 1e6 }')
  R[$label.rss]=$(mw_mib "$(mw_kib "$API_PID" VmRSS)")
  R[$label.n]=$WRK_requests
  R[$label.statuses]=$(grep '^STATUSES' "$MW_OUT/wrk-$label.txt" | cut -d' ' -f2-)
  printf '%-10s %6s conns %9.0f req/s  p50 %6s  p90 %6s  p99 %6s ms  non-2xx %s  socket errors %s  API %s us/req  worker %s us/req  API RSS %s MiB  (load avg before: %s)\n' \
    "$label" "$conns" "$WRK_rps" "${R[$label.p50]}" "${R[$label.p90]}" "${R[$label.p99]}" "$WRK_non2xx" "${R[$label.sock]}" \
    "${R[$label.api_cpu]}" "${R[$label.wrk_cpu]}" "${R[$label.rss]}" "$load"
  echo "           CPU us/request: ${R[$label.cpu]}"
}

echo
echo "wrk -t2, ${DURATION}s per row (after a ${WARMUP}s warm-up), $USERS users:"
on dashboard && row dashboard "$CONNS" "$TOKENS" "get:/api/v1/dashboard?range=30d"
on me && row me "$CONNS" "$TOKENS" "get:/api/v1/auth/me"

if on latency; then
echo
echo "check-in -> insight at $RATE check-ins/s for ${LATENCY_SECS}s (one worker) ..."
w0=$(mw_ticks "$WORKER")
a0=$(mw_ticks "$API_PID")
$MWLOAD post --base "$BASE" --tokens "$TOKENS" --rate "$RATE" --seconds "$LATENCY_SECS" --acks "$MW_OUT/latency-acks.csv" \
  --log "$MW_OUT/latency.jsonl"
lat=$($MWLOAD latency --db "$DB_URL" --acks "$MW_OUT/latency-acks.csv" --timeout 300)
w1=$(mw_ticks "$WORKER")
a1=$(mw_ticks "$API_PID")
echo "$lat" | grep -v '^LATENCY'
line=$(echo "$lat" | grep '^LATENCY')
for kv in ${line#LATENCY }; do eval "LAT_${kv%%=*}='${kv#*=}'"; done
lat_n=$(wc -l <"$MW_OUT/latency-acks.csv")
lat_errors=$(python3 -c "import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)['status'] != 202))" "$MW_OUT/latency.jsonl")
worker_ms=$(awk -v a="$((w1 - w0))" -v hz="$HZ" -v n="$lat_n" 'BEGIN { printf "%.1f", a / hz / n * 1e3 }')
echo "  worker CPU per analysis: $worker_ms ms; API CPU per check-in: $(awk -v a="$((a1 - a0))" -v hz="$HZ" -v n="$lat_n" 'BEGIN { printf "%.0f", a / hz / n * 1e6 }') us; failed posts: $lat_errors"

fi
worker_hwm=$(mw_mib "$(mw_kib "$WORKER" VmHWM)")
if on checkins; then
  echo
  row checkins "$CONNS" "$TOKENS" checkin
  echo "  (the worker's backlog after the burst: $(mw_db_pending) analyses; not drained)"
  worker_hwm=$(mw_mib "$(mw_kib "$WORKER" VmHWM)")
fi
if on checkins && [ "${NO_WORKER_ROW:-1}" = 1 ]; then
  # The same burst with the worker stopped: the API's own capacity, without a
  # worker analysing the backlog on the same two cores.
  mw_stop "$WORKER" 60
  row checkins-noworker "$CONNS" "$TOKENS" checkin
fi

api_hwm=$(mw_mib "$(mw_kib "$API_PID" VmHWM)")
api_rss=$(mw_mib "$(mw_kib "$API_PID" VmRSS)")

verdict() { if awk "BEGIN { exit !($1) }"; then echo "met"; else echo "MISSED"; fi; }
has() { [ -n "${R[$1.n]:-}" ]; }
errors=${lat_errors:-0}
for l in dashboard me checkins checkins-noworker; do
  has "$l" && errors=$((errors + R[$l.non2xx] + R[$l.sock]))
done
echo
{
  echo "| figure | measured | target | |"
  echo "|---|---|---|---|"
  if has dashboard; then
    printf '| dashboard req/s, %s conns | %.0f | >= 5,000 | %s |\n' "$CONNS" "${R[dashboard.rps]}" "$(verdict "${R[dashboard.rps]} >= 5000")"
    printf '| dashboard p50 / p90 / p99 ms | %s / %s / %s | p99 < 20 | %s |\n' "${R[dashboard.p50]}" "${R[dashboard.p90]}" \
      "${R[dashboard.p99]}" "$(verdict "${R[dashboard.p99]} < 20")"
  fi
  if has me; then
    printf '| /auth/me req/s, %s conns | %.0f | - | |\n' "$CONNS" "${R[me.rps]}"
    printf '| /auth/me p50 / p90 / p99 ms | %s / %s / %s | - | |\n' "${R[me.p50]}" "${R[me.p90]}" "${R[me.p99]}"
  fi
  if has checkins; then
    printf '| check-in creation req/s, %s conns, worker running | %.0f | >= 2,000 | %s |\n' "$CONNS" "${R[checkins.rps]}" \
      "$(verdict "${R[checkins.rps]} >= 2000")"
    printf '| check-in p50 / p90 / p99 ms | %s / %s / %s | p99 < 30 | %s |\n' "${R[checkins.p50]}" "${R[checkins.p90]}" \
      "${R[checkins.p99]}" "$(verdict "${R[checkins.p99]} < 30")"
  fi
  if has checkins-noworker; then
    printf '| (same, worker stopped) req/s; p50 / p90 / p99 ms | %.0f; %s / %s / %s | - | |\n' "${R[checkins-noworker.rps]}" \
      "${R[checkins-noworker.p50]}" "${R[checkins-noworker.p90]}" "${R[checkins-noworker.p99]}"
  fi
  if on latency; then
    printf '| check-in -> insight p50 / p95 / max ms at %s/s | %s / %s / %s | p95 < 50 | %s |\n' "$RATE" "$LAT_p50_ms" \
      "$LAT_p95_ms" "$LAT_max_ms" "$(verdict "$LAT_p95_ms < 50 && $LAT_all_done == 1")"
    printf '| worker CPU ms per analysis (at %s/s) | %s | - | |\n' "$RATE" "$worker_ms"
  fi
  for l in dashboard me checkins; do
    has "$l" && printf '| API CPU us/request, %s | %s | - | |\n' "$l" "${R[$l.api_cpu]}"
  done
  printf '| API RSS end / peak (VmHWM) MiB | %s / %s | < 64 | %s |\n' "$api_rss" "$api_hwm" "$(verdict "$api_hwm < 64")"
  printf '| worker peak RSS MiB | %s | - | |\n' "$worker_hwm"
  printf '| errors: non-2xx + socket errors | %s | 0 | %s |\n' "$errors" "$(verdict "$errors == 0")"
} | tee "$MW_OUT/table.md"
for l in dashboard me checkins checkins-noworker; do
  has "$l" || continue
  echo "  $l: ${R[$l.n]} requests; statuses ${R[$l.statuses]}; socket errors: ${R[$l.sockd]}"
  echo "    CPU us/request: ${R[$l.cpu]}"
done
if grep -q MISSED "$MW_OUT/table.md"; then exit 1; fi
