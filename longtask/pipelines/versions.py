"""Versions that key the cache: a change in any of them makes documents new again.

Kept apart from the stages themselves so that `submit` can compute a job's
fingerprint without importing pypdf or tokenizers.
"""

from __future__ import annotations

from importlib.metadata import version

PARSER_VERSION = f"pypdf-{version('pypdf')}"
# Bump whenever the same pages would give different chunks.
CHUNKER_VERSION = "chunk-2"
