#!/usr/bin/env bash
# Create .venv and install longtask with its test tools, and what the test command
# needs besides: Debian's chromium, which the browser test drives (apt-get, as root).
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

# tests/test_serve_browser.py drives /usr/bin/chromium through Playwright (Playwright's
# own browser download is never used). longtask itself does not need it.
if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing chromium with apt-get, for the browser test" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "note: /usr/bin/chromium is missing; the browser test (tests/test_serve_browser.py) needs it:" \
            "run 'sudo apt-get install chromium' (Debian), or run this script as root" >&2
    fi
fi
# The models longtask builds once per machine, made now rather than by the first `run`:
# the OpenVINO model (about a second) and the int8 engine with its quality verdict
# (about a minute; NNCF). Without this a worker starts the same in the background.
echo "preparing the embedding engines (OpenVINO model, int8 quantisation; about a minute)" >&2
.venv/bin/python -m longtask.pipelines.quantize || echo "note: int8 preparation failed; auto keeps the float engines" >&2
echo "installed: $(.venv/bin/longtask --version)" >&2
