#!/usr/bin/env bash
# Soak: SOAK_SECS (default 600) of steady mixed load on a release API with one
# worker and the scheduler (PostgreSQL and Redis as for the tests):
#   RATE check-ins/s (default 20, open loop, every acknowledged one recorded)
#   + wrk, CONNS connections (default 16) of dashboards and /auth/me, each
#     connection pausing DELAY_MS (default 10) before each request
# Every INTERVAL s (default 30) it prints the API's and the worker's resident
# memory, the analysis queue's depth (ready, scheduled, in flight; the Redis
# keys /admin/jobs reads), the analyses pending in the database and the API's
# request rate and 5xx from /metrics. At the end: whether memory and the queue
# stayed flat, and that every acknowledged check-in was analysed exactly once.
# Exit status 0 when flat, error-free and complete.
#
#   SOAK_SECS=600 RATE=20 CONNS=16 DELAY_MS=10 SKIP_BUILD=1 scripts/soak.sh
set -euo pipefail
source "$(dirname "$0")/load/lib.sh"

SOAK_SECS="${SOAK_SECS:-600}"
RATE="${RATE:-20}"
CONNS="${CONNS:-16}"
DELAY_MS="${DELAY_MS:-10}"
INTERVAL="${INTERVAL:-30}"
USERS="${USERS:-200}"
CHECKINS="${CHECKINS:-7}"
QUEUE_MAX="${QUEUE_MAX:-200}"      # flat: ready + scheduled stays under this in the second half
RSS_GROWTH_PCT="${RSS_GROWTH_PCT:-10}" # flat: last third within this much of the first third (or 4 MiB)

mw_init soak
mw_tools
mw_build
mw_fresh_db
mw_env
mw_start_api
mw_start_worker worker
mw_start_scheduler
WORKER="${WORKER_PIDS[0]}"
echo "seeding $USERS users x $CHECKINS check-ins ..."
$MWLOAD seed --base "$BASE" --users "$USERS" --checkins "$CHECKINS" --out "$MW_OUT/tokens.txt" --acks "$MW_OUT/seed-acks.csv"
$MWLOAD wait --db "$DB_URL" --acks "$MW_OUT/seed-acks.csv" --timeout 900 >/dev/null

http_totals() { # total requests and 5xx so far, from /metrics
  curl -s --max-time 5 "$BASE/metrics" | awk '/^mindwell_http_requests_total\{/ {
      n += $NF; if ($0 ~ /status="5/) e += $NF } END { printf "%d %d\n", n, e }'
}

echo "soak: ${SOAK_SECS}s, $RATE check-ins/s + wrk $CONNS connections (dashboard, me; ${DELAY_MS} ms pause) ..."
$MWLOAD post --base "$BASE" --tokens "$MW_OUT/tokens.txt" --rate "$RATE" --seconds "$SOAK_SECS" \
  --acks "$MW_OUT/acks.csv" --log "$MW_OUT/posts.jsonl" >"$MW_OUT/post-summary.txt" &
poster=$!
MW_PIDS+=("$poster")
wrk -t2 -c"$CONNS" -d"${SOAK_SECS}s" --timeout 10s --latency -s "$WRK_LUA" "$BASE" -- \
  "$MW_OUT/tokens.txt" mix:0:50:50 - "$DELAY_MS" >"$MW_OUT/wrk.txt" 2>&1 &
wrk_pid=$!
MW_PIDS+=("$wrk_pid")

samples="$MW_OUT/samples.tsv"
printf 't_s\tapi_rss_mib\tworker_rss_mib\tready\tscheduled\tinflight\tdb_pending\treq_per_s\thttp_5xx\tapi_cpu_pct\tworker_cpu_pct\tload1\n' >"$samples"
printf '%6s %9s %11s %7s %9s %8s %10s %8s %6s %8s %11s %6s\n' t_s "API MiB" "worker MiB" ready scheduled inflight "db pending" "req/s" 5xx "API cpu" "worker cpu" load1
start=$(date +%s)
read -r n0 e0 < <(http_totals)
a0=$(mw_ticks "$API_PID"); w0=$(mw_ticks "$WORKER"); t0=$start
while mw_alive "$wrk_pid" || mw_alive "$poster"; do
  sleep "$INTERVAL" &
  wait $! || true
  now=$(date +%s)
  read -r n1 e1 < <(http_totals)
  a1=$(mw_ticks "$API_PID"); w1=$(mw_ticks "$WORKER")
  read -r ready scheduled inflight < <(mw_queue_depth)
  dt=$((now - t0)); [ "$dt" -gt 0 ] || dt=1
  rec=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s' "$((now - start))" \
    "$(mw_mib "$(mw_kib "$API_PID" VmRSS)")" "$(mw_mib "$(mw_kib "$WORKER" VmRSS)")" "$ready" "$scheduled" "$inflight" \
    "$(mw_db_pending)" "$(((n1 - n0) / dt))" "$((e1 - e0))" \
    "$(awk -v a="$((a1 - a0))" -v hz="$HZ" -v t="$dt" 'BEGIN { printf "%.0f", a / hz / t * 100 }')" \
    "$(awk -v a="$((w1 - w0))" -v hz="$HZ" -v t="$dt" 'BEGIN { printf "%.0f", a / hz / t * 100 }')" \
    "$(cut -d' ' -f1 /proc/loadavg)")
  echo "$rec" >>"$samples"
  echo "$rec" | awk -F'\t' '{ printf "%6s %9s %11s %7s %9s %8s %10s %8s %6s %7s%% %10s%% %6s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 }'
  n0=$n1; e0=$e1; a0=$a1; w0=$w1; t0=$now
done
wait "$wrk_pid" || true
wait "$poster" || true

line=$(grep '^WRK ' "$MW_OUT/wrk.txt" | tail -1)
for kv in ${line#WRK }; do eval "WRK_${kv%%=*}='${kv#*=}'"; done
echo
echo "wrk (dashboard + me): $WRK_requests requests, $(printf '%.0f' "$WRK_rps") req/s," \
  "p50 $(awk -v v="$WRK_p50_us" 'BEGIN{printf "%.2f", v/1000}') p99 $(awk -v v="$WRK_p99_us" 'BEGIN{printf "%.2f", v/1000}') ms," \
  "non-2xx $WRK_non2xx, socket errors $((WRK_err_connect + WRK_err_read + WRK_err_write + WRK_err_timeout))"
cat "$MW_OUT/post-summary.txt"
post_errors=$(python3 -c "import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)['status'] != 202))" "$MW_OUT/posts.jsonl")
echo "API peak RSS (VmHWM) $(mw_mib "$(mw_kib "$API_PID" VmHWM)") MiB, worker peak RSS $(mw_mib "$(mw_kib "$WORKER" VmHWM)") MiB"

echo "checks:"
python3 - "$samples" "$RSS_GROWTH_PCT" "$QUEUE_MAX" >"$MW_OUT/flat.txt" <<'PY' || true
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])][1:]
growth_pct, queue_max = float(sys.argv[2]), float(sys.argv[3])
rows = [r for r in rows if len(r) >= 9]
def col(i):
    return [float(r[i]) if r[i] not in ("?", "") else 0.0 for r in rows]
ok_all = True
if len(rows) < 3:
    print("FAIL too few samples"); sys.exit(1)
k = max(1, len(rows) // 3)
for name, i in (("API RSS", 1), ("worker RSS", 2)):
    v = col(i)
    first, last = sum(v[:k]) / k, sum(v[-k:]) / k
    n = len(v); xs = range(n); mx = (n - 1) / 2; my = sum(v) / n
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, v)) / max(sum((x - mx) ** 2 for x in xs), 1e-9)
    ok = last <= first * (1 + growth_pct / 100) or last - first <= 4
    ok_all &= ok
    print(f"{'PASS' if ok else 'FAIL'}  {name} flat: first third {first:.1f} MiB, last third {last:.1f} MiB "
          f"({(last - first) / first * 100:+.1f} %), trend {slope:+.2f} MiB per sample")
q = [a + b for a, b in zip(col(3), col(4))]
half = q[len(q) // 2:]
ok = max(half) <= queue_max
ok_all &= ok
print(f"{'PASS' if ok else 'FAIL'}  queue flat: ready + scheduled max {max(q):.0f} overall, {max(half):.0f} in the second half "
      f"(limit {queue_max:.0f}); database pending at the end {col(6)[-1]:.0f}")
e = sum(col(8))
ok_all &= e == 0
print(f"{'PASS' if e == 0 else 'FAIL'}  no 5xx from the API during the soak ({e:.0f})")
sys.exit(0 if ok_all else 1)
PY
while read -r verdict text; do mw_check "$([ "$verdict" = PASS ] && echo 0 || echo 1)" "$text"; done <"$MW_OUT/flat.txt"
exits=$(mw_worker_exits)
[ -z "$exits" ] || echo "$exits" | sed 's/^/    /'
mw_assert "the worker ran throughout" test -z "$exits"
mw_assert "the API ran throughout" mw_alive "$API_PID"
mw_assert "the scheduler ran throughout" mw_alive "$SCHEDULER_PID"
mw_assert "wrk: no non-2xx and no socket errors" \
  test "$((WRK_non2xx + WRK_err_connect + WRK_err_read + WRK_err_write + WRK_err_timeout))" = 0
mw_assert "every check-in accepted ($post_errors not)" test "$post_errors" = 0
mw_assert "every acknowledged check-in analysed exactly once" \
  $MWLOAD verify --db "$DB_URL" --acks "$MW_OUT/acks.csv" --wait 300
mw_assert "no panic in the logs" mw_no_panic "$MW_OUT"/*.log
mw_verdict
