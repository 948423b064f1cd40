#!/usr/bin/env bash
# Fault: Redis restarted (without persistence: the queue is emptied) during a
# steady stream of check-ins.
#
# Posts RATE check-ins/s (default 20) for BEFORE + DOWN + AFTER seconds, each
# with a 10 s client timeout; after BEFORE s Redis is shut down (nosave) and
# started again DOWN s later. Runs the API, one worker and the scheduler, with
# MINDWELL_STALE_AFTER_SECS=$STALE so the stale sweeper (enqueued by the
# scheduler once a minute) re-enqueues the analyses whose jobs were lost.
#
# The worker runs under a supervisor loop that restarts it whenever it exits
# (as systemd Restart=always or Kubernetes would), so the recovery of the lost
# jobs is tested even when the worker does not survive the outage; whether it
# survived is a check of its own.
#
# Checks: no client error or timeout, every failure is 503 `unavailable` (no
# 500), the API accepted check-ins while Redis was down and answered each
# within MAX_MS (default 2000 ms: it stores them in PostgreSQL first and does
# not wait for Redis), the worker did not exit, and in the database every
# acknowledged check-in is stored, completed, analysed exactly once, with one
# set of alerts.
#
# Redis is shared with test runs: /tmp/mw-fault-running exists while it is
# down, and it is started again whatever happens (trap).
#
#   RATE=20 BEFORE=10 DOWN=8 AFTER=20 STALE=10 SKIP_BUILD=1 scripts/fault-redis-restart.sh
set -euo pipefail
source "$(dirname "$0")/load/lib.sh"

RATE="${RATE:-20}"
BEFORE="${BEFORE:-10}"
DOWN="${DOWN:-8}"
AFTER="${AFTER:-20}"
STALE="${STALE:-10}"
WAIT="${WAIT:-240}"
SETTLE="${SETTLE:-5}" # seconds after Redis is back before every check-in must succeed
MAX_MS="${MAX_MS:-2000}"

mw_init fault-redis-restart
mw_tools
mw_build
mw_fresh_db
mw_env
export MINDWELL_STALE_AFTER_SECS="$STALE" MINDWELL_SCHEDULER_TICK_SECS=2
mw_start_api
supervise_worker() { # restarts the worker whenever it exits, as a service manager would
  local child="" rc
  trap '[ -n "$child" ] && kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 0' TERM
  while true; do
    "$BIN/mindwell-worker" >>"$MW_OUT/worker.log" 2>&1 &
    child=$!
    rc=0
    wait "$child" || rc=$?
    echo "$(date +%s.%N) worker pid $child exited with status $rc" >>"$MW_OUT/worker-exits.txt"
    sleep 1
  done
}
supervise_worker &
MW_PIDS+=($!)
mw_start_scheduler
$MWLOAD seed --base "$BASE" --users 20 --checkins 0 --out "$MW_OUT/tokens.txt"
sleep 2

total=$((BEFORE + DOWN + AFTER))
echo "posting $RATE check-ins/s for ${total}s; Redis down from ${BEFORE}s for ${DOWN}s ..."
$MWLOAD post --base "$BASE" --tokens "$MW_OUT/tokens.txt" --rate "$RATE" --seconds "$total" --timeout 10 \
  --acks "$MW_OUT/acks.csv" --log "$MW_OUT/posts.jsonl" >"$MW_OUT/post-summary.txt" &
poster=$!
MW_PIDS+=("$poster")
sleep "$BEFORE"
down_at=$(date +%s.%N)
mw_redis_stop
echo "Redis stopped"
sleep "$DOWN"
mw_redis_start
up_at=$(date +%s.%N)
echo "Redis started again after $(awk -v a="$down_at" -v b="$up_at" 'BEGIN { printf "%.1f", b - a }') s"
wait "$poster" || true
cat "$MW_OUT/post-summary.txt"
echo "what the clients saw, relative to the outage:"
$MWLOAD window --log "$MW_OUT/posts.jsonl" --start "$down_at" --end "$up_at" --settle "$SETTLE" --json "$MW_OUT/window.json"

j() { python3 -c "import json,sys; w=json.load(open('$MW_OUT/window.json')); print($1)"; }
timeouts=$(j "sum(v for part in ('before','during','recovering','after') for k, v in w[part].items() if k.startswith('client error'))")
bad5xx=$(j "sum(v for part in ('before','during','recovering','after') for k, v in w[part].items() if k.startswith('5') and k != '503 unavailable')")
accepted_during=$(j "w['during'].get('202', 0)")
slowest_during=$(python3 -c "
import json, sys
rs = [json.loads(l) for l in open('$MW_OUT/posts.jsonl')]
print(round(max([r['ms'] for r in rs if r['t0'] < $up_at and r['t1'] > $down_at] or [0])))")
after_ok=$(j "w['after'].get('202', 0)")
after_all=$(j "sum(w['after'].values())")

echo "checks:"
mw_assert "no request hung or lost its connection (client errors: $timeouts)" test "$timeouts" = 0
mw_assert "no 5xx other than 503 unavailable ($bad5xx)" test "$bad5xx" = 0
mw_assert "check-ins accepted while Redis was down ($accepted_during)" test "$accepted_during" -gt 0
mw_assert "each answered within ${MAX_MS} ms while Redis was down (slowest: $slowest_during ms)" \
  test "$slowest_during" -le "$MAX_MS"
worker_exits=$(cat "$MW_OUT/worker-exits.txt" 2>/dev/null || true)
[ -z "$worker_exits" ] || echo "$worker_exits" | sed 's/^/    /'
mw_assert "the worker survived the outage (exits: $(echo -n "$worker_exits" | grep -c . || true))" test -z "$worker_exits"
mw_assert "all check-ins accepted from ${SETTLE}s after Redis came back ($after_ok of $after_all)" test "$after_ok" = "$after_all"
mw_assert "database invariants: every acknowledged check-in analysed exactly once" \
  $MWLOAD verify --db "$DB_URL" --acks "$MW_OUT/acks.csv" --wait "$WAIT"
mw_assert "the API is still running" mw_alive "$API_PID"
mw_assert "the scheduler is still running" mw_alive "$SCHEDULER_PID"
mw_assert "no panic in the logs" mw_no_panic "$MW_OUT"/*.log
mw_verdict
