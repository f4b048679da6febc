"""Python code run in a fresh interpreter, to see what a new process imports or does."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

from harness import ROOT


def run_snippet(code: str, env: Mapping[str, str], timeout: float = 60) -> Any:
    """Run `code` with this Python in a new process, from the repository root, and return
    the JSON on the last line it printed. Raises AssertionError, with the end of its
    stderr, if it exits non-zero."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=dict(env),
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
