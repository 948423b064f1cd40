#!/usr/bin/env bash
# One daily summary pass over 10,000 users with 30 days of check-ins each:
# wall time and jobs/s with 1 and 2 workers (release build; PostgreSQL and
# Redis as for the tests). Seeds the database with SQL, then times
# `mindwell-scheduler run-once daily` while N `mindwell-worker` processes run.
#
#   USERS=10000 DAYS=30 scripts/bench-summaries.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PG_ADMIN="${MINDWELL_TEST_PG:-postgres://postgres@127.0.0.1:5432/postgres}"
REDIS="${MINDWELL_TEST_REDIS:-redis://127.0.0.1:6379}"
USERS="${USERS:-10000}"
DAYS="${DAYS:-30}"
DB=mindwell_bench_summaries
DB_URL="${PG_ADMIN%/*}/$DB"

scripts/fetch-onnxruntime.sh >/dev/null
cargo build --release --bins
psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
DATABASE_URL="$DB_URL" REDIS_URL="$REDIS" RUST_LOG=warn target/release/mindwell-api migrate
echo "seeding $USERS users x $DAYS days..."
psql "$DB_URL" -q <<SQL
INSERT INTO users (id, email, password_hash, full_name, role, disabled, created_at, updated_at)
  SELECT gen_random_uuid(), 'bench' || i || '@example.com', 'x', NULL, 'user', false, now(), now()
  FROM generate_series(1, $USERS) i;
INSERT INTO user_settings (user_id, timezone, language, notify_email, notify_push, updated_at)
  SELECT id, 'UTC', 'en', false, true, now() FROM users;
INSERT INTO daily_checkins (id, user_id, mood, sleep_hours, notes, meta, timestamp, created_at)
  SELECT gen_random_uuid(), u.id, 1 + (d % 10), 5 + (d % 4),
         'Day ' || d || ' was busy at work. I went for a walk in the evening. Dinner with friends helped.',
         '{}'::jsonb, date_trunc('day', now()) - make_interval(days => d) + interval '12 hours', now()
  FROM users u, generate_series(1, $DAYS) d;
ANALYZE;
SQL

printf '\n%-8s %8s %10s %10s\n' workers jobs "wall s" "jobs/s"
for workers in 1 2; do
  psql "$DB_URL" -qc "TRUNCATE summaries" >/dev/null
  ns="benchsum$$w$workers"
  pids=()
  for _ in $(seq 1 "$workers"); do
    DATABASE_URL="$DB_URL" REDIS_URL="$REDIS" MINDWELL_NAMESPACE="$ns" MINDWELL_WORKER_CONCURRENCY=8 \
      MINDWELL_DB_POOL=10 RUST_LOG=warn target/release/mindwell-worker &
    pids+=($!)
  done
  sleep 3
  start=$(date +%s.%N)
  DATABASE_URL="$DB_URL" REDIS_URL="$REDIS" MINDWELL_NAMESPACE="$ns" RUST_LOG=warn \
    MINDWELL_RUN_ONCE_TIMEOUT_SECS=1800 target/release/mindwell-scheduler run-once daily >/dev/null
  end=$(date +%s.%N)
  jobs=$(psql "$DB_URL" -Atc "SELECT count(*) FROM summaries")
  kill -TERM "${pids[@]}"; wait "${pids[@]}" 2>/dev/null || true
  redis-cli -u "$REDIS" --scan --pattern "$ns:*" | xargs -r -n 500 redis-cli -u "$REDIS" del >/dev/null
  awk -v w="$workers" -v j="$jobs" -v s="$start" -v e="$end" 'BEGIN { printf "%-8s %8d %10.1f %10.1f\n", w, j, e - s, j / (e - s) }'
done
