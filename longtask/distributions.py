"""Installed package versions, without importing importlib.metadata where it can.

The cache key names the versions of pypdfium2, pypdf, tesserocr and its language data
(`pipelines/versions.py`, `readers/ocr.py`), so every `submit` and `run` reads them.
`importlib.metadata` costs 30-40 ms of CPU to import (email, zipfile, csv; issue 24's
re-run target is 0.3 s in all), while what it reads is in a directory name: a wheel
installs `<name>-<version>.dist-info` on sys.path. `version()` looks for that name the
way importlib.metadata's path finder does (sys.path in order, the first match wins, the
name normalised), and asks importlib.metadata itself for anything else (an egg, a zip,
two matches in one folder), so the answer is always importlib.metadata's.
tests/test_cli_import.py checks both agree for the packages the key names.
"""

from __future__ import annotations

import os
import re
import sys


class PackageNotFound(LookupError):
    """No distribution of that name is installed (importlib.metadata's
    PackageNotFoundError is a subclass of ModuleNotFoundError; this one is not)."""


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def version(name: str) -> str:
    """The installed version of distribution `name`; raises PackageNotFound."""
    want = _norm(name)
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue  # a zip, a path hook's name, a folder gone
        found = [
            n[: -len(".dist-info")].partition("-")[2]
            for n in names
            if n.endswith(".dist-info") and _norm(n.partition("-")[0]) == want
        ]
        others = [n for n in names if n.endswith(".egg-info") and _norm(n.partition("-")[0]) == want]
        if len(found) == 1 and not others and found[0]:
            return found[0]
        if found or others:
            break  # not one plain wheel install here: importlib.metadata decides
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as metadata_version

    try:
        return metadata_version(name)
    except PackageNotFoundError:
        raise PackageNotFound(name) from None
