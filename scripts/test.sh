#!/usr/bin/env bash
# The whole test suite, as CI runs it: builds once, then runs every test in
# parallel with cargo-nextest against the real PostgreSQL and Redis.
#
#   MINDWELL_TEST_PG     admin URL (default postgres://postgres@127.0.0.1:5432/postgres)
#   MINDWELL_TEST_REDIS  (default redis://127.0.0.1:6379)
#
# Without PostgreSQL or Redis the tests fail; they never skip.
set -euo pipefail
cd "$(dirname "$0")/.."

export MINDWELL_TEST_PG="${MINDWELL_TEST_PG:-postgres://postgres@127.0.0.1:5432/postgres}"
export MINDWELL_TEST_REDIS="${MINDWELL_TEST_REDIS:-redis://127.0.0.1:6379}"

scripts/fetch-onnxruntime.sh >/dev/null
# tests/tests/deploy.rs checks docker/compose.yml with `docker-compose config`.
command -v docker-compose >/dev/null || { apt-get install -y docker-compose >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y docker-compose >/dev/null; }; }

# Databases left by earlier runs (one per test, cloned from a migrated template).
if command -v psql >/dev/null 2>&1; then
  psql "$MINDWELL_TEST_PG" -Atqc "SELECT datname FROM pg_database WHERE datname LIKE 'mwtest\_%'" 2>/dev/null |
    while read -r db; do psql "$MINDWELL_TEST_PG" -qc "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 || true; done
fi

# Redis keys left by earlier runs (each test has its own namespace, t<32 hex>).
if command -v redis-cli >/dev/null 2>&1; then
  redis-cli -u "$MINDWELL_TEST_REDIS" --scan --pattern 't[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]*:*' 2>/dev/null |
    xargs -r -n 500 redis-cli -u "$MINDWELL_TEST_REDIS" del >/dev/null 2>&1 || true
fi

# The black-box tests start the real binaries: build them with the tests.
cargo build --workspace --bins
cargo nextest run --workspace --no-fail-fast "$@"
