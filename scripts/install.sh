#!/usr/bin/env bash
# Create .venv and install longtask with its test tools.
#
# torch goes in first, on its own: an unpinned torch resolves to a multi-GB CUDA build
# on Linux. TORCH_SPEC picks the build; the default is the CPU wheel this project's
# machines carry. Elsewhere, e.g.:
#   TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cpu" scripts/install.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
    # shellcheck disable=SC2086
    .venv/bin/python -m pip install -q ${TORCH_SPEC:-torch==2.13.0}
fi
.venv/bin/python -m pip install -q -e ".[dev]"
echo "installed: $(.venv/bin/longtask --version)" >&2
