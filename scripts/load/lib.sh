# Shared helpers of the load, soak and fault scripts (sourced, not run).
#
# Just over 300 lines: every step the load, fault and soak scripts share
# (build, database, Redis namespace, start and stop of each binary), in one place.
#
# Every script runs its own release API and workers on a fresh PostgreSQL
# database and a Redis namespace of its own, logs under $MW_OUT (default
# target/load/<script>-<time>/), and stops what it started on exit.
#
#   MINDWELL_TEST_PG     admin URL (default postgres://postgres@127.0.0.1:5432/postgres)
#   MINDWELL_TEST_REDIS  (default redis://127.0.0.1:6379)
#   SKIP_BUILD=1         use the release binaries already in target/release
#   KEEP=1               keep the database and the Redis keys afterwards
#   PORT                 the API's port (default 18100)

MW_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$MW_ROOT"

PG_ADMIN="${MINDWELL_TEST_PG:-postgres://postgres@127.0.0.1:5432/postgres}"
REDIS="${MINDWELL_TEST_REDIS:-redis://127.0.0.1:6379}"
PORT="${PORT:-18100}"
BASE="http://127.0.0.1:$PORT"
BIN="$MW_ROOT/target/release"
MWLOAD="python3 $MW_ROOT/scripts/load/mwload.py"
WRK_LUA="$MW_ROOT/scripts/load/users.lua"
HZ=$(getconf CLK_TCK)
# The flag that tells concurrent test runs PostgreSQL or Redis is being restarted.
FAULT_FLAG=/tmp/mw-fault-running

mw_init() { # $1: short name of the run (database and namespace)
  MW_NAME="$1"
  DB="mindwell_${MW_NAME//-/_}"
  DB_URL="${PG_ADMIN%/*}/$DB"
  NS="mw${MW_NAME//-/}$$"
  MW_OUT="${MW_OUT:-$MW_ROOT/target/load/$MW_NAME-$(date +%Y%m%d-%H%M%S)}"
  mkdir -p "$MW_OUT"
  SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
  MW_PIDS=()
  trap mw_cleanup EXIT
  trap 'exit 130' INT TERM
  echo "run $MW_NAME: database $DB, Redis namespace $NS, logs in ${MW_OUT#"$MW_ROOT"/}"
}

mw_tools() {
  command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }
  command -v psql >/dev/null && command -v redis-cli >/dev/null && command -v curl >/dev/null || {
    echo "needs psql, redis-cli and curl" >&2
    exit 2
  }
}

mw_build() {
  scripts/fetch-onnxruntime.sh >/dev/null
  if [ "${SKIP_BUILD:-0}" != 1 ]; then
    echo "cargo build --release --bins ..."
    cargo build --release --bins
  fi
  for b in mindwell-api mindwell-worker mindwell-scheduler; do
    [ -x "$BIN/$b" ] || { echo "$BIN/$b is missing: run cargo build --release --bins" >&2; exit 2; }
  done
}

mw_fresh_db() {
  psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
  DATABASE_URL="$DB_URL" REDIS_URL="$REDIS" RUST_LOG=warn "$BIN/mindwell-api" migrate
}

# The environment every process of the run shares. Load runs need long-lived
# access tokens (a run outlasts the default 15 min) and cheap bcrypt for seeding.
mw_env() {
  export DATABASE_URL="$DB_URL" REDIS_URL="$REDIS" MINDWELL_NAMESPACE="$NS" RUST_LOG="${RUST_LOG:-warn}"
  export MINDWELL_JWT_SECRET="$SECRET" MINDWELL_BIND="127.0.0.1:$PORT" MINDWELL_BCRYPT_COST=4
  export MINDWELL_ACCESS_TTL_SECS="${MINDWELL_ACCESS_TTL_SECS:-86400}"
  # Signing up hundreds of users from one IP: lift the auth limits for the run.
  export MINDWELL_RATE_AUTH_PER_IP="${MINDWELL_RATE_AUTH_PER_IP:-1000000}"
  export MINDWELL_RATE_AUTH_PER_EMAIL="${MINDWELL_RATE_AUTH_PER_EMAIL:-1000}"
  export MINDWELL_ADMIN_EMAIL="admin@load.example.com" MINDWELL_ADMIN_PASSWORD="load admin password"
  export ORT_DYLIB_PATH="$MW_ROOT/.ort/libonnxruntime.so.1.31.1" MINDWELL_MODEL_DIR="$MW_ROOT/model-assets"
}

mw_wait_ready() { # $1: seconds
  local i
  for i in $(seq 1 $((${1:-30} * 10))); do
    curl -sf --max-time 2 "$BASE/health/ready" >/dev/null && return 0
    sleep 0.1
  done
  return 1
}

API_PID=""
mw_start_api() { # extra VAR=value settings as arguments
  env "$@" "$BIN/mindwell-api" >>"$MW_OUT/api.log" 2>&1 &
  API_PID=$!
  MW_PIDS+=("$API_PID")
  mw_wait_ready 60 || { echo "the API did not become ready (see $MW_OUT/api.log)" >&2; exit 1; }
}

WORKER_PIDS=()
mw_start_worker() { # $1: log name; extra VAR=value settings after it
  local name="$1" pid
  shift
  # A watcher records how the worker ends (status 143: SIGTERM, 137: SIGKILL)
  # in $MW_OUT/exits.txt, so an unexpected exit is visible afterwards.
  (
    env "$@" nice -n "${WORKER_NICE:-0}" "$BIN/mindwell-worker" >>"$MW_OUT/$name.log" 2>&1 &
    child=$!
    echo "$child" >"$MW_OUT/$name.pid"
    rc=0
    wait "$child" || rc=$?
    echo "$(date +%T.%N | cut -c1-12) $name (pid $child) exited with status $rc" >>"$MW_OUT/exits.txt"
  ) &
  MW_PIDS+=($!)
  for _ in $(seq 1 50); do [ -s "$MW_OUT/$name.pid" ] && break; sleep 0.02; done
  pid=$(cat "$MW_OUT/$name.pid")
  WORKER_PIDS+=("$pid")
  MW_PIDS+=("$pid")
}
# Unexpected worker exits so far (none: empty).
mw_worker_exits() { cat "$MW_OUT/exits.txt" 2>/dev/null || true; }

SCHEDULER_PID=""
mw_start_scheduler() {
  env "$@" "$BIN/mindwell-scheduler" run >>"$MW_OUT/scheduler.log" 2>&1 &
  SCHEDULER_PID=$!
  MW_PIDS+=("$SCHEDULER_PID")
}

mw_alive() { kill -0 "$1" 2>/dev/null; }

mw_stop() { # $1: pid; TERM, then KILL after ${2:-35} s
  local pid="$1" i
  mw_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 $((${2:-35} * 10))); do
    mw_alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

mw_cleanup() {
  local rc=$?
  set +e
  mw_fault_restore
  local i
  for ((i = ${#MW_PIDS[@]} - 1; i >= 0; i--)); do mw_stop "${MW_PIDS[$i]}" 10; done
  if [ "${KEEP:-0}" != 1 ] && [ -n "${NS:-}" ]; then
    redis-cli -u "$REDIS" --scan --pattern "$NS:*" 2>/dev/null | xargs -r -n 500 redis-cli -u "$REDIS" del >/dev/null 2>&1
    psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
  fi
  exit "$rc"
}

# --- measurements -----------------------------------------------------------

mw_ticks() { # utime + stime of $1, in clock ticks
  awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0
}
mw_kib() { # $1: pid, $2: VmRSS or VmHWM
  awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null || echo 0
}
mw_mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
mw_sum_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(mw_ticks "$p"))); done; echo "$t"; }
mw_loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# Analyses waiting in the queue: ready (list) + scheduled (sorted set) + in flight.
mw_queue_depth() {
  local q="$NS:analyze_checkin" active scheduled inflight=0 w
  active=$(redis-cli -u "$REDIS" llen "$q:active" 2>/dev/null || echo "?")
  scheduled=$(redis-cli -u "$REDIS" zcard "$q:scheduled" 2>/dev/null || echo "?")
  for w in $(redis-cli -u "$REDIS" zrange "$q:workers" 0 -1 2>/dev/null); do
    inflight=$((inflight + $(redis-cli -u "$REDIS" scard "$q:inflight:$w" 2>/dev/null || echo 0)))
  done
  echo "$active $scheduled $inflight"
}
mw_db_pending() { # analyses not finished yet, from the database
  psql "$DB_URL" -Atqc "SELECT count(*) FROM ai_analysis_results WHERE status IN ('queued','running')" 2>/dev/null || echo "?"
}

# Runs wrk with scripts/load/users.lua; leaves its machine-readable line's
# fields in WRK_* variables (see users.lua) and its full output in $MW_OUT.
# $1: label, $2: connections, $3: seconds, rest: arguments of users.lua.
mw_wrk() {
  local label="$1" conns="$2" secs="$3"
  shift 3
  local out="$MW_OUT/wrk-$label.txt" line kv
  /usr/bin/time -f 'WRKCPU %U %S' -o "$out.time" \
    wrk -t2 -c"$conns" -d"${secs}s" --timeout 10s --latency -s "$WRK_LUA" "$BASE" -- "$@" >"$out" 2>&1 || true
  WRK_cpu_s=$(awk '/^WRKCPU/ { print $2 + $3 }' "$out.time" 2>/dev/null)
  line=$(grep '^WRK ' "$out" | tail -1)
  [ -n "$line" ] || { echo "wrk failed: $(cat "$out")" >&2; return 1; }
  for kv in ${line#WRK }; do eval "WRK_${kv%%=*}='${kv#*=}'"; done
}

# --- faults on the shared services --------------------------------------------
# Before PostgreSQL or Redis is stopped, $FAULT_FLAG is created (concurrent test
# runs wait or skip while it exists); it is removed once the service answers
# again. mw_cleanup restarts a service left down, whatever happened.

FAULT_DOWN=""
mw_flag_on() {
  local i
  for i in $(seq 1 600); do [ -e "$FAULT_FLAG" ] || break; sleep 0.5; done # another fault run
  echo "$$ $MW_NAME $(date -Is)" >"$FAULT_FLAG"
}
mw_flag_off() { [ "$(cut -d' ' -f1 "$FAULT_FLAG" 2>/dev/null)" = "$$" ] && rm -f "$FAULT_FLAG"; return 0; }

mw_redis_stop() {
  mw_flag_on
  FAULT_DOWN=redis
  redis-cli -u "$REDIS" shutdown nosave >/dev/null 2>&1 || true
  local i
  for i in $(seq 1 50); do redis-cli -u "$REDIS" ping >/dev/null 2>&1 || return 0; sleep 0.1; done
  echo "Redis did not stop" >&2
}
mw_redis_start() {
  local i
  mkdir -p /var/lib/redis /var/log/redis
  (cd / && redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log) >/dev/null
  for i in $(seq 1 100); do
    if redis-cli -u "$REDIS" ping 2>/dev/null | grep -q PONG; then FAULT_DOWN=""; mw_flag_off; return 0; fi
    sleep 0.1
  done
  echo "Redis did not come back" >&2
  return 1
}

mw_pg_cluster() { pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main "$1"; }
mw_pg_stop() {
  mw_flag_on
  FAULT_DOWN=pg
  mw_pg_cluster stop || true
}
mw_pg_start() {
  local i
  mw_pg_cluster start >/dev/null 2>&1 || true
  for i in $(seq 1 100); do
    if psql "$PG_ADMIN" -Atqc "SELECT 1" >/dev/null 2>&1; then FAULT_DOWN=""; mw_flag_off; return 0; fi
    sleep 0.2
  done
  echo "PostgreSQL did not come back" >&2
  return 1
}

mw_fault_restore() {
  case "$FAULT_DOWN" in
    redis) echo "restarting Redis (left down)" >&2; mw_redis_start ;;
    pg) echo "restarting PostgreSQL (left down)" >&2; mw_pg_start ;;
  esac
  mw_flag_off
}

# PASS/FAIL bookkeeping of the fault scripts.
MW_FAILED=0
mw_check() { # $1: 0/1 (pass/fail), $2: text
  if [ "$1" = 0 ]; then echo "  PASS  $2"; else echo "  FAIL  $2"; MW_FAILED=1; fi
}
mw_verdict() {
  if [ "$MW_FAILED" = 0 ]; then echo "RESULT $MW_NAME: PASS"; else echo "RESULT $MW_NAME: FAIL (logs in $MW_OUT)"; fi
  return "$MW_FAILED"
}
mw_assert() { # $1: text, rest: a command that must succeed
  local text="$1"
  shift
  if "$@"; then echo "  PASS  $text"; else echo "  FAIL  $text"; MW_FAILED=1; fi
}
mw_no_panic() { ! grep -l 'panicked' "$@" 2>/dev/null; }

# A curl client loop until $MW_OUT/stop exists, each call with --max-time 10:
# $1 name, $2 token, $3 method, $4 path, $5 body (may be empty).
# Writes "start end name curl_rc http_status error_code checkin_id analysis_id" lines.
mw_probe() {
  local name="$1" token="$2" method="$3" path="$4" body="$5" tmp t0 t1 rc http code ids
  tmp=$(mktemp)
  while [ ! -e "$MW_OUT/stop" ]; do
    : >"$tmp"
    t0=$(date +%s.%N)
    rc=0
    if [ -n "$body" ]; then
      http=$(curl -s -o "$tmp" -w '%{http_code}' --max-time 10 -X "$method" -H "authorization: Bearer $token" \
        -H 'content-type: application/json' -d "$body" "$BASE$path") || rc=$?
    else
      http=$(curl -s -o "$tmp" -w '%{http_code}' --max-time 10 -H "authorization: Bearer $token" "$BASE$path") || rc=$?
    fi
    t1=$(date +%s.%N)
    code=$(jq -r '.error.code? // "-"' <"$tmp" 2>/dev/null || echo "not-json")
    ids=$(jq -r 'if .data.analysis_id? then "\(.data.checkin.id) \(.data.analysis_id)" else "- -" end' <"$tmp" 2>/dev/null || echo "- -")
    [ -n "$code" ] || code=none
    [ -n "$ids" ] || ids="- -"
    echo "$t0 $t1 $name $rc ${http:-000} $code $ids" >>"$MW_OUT/probes.txt"
    sleep 0.1
  done
  rm -f "$tmp"
}


# CPU accounting for a phase: ticks of every process with this command name
# (postgres counts every backend, other databases' included), and the machine's
# busy ticks (all CPUs; /proc/stat).
mw_comm_ticks() {
  local t=0 f
  for f in /proc/[0-9]*/stat; do
    read -r -a s <"$f" 2>/dev/null || continue
    [ "${s[1]}" = "($1)" ] && t=$((t + s[13] + s[14]))
  done 2>/dev/null
  echo "$t"
}
mw_busy_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
