#!/usr/bin/env bash
# Benchmarks (release build), printing figures:
#   inference throughput (encoder + heads) at batch 1/8/32 for short and long
#   notes, per core, and through the worker's dynamic batcher;
#   check-in -> completed insight latency at 20 check-ins/s with one worker;
#   one worker process's analyses/s under a backlog of 10,000 check-ins.
# The last two need PostgreSQL and Redis, as the tests do.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-onnxruntime.sh >/dev/null
cargo build --release --bins
cargo bench -p mindwell-worker --bench encoder
cargo bench -p mindwell-tests --bench checkin_latency
cargo bench -p mindwell-tests --bench backlog
