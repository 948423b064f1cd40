#!/usr/bin/env bash
# Every fault check in turn (release build once), each printing PASS or FAIL:
#   scripts/fault-worker-kill.sh    kill -9 of one of two workers during a backlog
#   scripts/fault-redis-restart.sh  Redis restarted during a stream of check-ins
#   scripts/fault-pg-restart.sh     PostgreSQL stopped and started under calls
#   scripts/fault-api-sigterm.sh    SIGTERM to the API under load
# Exit status 0 when all pass. PostgreSQL and Redis are shared with test runs:
# /tmp/mw-fault-running exists while one of them is down.
#
#   SKIP_BUILD=1 scripts/faults.sh [worker-kill redis-restart pg-restart api-sigterm]
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  scripts/fetch-onnxruntime.sh >/dev/null
  cargo build --release --bins || exit 2
fi
faults=("$@")
[ ${#faults[@]} -gt 0 ] || faults=(worker-kill redis-restart pg-restart api-sigterm)
declare -A result
failed=0
for f in "${faults[@]}"; do
  echo "=== fault-$f"
  if SKIP_BUILD=1 MW_OUT= "scripts/fault-$f.sh"; then result[$f]=PASS; else result[$f]=FAIL; failed=1; fi
done
echo
for f in "${faults[@]}"; do printf '%-15s %s\n' "$f" "${result[$f]}"; done
exit "$failed"
