#!/usr/bin/env bash
# Fault: SIGTERM to the API under load.
#
# Three kinds of clients run: wrk (CONNS keep-alive connections of check-ins,
# dashboards and /auth/me, recording the id of every acknowledged check-in),
# KEEPALIVE Python clients posting check-ins on keep-alive connections (each
# failure classified: refused, reset, closed without an answer, timeout) and
# curl loops (a new connection per call, --max-time 10). After BEFORE seconds
# the API gets SIGTERM. It drains for DRAIN_MS (default 2000, so that its
# listener closes while the clients still run; 5000 in production), then closes
# its listener, then its connections (see api/src/shutdown.rs).
#
# Checks: the API exits 0 within its 30 s grace period, without a panic; no
# client sees a reset, a connection closed with its request unanswered, or a
# timeout -- only "connection refused" once the listener is closed (curl exit
# 7; Python ConnectionRefusedError; wrk counts refused reconnects as write
# errors, so only its read errors and timeouts count against the API); every
# answer is 2xx; no check-in is stored without its client getting the 202; in
# the database every acknowledged check-in is stored, completed and analysed
# exactly once.
#
#   CONNS=32 BEFORE=5 DRAIN_MS=2000 SKIP_BUILD=1 scripts/fault-api-sigterm.sh
set -euo pipefail
source "$(dirname "$0")/load/lib.sh"

CONNS="${CONNS:-32}"
KEEPALIVE="${KEEPALIVE:-4}"
BEFORE="${BEFORE:-5}"
AFTER="${AFTER:-5}"
WAIT="${WAIT:-900}"

mw_init fault-api-sigterm
mw_tools
mw_build
mw_fresh_db
mw_env
mw_start_api MINDWELL_SHUTDOWN_DRAIN_MS="${DRAIN_MS:-2000}"
mw_start_worker worker
$MWLOAD seed --base "$BASE" --users 50 --checkins 2 --out "$MW_OUT/tokens.txt"
mapfile -t TOKENS <"$MW_OUT/tokens.txt"
sleep 1

rm -f "$MW_OUT/stop" "$MW_OUT/probes.txt"
body='{"mood":6,"sleep_hours":4.0,"notes":"Shutdown test, short night."}'
mw_probe checkin "${TOKENS[0]}" POST /api/v1/checkins "$body" &
MW_PIDS+=($!)
mw_probe checkin "${TOKENS[1]}" POST /api/v1/checkins "$body" &
MW_PIDS+=($!)
mw_probe me "${TOKENS[2]}" GET /api/v1/auth/me "" &
MW_PIDS+=($!)
$MWLOAD post --base "$BASE" --tokens "$MW_OUT/tokens.txt" --count 0 --seconds "$((BEFORE + AFTER))" \
  --threads "$KEEPALIVE" --pause 0.01 --timeout 10 --acks "$MW_OUT/py-acks.csv" --log "$MW_OUT/py.jsonl" \
  >"$MW_OUT/py-summary.txt" 2>&1 &
MW_PIDS+=($!)
probes=("${MW_PIDS[@]:2}")

secs=$((BEFORE + AFTER))
wrk -t2 -c"$CONNS" -d"${secs}s" --timeout 10s --latency -s "$WRK_LUA" "$BASE" -- \
  "$MW_OUT/tokens.txt" mix:10:45:45 "$MW_OUT/wrk-acks.csv" >"$MW_OUT/wrk.txt" 2>&1 &
wrk_pid=$!
MW_PIDS+=("$wrk_pid")
sleep "$BEFORE"
term_at=$(date +%s.%N)
kill -TERM "$API_PID"
api_rc=0
wait "$API_PID" || api_rc=$?
exit_at=$(date +%s.%N)
took=$(awk -v a="$term_at" -v b="$exit_at" 'BEGIN { printf "%.2f", b - a }')
echo "SIGTERM sent; the API exited with status $api_rc after $took s"
wait "$wrk_pid" || true
touch "$MW_OUT/stop"
for p in "${probes[@]}"; do wait "$p" 2>/dev/null || true; done

line=$(grep '^WRK ' "$MW_OUT/wrk.txt" | tail -1)
for kv in ${line#WRK }; do eval "WRK_${kv%%=*}='${kv#*=}'"; done
echo "wrk: $WRK_requests responses, statuses $(grep '^STATUSES' "$MW_OUT/wrk.txt" | cut -d' ' -f2-);" \
  "socket errors: connect $WRK_err_connect, read $WRK_err_read, write $WRK_err_write, timeout $WRK_err_timeout"
echo "curl: $(awk '{print ($4 == 0 ? "http " $5 : "exit " $4)}' "$MW_OUT/probes.txt" | sort | uniq -c | awk '{printf "%s %s: %s; ", $2, $3, $1}')"
curl_bad=$(awk '$4 != 0 && $4 != 7' "$MW_OUT/probes.txt" | wc -l)
curl_non2xx=$(awk '$4 == 0 && $5 !~ /^2/' "$MW_OUT/probes.txt" | wc -l)
awk '$3 == "checkin" && $5 == 202 {print $7 "," $8}' "$MW_OUT/probes.txt" >"$MW_OUT/curl-acks.csv"
echo "python keep-alive clients: $(tail -1 "$MW_OUT/py-summary.txt" | sed 's/^ *//')"
py_bad=$(python3 -c "
import json, sys
bad = [r for r in map(json.loads, open(sys.argv[1])) if r['status'] is None and r['err'] != 'ConnectionRefusedError']
print(len(bad))" "$MW_OUT/py.jsonl")
py_non2xx=$(python3 -c "
import json, sys
print(sum(1 for r in map(json.loads, open(sys.argv[1])) if r['status'] is not None and r['status'] // 100 != 2))" "$MW_OUT/py.jsonl")
acked=$(cat "$MW_OUT/wrk-acks.csv" "$MW_OUT/curl-acks.csv" "$MW_OUT/py-acks.csv" | sort -u | wc -l)
stored=$(psql "$DB_URL" -Atqc "SELECT count(*) FROM daily_checkins")

echo "checks:"
mw_assert "the API exited with status 0 ($api_rc)" test "$api_rc" = 0
mw_assert "the API exited within 30 s (${took} s)" awk "BEGIN { exit !($took < 30) }"
mw_assert "wrk: no read errors or timeouts: connections closed or reset with a request outstanding ($WRK_err_read read, $WRK_err_timeout timeout)" \
  test "$((WRK_err_read + WRK_err_timeout))" = 0
mw_assert "wrk: every response 2xx ($WRK_non2xx not)" test "$WRK_non2xx" = 0
mw_assert "curl: no reset, empty reply or timeout (exit status other than 0 and 7: $curl_bad)" test "$curl_bad" = 0
mw_assert "curl: every response 2xx ($curl_non2xx not)" test "$curl_non2xx" = 0
mw_assert "python keep-alive: no failure other than connection refused ($py_bad)" test "$py_bad" = 0
mw_assert "python keep-alive: every response 2xx ($py_non2xx not)" test "$py_non2xx" = 0
mw_assert "no check-in stored without its 202 reaching the client (stored $stored = seeded 100 + acknowledged $acked)" \
  test "$stored" = "$((100 + acked))"
mw_assert "database invariants: every acknowledged check-in stored and analysed exactly once" \
  $MWLOAD verify --db "$DB_URL" --acks "$MW_OUT/wrk-acks.csv" "$MW_OUT/curl-acks.csv" "$MW_OUT/py-acks.csv" --wait "$WAIT"
mw_assert "no panic in the logs" mw_no_panic "$MW_OUT"/*.log
mw_verdict
