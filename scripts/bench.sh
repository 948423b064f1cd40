#!/usr/bin/env bash
# Benchmarks (release build), printing figures:
#   encoder throughput at batch 1/8/32, one thread;
#   check-in -> completed insight latency at 20 check-ins/s with one worker
#   (needs PostgreSQL and Redis, as the tests do).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-onnxruntime.sh >/dev/null
cargo bench -p mindwell-worker --bench encoder
cargo bench -p mindwell-tests --bench checkin_latency
