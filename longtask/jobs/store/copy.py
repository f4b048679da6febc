"""Copying a whole store into another (`migrate-store`): every row, every id kept.

The copy is one transaction in the target (all of it or none), reads the source in
batches (bounded memory for big stores), and leaves the target's ids after the
highest copied one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from longtask.jobs.store.base import StoreBase

# Parents before children; the live worker registry is not copied (it is rebuilt as
# workers start).
TABLES = ("jobs", "tasks", "events", "documents", "chunks", "progress", "history", "collections", "entries")
# The rest are keyed by `id`. Entries (one a document and collection) come in one read.
KEYS: dict[str, str | None] = {
    "history": "job_id",
    "documents": "key",
    "collections": "name",
    "entries": None,
}
BATCH = 2000


class Copy(StoreBase):
    def job_count(self) -> int:
        return int(self.db.scalar("SELECT count(*) FROM jobs") or 0)

    def rows(self, table: str, batch: int = BATCH) -> Iterator[tuple[list[str], list[tuple[Any, ...]]]]:
        """A table's rows in key order, a batch at a time: (column names, rows)."""
        if table not in TABLES:
            raise ValueError(f"{table!r} is not one of the tables a store copies: {', '.join(TABLES)}")
        key = KEYS.get(table, "id")
        if key is None:
            rows = self.db.all(f"SELECT * FROM {table}")
            if rows:
                yield list(rows[0].keys()), [tuple(r) for r in rows]
            return
        last: Any = None
        while True:
            where = "" if last is None else f"WHERE {key} > ?"
            rows = self.db.all(
                f"SELECT * FROM {table} {where} ORDER BY {key} LIMIT ?",
                (batch,) if last is None else (last, batch),
            )
            if not rows:
                return
            yield list(rows[0].keys()), [tuple(r) for r in rows]
            last = rows[-1][key]

    def copy_from(self, source: Copy) -> dict[str, int]:
        """Copy every table of `source` into this store, in one transaction; returns
        rows per table. The caller checks that this store holds no jobs yet."""
        copied: dict[str, int] = {}
        with self.db.write() as c:
            for table in TABLES:
                n = 0
                for columns, rows in source.rows(table):
                    marks = ", ".join("?" * len(columns))
                    c.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
                    n += len(rows)
                copied[table] = n
                if KEYS.get(table, "id") == "id":
                    c.follow_ids(table)
        return copied
