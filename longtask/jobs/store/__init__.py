"""The status store: the source of truth, and the only code that writes SQL.

One class per concern, composed into `Store`:

- `base`         the connection, transactions, migrations, the job counters
- `transitions`  job and task state changes (claim, checkpoint, fail, cancel, reopen)
- `views`        job lists, `watch` snapshots, fleet gauges, what the supervisor seeks
- `registry`     worker heartbeats, model loads, stop requests
- `output`       chunks and embeddings
- `collections`  what a search looks in: the current version of each path, one model
- `index`        keyword search, chunks by id, the feed of a derived vector index
- `history`      throughput of finished jobs
- `prune`        retention

A second backend implements the same methods with the same guarantees: every state
change one transaction, `claim` fencing by message id, exact job counters.
"""

from __future__ import annotations

from longtask.jobs.store.base import SCHEMA_VERSION, Clock, SqliteBase
from longtask.jobs.store.index import Index
from longtask.jobs.store.output import Output
from longtask.jobs.store.postgres import PostgresBase
from longtask.jobs.store.prune import Prune
from longtask.jobs.store.records import ChunkRow, Claim, Document, FileEntry, Job, Task
from longtask.jobs.store.registry import Registry
from longtask.jobs.store.transitions import Transitions, rq_id_for
from longtask.jobs.store.views import Views
from longtask.settings import Settings

__all__ = [
    "SCHEMA_VERSION",
    "ChunkRow",
    "Claim",
    "Clock",
    "Document",
    "FileEntry",
    "Job",
    "PostgresStore",
    "Store",
    "Task",
    "open_store",
    "rq_id_for",
]


class Store(Transitions, Views, Registry, Output, Index, Prune, SqliteBase):
    """The SQLite store (the embedded default): `Store(settings.db_path)`."""


class PostgresStore(PostgresBase, Store):
    """The PostgreSQL store: the same parts over a PostgreSQL connection pool. (A kind
    of Store for the type checker; none of SQLite's connection code is used.)"""

    KEYWORD = "tsvector"
    IDS_IN_COMMIT_ORDER = False


def open_store(settings: Settings) -> Store:
    """The store the settings name: PostgreSQL at LONGTASK_DATABASE_URL, else the SQLite
    file in the data directory. (psycopg is imported only by the PostgreSQL store.)"""
    if settings.database_url:
        return PostgresStore(settings.database_url)
    return Store(settings.db_path)
