#!/usr/bin/env bash
# Fault: PostgreSQL stopped for DOWN seconds (default 8) and started again
# while curl clients keep calling the API (GET /auth/me, POST /checkins,
# GET /dashboard, GET /checkins, GET /health/ready), each call with
# --max-time 10, beside wrk load (LOAD_CONNS connections, default 16, of
# check-ins, dashboards and /auth/me; 0 for none).
#
# Checks: no call hangs or loses its connection (curl exit status 0 for every
# call), while PostgreSQL is down every /api/v1 failure is 503 with error code
# `unavailable` in the contract's envelope (never 500), /health/ready says 503,
# the API recovers by itself within RECOVER seconds after PostgreSQL is back
# (every call 2xx after that), nothing panics, and in the database every
# acknowledged check-in is stored and analysed exactly once.
#
# PostgreSQL is shared with test runs: /tmp/mw-fault-running exists while it
# is down, and it is started again whatever happens (trap).
#
#   BEFORE=5 DOWN=8 AFTER=20 RECOVER=10 SKIP_BUILD=1 scripts/fault-pg-restart.sh
set -euo pipefail
source "$(dirname "$0")/load/lib.sh"

BEFORE="${BEFORE:-5}"
DOWN="${DOWN:-8}"
AFTER="${AFTER:-20}"
RECOVER="${RECOVER:-10}"
WAIT="${WAIT:-600}"
LOAD_CONNS="${LOAD_CONNS:-16}"

mw_init fault-pg-restart
mw_tools
mw_build
mw_fresh_db
mw_env
mw_start_api
mw_start_worker worker
$MWLOAD seed --base "$BASE" --users 8 --checkins 0 --out "$MW_OUT/tokens.txt"
mapfile -t TOKENS <"$MW_OUT/tokens.txt"
sleep 2

rm -f "$MW_OUT/stop" "$MW_OUT/probes.txt"
body='{"mood":4,"sleep_hours":4.5,"notes":"Database outage test, tired."}'
mw_probe me "${TOKENS[0]}" GET /api/v1/auth/me "" &
MW_PIDS+=($!)
mw_probe checkin "${TOKENS[1]}" POST /api/v1/checkins "$body" &
MW_PIDS+=($!)
mw_probe checkin "${TOKENS[2]}" POST /api/v1/checkins "$body" &
MW_PIDS+=($!)
mw_probe dashboard "${TOKENS[3]}" GET "/api/v1/dashboard?range=7d" "" &
MW_PIDS+=($!)
mw_probe checkins-list "${TOKENS[4]}" GET "/api/v1/checkins?limit=5" "" &
MW_PIDS+=($!)
mw_probe ready "" GET /health/ready "" &
MW_PIDS+=($!)

probes=("${MW_PIDS[@]:2}")
if [ "$LOAD_CONNS" -gt 0 ]; then
  wrk -t2 -c"$LOAD_CONNS" -d"$((BEFORE + DOWN + AFTER + 5))s" --timeout 15s -s "$WRK_LUA" "$BASE" -- \
    "$MW_OUT/tokens.txt" mix:5:50:45 "$MW_OUT/wrk-acks.csv" >"$MW_OUT/wrk.txt" 2>&1 &
  wrk_pid=$!
  MW_PIDS+=("$wrk_pid")
fi
sleep "$BEFORE"
down_at=$(date +%s.%N)
mw_pg_stop
echo "PostgreSQL stopped"
sleep "$DOWN"
mw_pg_start
up_at=$(date +%s.%N)
echo "PostgreSQL started again after $(awk -v a="$down_at" -v b="$up_at" 'BEGIN { printf "%.1f", b - a }') s"
sleep "$AFTER"
touch "$MW_OUT/stop"
for p in "${probes[@]}"; do wait "$p" 2>/dev/null || true; done
wrk_5xx=0
wrk_sock=0
if [ "$LOAD_CONNS" -gt 0 ]; then
  wait "$wrk_pid" || true
  line=$(grep '^WRK ' "$MW_OUT/wrk.txt" | tail -1)
  for kv in ${line#WRK }; do eval "WRK_${kv%%=*}='${kv#*=}'"; done
  wrk_5xx=$((WRK_s5xx - WRK_s503))
  wrk_sock=$((WRK_err_connect + WRK_err_read + WRK_err_write + WRK_err_timeout))
  echo "wrk beside: $WRK_requests responses, statuses $(grep '^STATUSES' "$MW_OUT/wrk.txt" | cut -d' ' -f2-);" \
    "socket errors: connect $WRK_err_connect, read $WRK_err_read, write $WRK_err_write, timeout $WRK_err_timeout"
fi

awk '$3 == "checkin" && $5 == 202 {print $7 "," $8}' "$MW_OUT/probes.txt" >"$MW_OUT/acks.csv"
python3 - "$MW_OUT/probes.txt" "$down_at" "$up_at" "$RECOVER" >"$MW_OUT/analysis.txt" <<'PY'
import sys
from collections import Counter, defaultdict
path, down, up, recover = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
rows = [l.split() for l in open(path) if l.strip()]
rows = [(float(r[0]), float(r[1]), r[2], int(r[3]), r[4], r[5]) for r in rows]
def part(t0, t1):
    if t1 <= down: return "before"
    if t0 < up: return "during"
    if t0 < up + recover: return "recovering"
    return "after"
table = defaultdict(Counter)
worst = defaultdict(float)
for t0, t1, name, rc, http, code in rows:
    key = f"curl rc {rc}" if rc else (http + ("" if code in ("-", "null") else " " + code))
    table[(part(t0, t1), name)][key] += 1
    worst[name] = max(worst[name], t1 - t0)
for (p, name), c in sorted(table.items(), key=lambda x: (["before", "during", "recovering", "after"].index(x[0][0]), x[0][1])):
    print(f"  {p:<10} {name:<14} " + ", ".join(f"{k}: {v}" for k, v in sorted(c.items())))
print("  slowest call by client (s): " + ", ".join(f"{n} {w:.2f}" for n, w in sorted(worst.items())))
curl_fail = sum(1 for r in rows if r[3] != 0)
api = [r for r in rows if r[2] != "ready"]
bad = sum(1 for r in api if r[3] == 0 and not r[4].startswith("2") and not (r[4] == "503" and r[5] == "unavailable"))
s500 = sum(1 for r in rows if r[4].startswith("5") and r[4] != "503")
during_503 = sum(1 for r in api if part(r[0], r[1]) == "during" and r[4] == "503" and r[5] == "unavailable")
ready_down = sum(1 for r in rows if r[2] == "ready" and part(r[0], r[1]) == "during" and r[4] == "503")
after = [r for r in rows if part(r[0], r[1]) == "after"]
after_bad = sum(1 for r in after if not r[4].startswith("2"))
first_ok = {}
for t0, t1, name, rc, http, code in sorted(rows):
    if t0 >= up and http.startswith("2") and name not in first_ok:
        first_ok[name] = t0 - up
print(f"  first 2xx after PostgreSQL was back (s): " + ", ".join(f"{n} {v:.1f}" for n, v in sorted(first_ok.items())))
print(f"RESULTS curl_fail={curl_fail} bad={bad} s500={s500} during_503={during_503} ready_down={ready_down} after_n={len(after)} after_bad={after_bad}")
PY
cat "$MW_OUT/analysis.txt"
line=$(grep '^RESULTS' "$MW_OUT/analysis.txt")
for kv in ${line#RESULTS }; do eval "P_${kv%%=*}='${kv#*=}'"; done

echo "checks:"
mw_assert "no call hung or lost its connection (curl exit status != 0: $P_curl_fail)" test "$P_curl_fail" = 0
mw_assert "every /api/v1 failure is 503 unavailable in the envelope (others: $P_bad)" test "$P_bad" = 0
mw_assert "no 5xx other than 503 ($P_s500 curl, $wrk_5xx wrk)" test "$P_s500" = 0 -a "$wrk_5xx" = 0
mw_assert "wrk: no socket errors or timeouts ($wrk_sock)" test "$wrk_sock" = 0
mw_assert "calls answered 503 unavailable while PostgreSQL was down ($P_during_503)" test "$P_during_503" -gt 0
mw_assert "/health/ready said 503 while PostgreSQL was down ($P_ready_down)" test "$P_ready_down" -gt 0
mw_assert "every call 2xx from ${RECOVER}s after PostgreSQL was back ($P_after_bad of $P_after_n not)" \
  test "$P_after_bad" = 0 -a "$P_after_n" -gt 0
mw_assert "the API is still running" mw_alive "$API_PID"
mw_assert "the worker is still running" mw_alive "${WORKER_PIDS[0]}"
mw_assert "database invariants: every acknowledged check-in analysed exactly once" \
  $MWLOAD verify --db "$DB_URL" --acks "$MW_OUT/acks.csv" $([ "$LOAD_CONNS" -gt 0 ] && echo "$MW_OUT/wrk-acks.csv") --wait "$WAIT"
mw_assert "no panic in the logs" mw_no_panic "$MW_OUT"/*.log
mw_verdict
