#!/usr/bin/env bash
# Rebuild every file under model-assets/ from its sources, reproducibly (fixed seeds, one
# thread). Run training/setup.sh once first.
#   encoder/<v>/     model.onnx, tokenizer.json           (build_encoder.py)
#   text-heads/<v>/  heads.onnx                           (build_text_heads.py)
#   risk/<v>/        risk.onnx                            (build_risk.py)
#   all three        manifest.json (sha256, I/O, goldens), MODEL_CARD.md (make_goldens.py)
#   then             verify_assets.py checks everything the way the worker will use it.
# The first run embeds the 23,703 VADER sentences (~4 min on one core); later runs reuse
# training/.cache/.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
PY="$REPO_ROOT/.venv-train/bin/python"
if [[ ! -x "$PY" ]]; then
    echo "error: $PY not found; run model-assets/training/setup.sh first" >&2
    exit 1
fi

export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONHASHSEED=0
cd "$HERE"
"$PY" fetch_vader_data.py
"$PY" build_encoder.py
"$PY" build_text_heads.py
"$PY" build_risk.py
"$PY" make_goldens.py
"$PY" verify_assets.py

cd "$HERE/.."
echo
echo "sha256 of built files:"
sha256sum */*/*.onnx */*/tokenizer.json
