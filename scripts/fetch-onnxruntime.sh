#!/usr/bin/env bash
# Fetch the ONNX Runtime shared library used by the worker (ort crate, load-dynamic).
# Idempotent: does nothing if the library is already in place.
# The library is copied out of the official PyPI wheel onnxruntime==1.31.1
# (manylinux x86_64); it depends only on libc/libstdc++.
set -euo pipefail

ORT_VERSION="1.31.1"
LIB_NAME="libonnxruntime.so.${ORT_VERSION}"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

DEST_DIR=".ort"
DEST="${DEST_DIR}/${LIB_NAME}"

if [[ ! -f "$DEST" ]]; then
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    echo "Downloading onnxruntime==${ORT_VERSION} wheel from PyPI..." >&2
    python3 -m pip download "onnxruntime==${ORT_VERSION}" \
        --no-deps --only-binary=:all: \
        --python-version 3.11 --implementation cp --abi cp311 \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d "$tmp" >&2
    wheel="$(ls "$tmp"/onnxruntime-"${ORT_VERSION}"-*.whl | head -n1)"
    mkdir -p "$DEST_DIR"
    # -j: flatten the path; extract only the shared library.
    unzip -o -j -q "$wheel" "onnxruntime/capi/${LIB_NAME}" -d "$DEST_DIR"
fi

if [[ ! -f "$DEST" ]]; then
    echo "error: ${DEST} is missing after download" >&2
    exit 1
fi

echo "${REPO_ROOT}/${DEST}"
