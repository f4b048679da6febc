"""The status store: the source of truth, and the only code that writes SQL.

A store is a set of concerns over one backend connector (procrastinate's
`JobManager(connector)`); `open_store(settings)` picks the connector:

- `connector`    the interface the concerns use (`db`): write, execute, one, all,
                 insert_id, lock_job, pausable, OUTAGES, and where the backends differ
                 in more than the driver: keyword, ids_in_commit_order
- `sqlite`       the SQLite connector (the embedded default): WAL, BEGIN IMMEDIATE, FTS5
- `postgres`     the PostgreSQL connector: a pool, row locks, advisory-locked
                 migrations, a tsvector keyword index
- `schema`, `pg_schema`  each backend's migrations (tests/test_schema.py keeps them
                 equal); `ddl` the table definitions both write the same way
- `base`         what every concern holds: the connector and clock; the job counters
                 and the rows every part reads
- `transitions`  job and task state changes (claim, checkpoint, fail, cancel, reopen);
                 holds the collections, output and history parts it writes through
- `views`        job lists, `watch` snapshots, fleet gauges, what the supervisor seeks
- `workers`      the workers table: heartbeats, model loads, stop requests
- `output`       chunks with their embeddings: written with a page batch, read back
                 (by document, by id, by keyword, as a vector index's feed);
                 `encode`/`decode` of embedding bytes
- `collections`  what a search looks in: the current version of each path, one model
- `history`      throughput of finished jobs
- `prune`        retention
- `copy`         a whole store copied into another (`migrate-store`)
- `records`      the rows as dataclasses (Job, Task, Claim, Document, NewJob, ...)

No concern inherits another: one that needs another holds it, over the same connector
and clock, so its statements join the caller's transaction. `Store` gathers them into
the one object callers use. No concern asks which backend it runs on; the connectors
are siblings with the same guarantees: every state change one transaction, `claim`
fencing by message id, exact job counters, a page batch's chunks and checkpoint in
one commit.
"""

from __future__ import annotations

import time

from longtask.jobs.store.base import Clock
from longtask.jobs.store.collections import Collections
from longtask.jobs.store.connector import Connector
from longtask.jobs.store.copy import Copy
from longtask.jobs.store.history import History
from longtask.jobs.store.output import Output
from longtask.jobs.store.postgres import PostgresConnector
from longtask.jobs.store.prune import Prune
from longtask.jobs.store.records import ChunkRow, Claim, Document, FileEntry, Job, NewJob, Task
from longtask.jobs.store.sqlite import SCHEMA_VERSION, SqliteConnector
from longtask.jobs.store.transitions import Transitions
from longtask.jobs.store.views import Views
from longtask.jobs.store.workers import Workers
from longtask.settings import Settings

__all__ = [
    "SCHEMA_VERSION",
    "ChunkRow",
    "Claim",
    "Clock",
    "Connector",
    "Document",
    "FileEntry",
    "Job",
    "NewJob",
    "PostgresConnector",
    "SqliteConnector",
    "Store",
    "Task",
    "open_store",
]


class Store(Transitions, Views, Workers, Output, Collections, History, Prune, Copy):
    """The one object callers use: every concern over one connector and clock.
    `Store(connector, clock)`, or `open_store(settings)`, which picks the connector."""

    def __init__(self, db: Connector, clock: Clock = time.time) -> None:
        """Raises TypeError if `db` is not a connector (a path, a URL)."""
        if not isinstance(db, Connector):
            raise TypeError(
                f"a store runs over a connector, not {type(db).__name__}: "
                "open_store(settings), or Store(SqliteConnector(path)) / Store(PostgresConnector(url))"
            )
        super().__init__(db, clock)


def open_store(settings: Settings, clock: Clock = time.time) -> Store:
    """The store the settings name: PostgreSQL at LONGTASK_DATABASE_URL, else the SQLite
    file in the data directory. (psycopg is imported only by the PostgreSQL connector.)"""
    return Store(connect(settings), clock)


def connect(settings: Settings) -> Connector:
    """The connector the settings name (see `open_store`)."""
    if settings.database_url:
        return PostgresConnector(settings.database_url, wait=settings.database_wait)
    return SqliteConnector(settings.db_path)
