"""Moving a store: everything an existing SQLite store holds, copied into a fresh
PostgreSQL database, so a single-machine install can grow past one machine.

The copy is one transaction (all of it or none), keeps every id (job ids users know
stay valid), and leaves the database's id sequences after the highest copied id.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from longtask.errors import LongtaskError
from longtask.jobs.store import PostgresStore, Store

# Parents before children; the live worker registry is not copied (it is rebuilt as
# workers start).
TABLES = ("jobs", "tasks", "events", "documents", "chunks", "progress", "history")
BATCH = 2000


def migrate(source: Store, target: PostgresStore) -> dict[str, int]:
    """Copy `source` into `target`, which must hold no jobs yet; returns rows per table."""
    existing = int(target._scalar("SELECT count(*) FROM jobs") or 0)
    if existing:
        raise LongtaskError(
            f"the database at {target.where} already holds {existing} job(s): migrate into an "
            "empty database (create a new one), so that no job id is taken twice"
        )
    copied: dict[str, int] = {}
    with target._write() as c:
        for table in TABLES:
            n = 0
            for columns, rows in _batches(source, table):
                marks = ", ".join("?" * len(columns))
                c.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
                n += len(rows)
            copied[table] = n
        for table in ("jobs", "tasks", "events", "chunks", "progress"):
            c.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
            )
    return copied


def _batches(source: Store, table: str) -> Iterator[tuple[list[str], list[tuple[Any, ...]]]]:
    """The table's rows in id order, a batch at a time (bounded memory for big stores)."""
    key = "job_id" if table == "history" else ("key" if table == "documents" else "id")
    last: Any = None
    while True:
        where = "" if last is None else f"WHERE {key} > ?"
        rows = source._all(
            f"SELECT * FROM {table} {where} ORDER BY {key} LIMIT ?",
            (BATCH,) if last is None else (last, BATCH),
        )
        if not rows:
            return
        columns = list(rows[0].keys())
        yield columns, [tuple(r) for r in rows]
        last = rows[-1][key]
