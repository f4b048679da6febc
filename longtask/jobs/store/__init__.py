"""The status store: the source of truth, and the only code that writes SQL.

A store is one set of concerns over one backend connector (procrastinate's
`JobManager(connector)`); `open_store(settings)` picks the connector:

- `connector`    the interface the concerns use (`db`): write, execute, one, all,
                 insert_id, lock_job, pausable, OUTAGES
- `sqlite`       the SQLite connector (the embedded default): WAL, BEGIN IMMEDIATE
- `postgres`     the PostgreSQL connector: a pool, row locks, advisory-locked migrations
- `schema`, `pg_schema`  each backend's migrations (tests/test_schema.py keeps them equal)
- `base`         the connector and clock, the job counters, the rows every part reads
- `transitions`  job and task state changes (claim, checkpoint, fail, cancel, reopen)
- `views`        job lists, `watch` snapshots, fleet gauges, what the supervisor seeks
- `registry`     worker heartbeats, model loads, stop requests
- `output`       chunks and embeddings
- `collections`  what a search looks in: the current version of each path, one model
- `index`        keyword search, chunks by id, the feed of a derived vector index
- `history`      throughput of finished jobs
- `prune`        retention
- `copy`         a whole store copied into another (`migrate-store`)
- `records`      the rows as dataclasses (Job, Task, Claim, Document, ...)

The concerns know no backend; the connectors are siblings with the same guarantees:
every state change one transaction, `claim` fencing by message id, exact job counters.
"""

from __future__ import annotations

import time

from longtask.jobs.store.base import Clock
from longtask.jobs.store.connector import Connector
from longtask.jobs.store.copy import Copy
from longtask.jobs.store.index import Index
from longtask.jobs.store.output import Output
from longtask.jobs.store.postgres import PostgresConnector
from longtask.jobs.store.prune import Prune
from longtask.jobs.store.records import ChunkRow, Claim, Document, FileEntry, Job, Task
from longtask.jobs.store.registry import Registry
from longtask.jobs.store.sqlite import SCHEMA_VERSION, SqliteConnector
from longtask.jobs.store.transitions import Transitions
from longtask.jobs.store.views import Views
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
    "PostgresConnector",
    "SqliteConnector",
    "Store",
    "Task",
    "open_store",
]


class Store(Transitions, Views, Registry, Output, Index, Prune, Copy):
    """Any store: `Store(connector, clock)`; `open_store(settings)` picks the connector."""


def open_store(settings: Settings, clock: Clock = time.time) -> Store:
    """The store the settings name: PostgreSQL at LONGTASK_DATABASE_URL, else the SQLite
    file in the data directory. (psycopg is imported only by the PostgreSQL connector.)"""
    return Store(connect(settings), clock)


def connect(settings: Settings) -> Connector:
    """The connector the settings name (see `open_store`)."""
    if settings.database_url:
        return PostgresConnector(settings.database_url, wait=settings.database_wait)
    return SqliteConnector(settings.db_path)
