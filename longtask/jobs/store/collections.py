"""Collections: what a search looks in. Each is the current version of each path under
the roots its jobs were given, in one embedding model.

`entries` maps (collection, path) to the document (content + settings) that is that
path's current version. It changes in the same transaction as the task that makes a
version current (done, cached), so a search never sees an old and a new version of a
file together, nor a path with no version. A newer task wins over an older one that
finishes later (`task_id` order).
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from longtask.errors import LongtaskError, NotFound
from longtask.jobs.store.base import StoreBase
from longtask.settings import Pipeline

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def check_name(name: str) -> str:
    """Raises LongtaskError if `name` is not a collection name (1-64 letters, digits,
    '.', '_' or '-', starting with a letter or digit)."""
    if not NAME.fullmatch(name):
        raise LongtaskError(
            f"bad collection name {name!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


@dataclass
class Collection:
    name: str
    model: str
    pipeline: Pipeline
    documents: int
    chunks: int
    updated_at: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model": self.model,
            "documents": self.documents,
            "chunks": self.chunks,
            "updated_at": self.updated_at,
        }


def under(path: str, roots: Iterable[str]) -> bool:
    """Is `path` one of the roots, or inside one of them?"""
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


class Collections(StoreBase):
    # ---- inside a job's transactions -------------------------------------------------

    def join(self, name: str, pipeline: Pipeline, now: float) -> None:
        """Inside a write: the collection exists and takes this model. Raises
        LongtaskError if it holds another model's vectors (vectors of two models are
        not comparable, so one collection never holds both)."""
        row = self.db.one("SELECT model FROM collections WHERE name = ?", (name,))
        if row is None:
            self.db.execute(
                "INSERT INTO collections (name, model, pipeline, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (name, pipeline.model_key, json.dumps(pipeline.as_dict()), now, now),
            )
        elif row["model"] != pipeline.model_key:
            raise LongtaskError(
                f"collection {name!r} holds vectors of model {row['model']}, not "
                f"{pipeline.model_key}: submit into a new collection (--collection NAME), "
                f"or set LONGTASK_EMBEDDER/LONGTASK_PRECISION back to match it "
                f"(to re-embed, submit the folders again into a new collection)"
            )

    def forget_unfound(self, name: str, roots: Sequence[str], found: Iterable[str], now: float) -> int:
        """Inside a write: paths under these roots that the submit did not find leave
        the collection (the index mirrors the folders). Returns how many left."""
        present = set(found)
        gone = [
            r["path"]
            for r in self.db.all("SELECT path FROM entries WHERE collection = ?", (name,))
            if under(r["path"], roots) and r["path"] not in present
        ]
        self.db.executemany(
            "DELETE FROM entries WHERE collection = ? AND path = ?", ((name, p) for p in gone)
        )
        if gone:
            self._touch_collection(name, now)
        return len(gone)

    def forget_missing(self, name: str, roots: Sequence[str]) -> int:
        """Paths of the collection under these roots leave it (a submit found no file
        there); returns how many."""
        with self.db.write():
            return self.forget_unfound(name, roots, (), self.clock())

    def make_current(self, where: str, params: Sequence[Any], now: float) -> None:
        """Inside a write: these finished tasks (a WHERE over `tasks t`) become the
        current version of their paths in their job's collection."""
        self.db.execute(
            "INSERT INTO entries (collection, path, doc_key, task_id, updated_at) "
            "SELECT j.collection, t.path, t.doc_key, t.id, ? FROM tasks t "
            f"JOIN jobs j ON j.id = t.job_id WHERE t.doc_key IS NOT NULL AND {where} "
            "ON CONFLICT (collection, path) DO UPDATE SET doc_key = excluded.doc_key, "
            "task_id = excluded.task_id, updated_at = excluded.updated_at "
            "WHERE entries.task_id <= excluded.task_id",
            (now, *params),
        )
        self.db.execute(
            "UPDATE collections SET updated_at = ? WHERE name IN (SELECT j.collection FROM "
            f"tasks t JOIN jobs j ON j.id = t.job_id WHERE {where})",
            (now, *params),
        )

    def _touch_collection(self, name: str, now: float) -> None:
        self.db.execute("UPDATE collections SET updated_at = ? WHERE name = ?", (now, name))

    # ---- reads -------------------------------------------------------------------------

    def collections(self) -> list[Collection]:
        """Every collection with its current documents and their chunks."""
        rows = self.db.all(
            "SELECT c.name, c.model, c.pipeline, c.updated_at, "
            "(SELECT count(*) FROM entries e WHERE e.collection = c.name) AS documents, "
            "(SELECT coalesce(sum(d.chunks_done), 0) FROM entries e JOIN documents d "
            "ON d.key = e.doc_key WHERE e.collection = c.name) AS chunks "
            "FROM collections c ORDER BY c.name"
        )
        return [
            Collection(
                r["name"],
                r["model"],
                Pipeline.from_dict(json.loads(r["pipeline"])),
                int(r["documents"]),
                int(r["chunks"]),
                float(r["updated_at"]),
            )
            for r in rows
        ]

    def precision_of(self, name: str, embedder: str) -> str | None:
        """The precision the collection's vectors were made with, if it holds this
        embedder's (None: no such collection yet, or another model's)."""
        row = self.db.one("SELECT model FROM collections WHERE name = ?", (name,))
        if row is None:
            return None
        held, precision = Pipeline.split_model_key(str(row["model"]))
        return precision if held == embedder else None

    def collection(self, name: str) -> Collection:
        """Raises NotFound if no collection has this name."""
        for c in self.collections():
            if c.name == name:
                return c
        names = ", ".join(c.name for c in self.collections()) or "none yet"
        raise NotFound(f"no collection {name!r} (there are: {names}): `longtask collections` lists them")

    def members(
        self, name: str, path_glob: str | None = None, job_id: int | None = None
    ) -> dict[str, list[str]]:
        """The collection's current documents (doc key -> its paths), optionally only
        paths matching a glob, or only documents this job processed or found cached."""
        if job_id is None:
            rows = self.db.all("SELECT path, doc_key FROM entries WHERE collection = ?", (name,))
        else:
            rows = self.db.all(
                "SELECT e.path, e.doc_key FROM entries e WHERE e.collection = ? AND e.doc_key IN "
                "(SELECT doc_key FROM tasks WHERE job_id = ? AND doc_key IS NOT NULL)",
                (name, job_id),
            )
        found: dict[str, list[str]] = {}
        for r in rows:
            if path_glob is None or fnmatch.fnmatchcase(r["path"], path_glob):
                found.setdefault(r["doc_key"], []).append(r["path"])
        for paths in found.values():
            paths.sort()
        return found
