#!/usr/bin/env bash
# Fuzzes what the API parses by hand (api/fuzz, cargo-fuzz, nightly toolchain):
#   json_bodies    every FromJson request body through the real extractor
#   query_params   cursor, limit, range (+ range start in any time zone), path ids, times
#   access_token   Bearer header / cookie, JWT verification (also validly signed junk claims)
#   request_id     X-Request-Id echo or replacement
#   credentials    Email::parse, Password::parse
# Each target runs SECS seconds (default 60) with AddressSanitizer and debug
# assertions; corpora stay in api/fuzz/corpus/<target>, crashes in
# api/fuzz/artifacts/<target>. Exit status 1 when any target crashed.
#
#   scripts/fuzz.sh [SECS] [target ...]
set -euo pipefail
cd "$(dirname "$0")/.."

SECS="${1:-60}"
shift || true
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal

cd api # cargo-fuzz works from the crate that holds fuzz/
F="$PWD/fuzz"
FLAGS=(--debug-assertions)
if [ $# -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(cargo +nightly fuzz list); fi
echo "building ${#targets[@]} fuzz targets (nightly, AddressSanitizer) ..."
cargo +nightly fuzz build "${FLAGS[@]}"

seed() { # $1 target, $2 name, $3 printf format of the content
  mkdir -p "$F/corpus/$1"
  # shellcheck disable=SC2059
  printf "$3" >"$F/corpus/$1/seed-$2"
}
seed json_bodies checkin '\x00{"mood":7,"sleep_hours":7.5,"notes":"Calm day.","timestamp":"2026-11-22T08:30:00+01:00","meta":{"app":"ios","v":[1,2]}}'
seed json_bodies signup '\x01{"email":"Ada@Example.com","password":"a long password","full_name":"Ada"}'
seed json_bodies login '\x02{"email":"ada@example.com","password":"a long password"}'
seed json_bodies refresh '\x03{"refresh_token":"abc"}'
seed json_bodies settings '\x04{"timezone":"Europe/Paris","language":"pt-BR","notifications":{"email":true,"push":null}}'
seed json_bodies consent '\x05{"coach_id":"0190b3a2-7c3e-7a1b-9c2d-1234567890ab","scope":"trends"}'
seed json_bodies alert '\x06{"status":"acknowledged"}'
seed json_bodies admin '\x07{"role":"coach","disabled":false}'
seed json_bodies bad '\x10{"mood":"7","sleep_hours":-1,"notes":null,"meta":[]}'
seed query_params cursor '\x00\x00\x00\x00\x00\x00\x00\x00MTcwMDAwMDAwMDEyMzQ1Nnw'
seed query_params range '\x80\x4d\x24\x69\x00\x00\x00\x0030d\nAsia/Kolkata'
seed query_params limit '\x80\x4d\x24\x69\x00\x00\x00\x0050'
seed access_token raw '\x00eyJhbGciOiJIUzI1NiJ9.e30.sig'
seed access_token claims '\x01{"sub":"0190b3a2-7c3e-7a1b-9c2d-1234567890ab","role":"user","jti":"0190b3a2-7c3e-7a1b-9c2d-1234567890ab","fam":"0190b3a2-7c3e-7a1b-9c2d-1234567890ab","typ":"access","iat":1700000000,"exp":9999999999}'
seed access_token header '\x02Bearer abc.def.ghi'
seed access_token cookie '\x03a=b; access_token=abc.def.ghi'
seed request_id sane 'req-123'
seed credentials email ' Ada@Example.COM '

failed=0
summary=()
for t in "${targets[@]}"; do
  echo
  echo "=== $t for ${SECS}s"
  log="$F/artifacts/$t.log"
  mkdir -p "$F/artifacts/$t" "$F/corpus/$t"
  before=$(find "$F/artifacts/$t" -type f | wc -l)
  rc=0
  cargo +nightly fuzz run "${FLAGS[@]}" "$t" "$F/corpus/$t" -- -max_total_time="$SECS" -dict="$F/dict/json.dict" \
    -max_len=8192 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1 || rc=$?
  after=$(find "$F/artifacts/$t" -type f | wc -l)
  execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  corpus=$(find "$F/corpus/$t" -type f | wc -l)
  if [ "$rc" != 0 ] || [ "$after" -gt "$before" ]; then
    failed=1
    summary+=("$(printf '%-14s CRASH   execs %-10s cov %-6s corpus %-6s see %s' "$t" "${execs:-?}" "${cov:-?}" "$corpus" "$log")")
    grep -E 'panicked|ERROR: AddressSanitizer|ERROR: libFuzzer|SUMMARY|Test unit written' "$log" | head -8
  else
    summary+=("$(printf '%-14s ok      execs %-10s cov %-6s corpus %-6s' "$t" "${execs:-?}" "${cov:-?}" "$corpus")")
  fi
  tail -n 3 "$log" | sed 's/^/  /'
done
echo
printf '%s\n' "${summary[@]}"
exit "$failed"
