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

# Debian packages, as root with apt-get: chromium, which tests/test_serve_browser.py
# drives through Playwright (Playwright's own browser download is never used), and
# LibreOffice without its GUI, which reads legacy .doc/.ppt/.xls/.rtf files
# (longtask/readers/legacy.py; without it those documents end dead with a reason that
# names this fix) and which the legacy-format tests convert with.
BROWSER=()
OFFICE=()
[ -x /usr/bin/chromium ] || BROWSER=(chromium)
command -v soffice >/dev/null || OFFICE=(libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui)
APT_PACKAGES=("${BROWSER[@]}" "${OFFICE[@]}")
if [ ${#APT_PACKAGES[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing ${APT_PACKAGES[*]} with apt-get (the browser test, legacy Office files)" >&2
        apt-get update -qq
        export DEBIAN_FRONTEND=noninteractive
        [ ${#BROWSER[@]} -eq 0 ] || apt-get install -y -qq "${BROWSER[@]}" >/dev/null
        # LibreOffice's recommends (Java, fonts, a GUI's helpers) are not needed to convert
        [ ${#OFFICE[@]} -eq 0 ] || apt-get install -y -qq --no-install-recommends "${OFFICE[@]}" >/dev/null
    else
        echo "note: missing Debian packages: ${APT_PACKAGES[*]}; the browser test needs chromium and legacy" \
            ".doc/.ppt/.xls files need LibreOffice: run 'sudo apt-get install ${APT_PACKAGES[*]}'," \
            "or run this script as root" >&2
    fi
fi
# The models longtask builds once per machine, made now rather than by the first `run`:
# the OpenVINO model (about a second) and the int8 engine with its quality verdict
# (about a minute; NNCF). Without this a worker starts the same in the background.
echo "preparing the embedding engines (OpenVINO model, int8 quantisation; about a minute)" >&2
.venv/bin/python -m longtask.pipelines.quantize || echo "note: int8 preparation failed; auto keeps the float engines" >&2
echo "installed: $(.venv/bin/longtask --version)" >&2
