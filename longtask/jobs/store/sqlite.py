"""The SQLite connector, the embedded default: one file in WAL mode.

Every write runs in `BEGIN IMMEDIATE` (a plain BEGIN whose first statement reads fails
with "database is locked" under concurrent writers, whatever the busy timeout), so
SQLite's one writer lock already orders writers: `lock_job` has nothing to do here, and
ids commit in id order. Keyword search is FTS5 (bm25) over an external-content table
that triggers keep in step with `chunks` (schema.py's m008_keyword_index).
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from longtask.errors import BackendUnavailable
from longtask.fsutil import private_dir
from longtask.jobs.store import connector
from longtask.jobs.store.connector import Connector
from longtask.jobs.store.schema import MIGRATIONS

# The schema version a file must have: the number of migrations in schema.py, checked
# with one PRAGMA so that read-only commands need not import sqlite-utils at all.
SCHEMA_VERSION = len(MIGRATIONS)


class SqliteConnector(Connector):
    OUTAGES = (sqlite3.OperationalError,)
    ids_in_commit_order = True  # an id is assigned under the one writer lock

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)
        try:
            private_dir(path.parent)
            conn = sqlite3.connect(str(path), isolation_level=None, timeout=60.0)
            conn.execute("PRAGMA busy_timeout = 60000")
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                # A new file: processes opening it together must not race to switch it to
                # WAL (the switch needs the file to themselves and does not wait).
                with open(path.with_suffix(".migrate.lock"), "w") as lock:
                    fcntl.flock(lock, fcntl.LOCK_EX)
                    conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        except (sqlite3.Error, OSError) as e:
            raise BackendUnavailable(
                f"cannot open the status database {path}: {e}; check the disk and the "
                "permissions of LONGTASK_HOME"
            ) from e
        self.conn = conn
        self._migrate()

    def close(self) -> None:
        self.conn.close()

    def _migrate(self) -> None:
        if self.conn.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
            return
        from sqlite_utils import Database

        from longtask.jobs.store.schema import migrations

        db = Database(self.conn)
        found = migrations()
        # Two processes starting together must not both apply a migration.
        with open(self.path.with_suffix(".migrate.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            with self.write():
                found.apply(db)
                self.conn.execute(f"PRAGMA user_version = {len(found.applied(db))}")

    @contextmanager
    def write(self) -> Iterator[SqliteConnector]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        cur = self.conn.execute(sql, params)
        cur.row_factory = sqlite3.Row
        return cur

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.conn.executemany(sql, rows)

    def insert_id(self, sql: str, params: Sequence[Any]) -> int:
        return int(self.conn.execute(sql, params).lastrowid or 0)

    def lock_job(self, job_id: int) -> None:
        """Nothing to do: BEGIN IMMEDIATE already holds the one writer lock."""

    def follow_ids(self, table: str) -> None:
        """Nothing to do: SQLite gives a new row the highest id + 1 by itself."""

    def keyword(
        self, query: str, words: Sequence[str], doc_keys: Sequence[str], n: int
    ) -> list[tuple[int, float]]:
        """FTS5's bm25 over the query's words, any of them matching, the section title
        column weighed `TITLE_WEIGHT` times the text (BM25F-style); the words together
        as a phrase match too, and score more."""
        if not words:
            return []
        alternatives = [f'"{w}"' for w in words]
        if len(words) > 1:
            alternatives.append('"' + " ".join(words) + '"')
        rows = self.execute(
            f"SELECT f.rowid, bm25(chunks_fts, {float(connector.TITLE_WEIGHT)}, 1.0) AS rank "
            "FROM chunks_fts f JOIN chunks c ON c.id = f.rowid "
            "WHERE chunks_fts MATCH ? AND c.doc_key IN (SELECT value FROM json_each(?)) "
            "ORDER BY rank LIMIT ?",
            (" OR ".join(alternatives), json.dumps(list(doc_keys)), n),
        ).fetchall()
        return [(int(r[0]), -float(r[1])) for r in rows]

    def pausable(self, exc: BaseException) -> bool:
        text = str(exc).lower()
        return isinstance(exc, sqlite3.OperationalError) and any(
            w in text for w in ("full", "locked", "busy", "disk i/o")
        )
