#!/usr/bin/env bash
# Fault: `kill -9` of one of two workers in the middle of a backlog.
#
# Posts BACKLOG check-ins (default 3000) as fast as the API takes them while two
# workers analyse them; once KILL_AFTER analyses are done, kill -9 one worker;
# then checks in the database that every acknowledged (202) check-in is stored,
# its analysis `completed`, exactly one analysis per check-in, one set of
# alerts. The killed worker's in-flight jobs come back through the queue's
# missed-heartbeat recovery (no scheduler runs, so no stale sweep helps).
# Exit status 0: PASS.
#
#   BACKLOG=3000 KILL_AFTER=500 SKIP_BUILD=1 scripts/fault-worker-kill.sh
set -euo pipefail
source "$(dirname "$0")/load/lib.sh"

BACKLOG="${BACKLOG:-3000}"
KILL_AFTER="${KILL_AFTER:-500}"
USERS="${USERS:-50}"
WAIT="${WAIT:-900}"

mw_init fault-worker-kill
mw_tools
mw_build
mw_fresh_db
mw_env
mw_start_api
mw_start_worker worker1
mw_start_worker worker2
$MWLOAD seed --base "$BASE" --users "$USERS" --checkins 0 --out "$MW_OUT/tokens.txt"
sleep 2 # models loaded

echo "posting $BACKLOG check-ins ..."
$MWLOAD post --base "$BASE" --tokens "$MW_OUT/tokens.txt" --count "$BACKLOG" --threads 16 \
  --acks "$MW_OUT/acks.csv" --log "$MW_OUT/posts.jsonl"
echo "backlog: $(mw_db_pending) analyses pending; queue (ready scheduled in-flight): $(mw_queue_depth)"

victim="${WORKER_PIDS[0]}"
for _ in $(seq 1 600); do
  done_n=$(psql "$DB_URL" -Atqc "SELECT count(*) FROM ai_analysis_results WHERE status = 'completed'")
  [ "$done_n" -ge "$KILL_AFTER" ] && break
  sleep 0.5
done
running=$(psql "$DB_URL" -Atqc "SELECT count(*) FROM ai_analysis_results WHERE status = 'running'")
kill -9 "$victim"
wait "$victim" 2>/dev/null || true
echo "kill -9 worker1 (pid $victim) with $done_n completed, $running running, $(mw_db_pending) pending"

echo "waiting for worker2 to finish the backlog ..."
mw_assert "database invariants after kill -9 of a worker" \
  $MWLOAD verify --db "$DB_URL" --acks "$MW_OUT/acks.csv" --wait "$WAIT"
mw_assert "the surviving worker is still running" mw_alive "${WORKER_PIDS[1]}"
mw_assert "the API is still running" mw_alive "$API_PID"
mw_assert "no panic in the logs" mw_no_panic "$MW_OUT"/*.log
mw_verdict
