#!/usr/bin/env bash
# Bad input: Schemathesis (from PyPI, in the git-ignored .venv-qa) against a
# release API on PostgreSQL and Redis, using the API's own OpenAPI document,
# first as a signed-up user, then as the bootstrap admin. Checks
# `not_a_server_error` and `response_schema_conformance` (CHECKS to change);
# prints Schemathesis' summary for each run. Exit status 0 when both pass.
#
# Left out: DELETE /api/v1/me and POST /api/v1/auth/logout (they end the
# run's own session) and GET /api/v1/notifications/stream (it never ends).
#
#   MAX_EXAMPLES=50 CHECKS=not_a_server_error,response_schema_conformance SKIP_BUILD=1 scripts/schemathesis.sh
set -euo pipefail
source "$(dirname "$0")/load/lib.sh"

MAX_EXAMPLES="${MAX_EXAMPLES:-50}"
CHECKS="${CHECKS:-not_a_server_error,response_schema_conformance}"
PHASES="${PHASES:-examples,coverage,fuzzing,stateful}"
SCHEMATHESIS_VERSION="${SCHEMATHESIS_VERSION:-4.32.5}"
VENV="$MW_ROOT/.venv-qa"

if [ ! -x "$VENV/bin/schemathesis" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

mw_init schemathesis
mw_tools
mw_build
mw_fresh_db
mw_env
mw_start_api

signup=$(curl -sf "$BASE/api/v1/auth/signup" -H 'content-type: application/json' \
  -d '{"email":"schemathesis@load.example.com","password":"schemathesis password"}')
USER_TOKEN=$(echo "$signup" | jq -r .data.tokens.access_token)
curl -sf "$BASE/api/v1/checkins" -H "authorization: Bearer $USER_TOKEN" -H 'content-type: application/json' \
  -d '{"mood":5,"sleep_hours":7,"notes":"seed"}' >/dev/null
ADMIN_TOKEN=$(curl -sf "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"email\":\"$MINDWELL_ADMIN_EMAIL\",\"password\":\"$MINDWELL_ADMIN_PASSWORD\"}" | jq -r .data.tokens.access_token)
curl -sf "$BASE/api/v1/openapi.json" >"$MW_OUT/openapi.json"

run() { # $1: label, $2: token
  echo
  echo "=== schemathesis as $1 (checks $CHECKS; up to $MAX_EXAMPLES examples per operation)"
  "$VENV/bin/schemathesis" run "$BASE/api/v1/openapi.json" \
    --checks "$CHECKS" \
    --header "Authorization: Bearer $2" \
    --phases "$PHASES" \
    --max-examples "$MAX_EXAMPLES" \
    --request-timeout 10 \
    --workers 2 \
    --seed 1 \
    --exclude-path /api/v1/notifications/stream \
    --exclude-name 'DELETE /api/v1/me' \
    --exclude-name 'POST /api/v1/auth/logout' \
    --report junit,ndjson --report-dir "$MW_OUT/report-$1" \
    --output-truncate true \
    --warnings off
}

MW_FAILED=0
set +e
run user "$USER_TOKEN"
user_rc=$?
run admin "$ADMIN_TOKEN"
admin_rc=$?
set -e

series=$(curl -s "$BASE/metrics" | grep -c '^mindwell_http_requests_total{' || true)
echo
echo "the API after both runs: pid $API_PID $(mw_alive "$API_PID" && echo alive || echo DEAD)," \
  "RSS $(mw_mib "$(mw_kib "$API_PID" VmRSS)") MiB, $series request-counter series in /metrics," \
  "$(grep -c '"level":"ERROR"' "$MW_OUT/api.log" || true) error log lines"
mw_check "$user_rc" "schemathesis as a user"
mw_check "$admin_rc" "schemathesis as the admin"
mw_assert "the API is still running" mw_alive "$API_PID"
mw_assert "no panic in the API log" mw_no_panic "$MW_OUT/api.log"
mw_verdict
