#!/usr/bin/env bash
# Dashboard load benchmark: requests/s, p50/p99 and the API's CPU time per
# request, at 32 and 256 connections, for users with 60 and 365 check-ins,
# with the Redis cache on and off. Release build; PostgreSQL and Redis as for
# the tests; the load generator is wrk (installed with apt-get if missing).
#
#   DURATION=10 scripts/bench-dashboard.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PG_ADMIN="${MINDWELL_TEST_PG:-postgres://postgres@127.0.0.1:5432/postgres}"
REDIS="${MINDWELL_TEST_REDIS:-redis://127.0.0.1:6379}"
DURATION="${DURATION:-10}"
PORT="${PORT:-18090}"
BASE="http://127.0.0.1:$PORT"
DB=mindwell_bench
SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')

command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }
cargo build --release --bin mindwell-api
psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
DB_URL="${PG_ADMIN%/*}/$DB"

API_PID=""
start_api() { # $1: cache on/off
  MINDWELL_DASHBOARD_CACHE="$1" DATABASE_URL="$DB_URL" REDIS_URL="$REDIS" MINDWELL_NAMESPACE="bench$$" \
    MINDWELL_BIND="127.0.0.1:$PORT" MINDWELL_RATE_AUTH_PER_IP=100000 MINDWELL_RATE_AUTH_PER_EMAIL=100000 \
    MINDWELL_JWT_SECRET="$SECRET" MINDWELL_BCRYPT_COST=4 RUST_LOG=warn \
    target/release/mindwell-api &
  API_PID=$!
  for _ in $(seq 1 100); do curl -sf "$BASE/health/ready" >/dev/null && return; sleep 0.1; done
  echo "the API did not start" >&2; exit 1
}
stop_api() { kill "$API_PID" 2>/dev/null || true; wait "$API_PID" 2>/dev/null || true; }
cleanup() { stop_api; redis-cli -u "$REDIS" --scan --pattern "bench$$:*" | xargs -r -n 500 redis-cli -u "$REDIS" del >/dev/null; }
trap cleanup EXIT
cpu_ticks() { awk '{print $14 + $15}' "/proc/$API_PID/stat"; }

json() { python3 -c "import sys, json; print(json.load(sys.stdin)$1)"; }

start_api true
declare -A TOKENS
for n in 60 365; do
  email="bench-$n-$$@example.com"
  token=$(curl -s "$BASE/api/v1/auth/signup" -H 'content-type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"bench password\"}" | json "['data']['tokens']['access_token']")
  TOKENS[$n]=$token
  python3 - "$BASE" "$token" "$n" <<'PY'
import json, sys, urllib.request, datetime
base, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
now = datetime.datetime.now(datetime.timezone.utc)
for i in range(n):
    body = {"mood": 1 + i % 10, "sleep_hours": 4 + (i % 5), "notes": f"day {i}",
            "timestamp": (now - datetime.timedelta(days=i, hours=1)).isoformat()}
    req = urllib.request.Request(base + "/api/v1/checkins", data=json.dumps(body).encode(),
                                 headers={"authorization": "Bearer " + token, "content-type": "application/json"})
    urllib.request.urlopen(req).read()
PY
done
stop_api

hz=$(getconf CLK_TCK)
printf '\n%-6s %-10s %-6s %10s %9s %9s %12s %7s\n' cache checkins conns "req/s" "p50 ms" "p99 ms" "cpu us/req" errors
for cache in true false; do
  start_api "$cache"
  for n in 60 365; do
    for conns in 32 256; do
      range=$([ "$n" = 60 ] && echo 60d || echo 365d)
      url="$BASE/api/v1/dashboard?range=$range"
      curl -sf -H "authorization: Bearer ${TOKENS[$n]}" "$url" >/dev/null
      before=$(cpu_ticks)
      out=$(wrk -t2 -c"$conns" -d"${DURATION}s" --latency -H "authorization: Bearer ${TOKENS[$n]}" "$url")
      after=$(cpu_ticks)
      rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
      total=$(echo "$out" | awk '/requests in/ {print $1}')
      errors=$(echo "$out" | awk '/Non-2xx|Socket errors/ {s = s $0 "; "} END {print (s == "" ? 0 : s)}')
      p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
      p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
      to_ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) { sub(/us/, "", v); print v / 1000 } else if (v ~ /ms$/) { sub(/ms/, "", v); print v } else { sub(/s/, "", v); print v * 1000 } }'; }
      cpu=$(awk -v a="$after" -v b="$before" -v hz="$hz" -v t="$total" 'BEGIN { printf "%.0f", (a - b) / hz / t * 1e6 }')
      printf '%-6s %-10s %-6s %10s %9.2f %9.2f %12s %7s\n' "$cache" "$n" "$conns" "$rps" "$(to_ms "$p50")" "$(to_ms "$p99")" "$cpu" "$errors"
    done
  done
  stop_api
done
