#!/usr/bin/env bash
# Runs MindWell: the API on $MINDWELL_BIND (default 127.0.0.1:8080) and one
# worker. Without DATABASE_URL and REDIS_URL it uses embedded SQLite backends
# in $MINDWELL_DATA_DIR (default .data/); set both to use PostgreSQL and Redis.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-onnxruntime.sh >/dev/null
# The dev profile shares its build with the tests; dependencies are optimised
# (see Cargo.toml). Use --release builds for production and benchmarks.
cargo build --bins
exec target/debug/mindwell-api serve --with-worker
