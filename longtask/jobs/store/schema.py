"""Versioned migrations of the status database.

Each migration is applied once, in order, inside the same write transaction that
records it; never edit a released migration, add a new one at the end (`@migration`).
Their count is the schema version (`sqlite.SCHEMA_VERSION`): the list is kept here
without sqlite-utils, so that read-only commands (status, watch) can compare it with
one PRAGMA and never import sqlite-utils. PostgreSQL's history (`pg_schema`) must end
in the same tables, columns and indexes: `tests/test_schema.py` compares them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from longtask.jobs.states import STATES

if TYPE_CHECKING:
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations

MIGRATIONS: list[Callable[[Database], None]] = []


def migration(fn: Callable[[Database], None]) -> Callable[[Database], None]:
    MIGRATIONS.append(fn)
    return fn


def migrations() -> Migrations:
    """The migrations as sqlite-utils applies them (by function name, in order)."""
    from sqlite_utils.migrations import Migrations

    found = Migrations("longtask")
    for fn in MIGRATIONS:
        found()(fn)
    return found


@migration
def m001_initial(db: Database) -> None:
    counters = ",\n".join(f"n_{s} INTEGER NOT NULL DEFAULT 0" for s in STATES)
    db.executescript(
        f"""
        CREATE TABLE jobs (
            id INTEGER PRIMARY KEY,
            created_at REAL NOT NULL,
            started_at REAL,
            finished_at REAL,
            state TEXT NOT NULL,
            priority TEXT NOT NULL,
            paths TEXT NOT NULL,
            pipeline TEXT NOT NULL,
            policy TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            cancel_requested INTEGER NOT NULL DEFAULT 0,
            tasks_total INTEGER NOT NULL DEFAULT 0,
            docs_opened INTEGER NOT NULL DEFAULT 0,
            bytes_total INTEGER NOT NULL DEFAULT 0,
            pages_total INTEGER NOT NULL DEFAULT 0,
            pages_done INTEGER NOT NULL DEFAULT 0,
            chunks_done INTEGER NOT NULL DEFAULT 0,
            skipped TEXT NOT NULL DEFAULT '[]',
            {counters}
        );
        CREATE TABLE tasks (
            id INTEGER PRIMARY KEY,
            job_id INTEGER NOT NULL REFERENCES jobs(id),
            path TEXT NOT NULL,
            raw_path BLOB,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            sha256 TEXT,
            doc_key TEXT,
            state TEXT NOT NULL,
            pages_total INTEGER,
            pages_done INTEGER NOT NULL DEFAULT 0,
            chunks INTEGER NOT NULL DEFAULT 0,
            attempts INTEGER NOT NULL DEFAULT 0,
            kills INTEGER NOT NULL DEFAULT 0,
            error_type TEXT,
            error_message TEXT,
            error_traceback TEXT,
            warning TEXT,
            worker TEXT,
            rq_id TEXT,
            enqueues INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL,
            started_at REAL,
            updated_at REAL NOT NULL,
            finished_at REAL,
            retry_at REAL,
            progress_at REAL
        );
        CREATE INDEX tasks_job_state ON tasks(job_id, state, updated_at);
        CREATE INDEX tasks_state ON tasks(state, worker);
        CREATE INDEX tasks_doc ON tasks(doc_key);
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            job_id INTEGER NOT NULL,
            task_id INTEGER,
            kind TEXT NOT NULL,
            detail TEXT
        );
        CREATE INDEX events_job ON events(job_id, id);
        CREATE INDEX events_task ON events(task_id, id);
        CREATE TABLE documents (
            key TEXT PRIMARY KEY,
            sha256 TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            pages_total INTEGER NOT NULL,
            pages_done INTEGER NOT NULL DEFAULT 0,
            chunks_done INTEGER NOT NULL DEFAULT 0,
            complete INTEGER NOT NULL DEFAULT 0,
            warning TEXT,
            created_at REAL NOT NULL,
            completed_at REAL
        );
        CREATE TABLE chunks (
            id INTEGER PRIMARY KEY,
            doc_key TEXT NOT NULL,
            seq INTEGER NOT NULL,
            page_start INTEGER NOT NULL,
            page_end INTEGER NOT NULL,
            text TEXT NOT NULL,
            embedding BLOB NOT NULL,
            model TEXT NOT NULL
        );
        CREATE UNIQUE INDEX chunks_doc_seq ON chunks(doc_key, seq);
        CREATE TABLE workers (
            name TEXT PRIMARY KEY,
            pid INTEGER NOT NULL,
            host TEXT NOT NULL,
            started_at REAL NOT NULL,
            heartbeat_at REAL NOT NULL,
            model_loads INTEGER NOT NULL DEFAULT 0,
            stop_requested INTEGER NOT NULL DEFAULT 0
        );
        """
    )


@migration
def m002_history_and_reuse(db: Database) -> None:
    """Throughput records (stats, ETA from history), stat-cache and embedding reuse."""
    db.executescript(
        """
        CREATE INDEX tasks_path ON tasks(path, size, mtime_ns);
        CREATE INDEX tasks_finished ON tasks(finished_at);
        CREATE TABLE progress (
            id INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            job_id INTEGER NOT NULL,
            pages INTEGER NOT NULL,
            chunks INTEGER NOT NULL,
            model TEXT NOT NULL
        );
        CREATE INDEX progress_at ON progress(at);
        CREATE TABLE history (
            job_id INTEGER PRIMARY KEY,
            model TEXT NOT NULL,
            workers INTEGER NOT NULL,
            docs INTEGER NOT NULL,
            pages INTEGER NOT NULL,
            chunks INTEGER NOT NULL,
            bytes INTEGER NOT NULL,
            seconds REAL NOT NULL,
            finished_at REAL NOT NULL
        );
        ALTER TABLE chunks ADD COLUMN text_hash TEXT;
        CREATE INDEX chunks_text ON chunks(text_hash, model);
        """
    )


@migration
def m003_warnings_index(db: Database) -> None:
    """Recent warnings for `watch`, without scanning a large job's finished tasks."""
    db.execute("CREATE INDEX tasks_warned ON tasks(job_id, updated_at) WHERE warning IS NOT NULL")


@migration
def m004_failure_streaks(db: Database) -> None:
    """Retries and the poison-pill count judge a document by failures with no progress
    between them: the streaks restart whenever its checkpoint has moved."""
    db.executescript(
        """
        ALTER TABLE tasks ADD COLUMN fail_streak INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE tasks ADD COLUMN kill_streak INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE tasks ADD COLUMN fail_page INTEGER;
        """
    )


@migration
def m005_page_survey(db: Database) -> None:
    """Page counts read early (the supervisor's survey), so a job's page total is exact
    long before its documents are opened. `tasks.surveyed`: 0 not yet surveyed (or
    opened since), 1 its page count is the survey's, 2 the survey could not read it
    (left to the run to report). `jobs.docs_surveyed`: tasks at 1, a job counter like
    the others. The partial index holds only the tasks the survey still looks for;
    tasks_job_pages gives `watch` the largest waiting document in a few index steps."""
    db.executescript(
        """
        ALTER TABLE tasks ADD COLUMN surveyed INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE jobs ADD COLUMN docs_surveyed INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX tasks_unsurveyed ON tasks(job_id, id) WHERE pages_total IS NULL AND surveyed = 0;
        CREATE INDEX tasks_job_pages ON tasks(job_id, state, pages_total);
        """
    )


@migration
def m006_chunk_provenance(db: Database) -> None:
    """Where a chunk's text came from: OCR (and the engine's confidence) or the text
    layer, and the section of the PDF outline it falls in. `tasks.ocr_pages`: pages the
    survey expects OCR to read, so the ETA weighs them (NULL: not surveyed)."""
    db.executescript(
        """
        ALTER TABLE chunks ADD COLUMN ocr INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE chunks ADD COLUMN ocr_confidence REAL;
        ALTER TABLE chunks ADD COLUMN section TEXT;
        ALTER TABLE tasks ADD COLUMN ocr_pages INTEGER;
        """
    )


@migration
def m007_collections(db: Database) -> None:
    """Collections: every job belongs to one; `entries` holds the current version of
    each path in a collection (replaced when a newer version is done, removed when a
    re-run no longer finds the file). `store_meta.chunk_deletions` counts removals of
    chunks, so a derived vector index knows when to drop rows. An existing store
    becomes the collection 'default', with the latest done version of each path, in
    the model of the latest job."""
    db.executescript(
        """
        ALTER TABLE jobs ADD COLUMN collection TEXT NOT NULL DEFAULT 'default';
        CREATE TABLE collections (
            name TEXT PRIMARY KEY,
            model TEXT NOT NULL,
            pipeline TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE TABLE entries (
            collection TEXT NOT NULL,
            path TEXT NOT NULL,
            doc_key TEXT NOT NULL,
            task_id INTEGER NOT NULL,
            updated_at REAL NOT NULL,
            PRIMARY KEY (collection, path)
        );
        CREATE INDEX entries_doc ON entries(doc_key);
        CREATE TABLE store_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
        INSERT INTO store_meta VALUES ('chunk_deletions', 0);
        INSERT INTO collections (name, model, pipeline, created_at, updated_at)
            SELECT 'default', json_extract(pipeline, '$.embedder') || '/' ||
                json_extract(pipeline, '$.precision'), pipeline, created_at, created_at
            FROM jobs ORDER BY id DESC LIMIT 1;
        INSERT INTO entries (collection, path, doc_key, task_id, updated_at)
            SELECT 'default', t.path, t.doc_key, t.id, coalesce(t.finished_at, t.updated_at)
            FROM tasks t JOIN jobs j ON j.id = t.job_id JOIN collections c ON c.name = 'default'
            WHERE t.id IN (SELECT max(id) FROM tasks WHERE state IN ('done', 'cached')
                AND doc_key IS NOT NULL GROUP BY path)
            AND json_extract(j.pipeline, '$.embedder') || '/' ||
                json_extract(j.pipeline, '$.precision') = c.model;
        """
    )


@migration
def m008_keyword_index(db: Database) -> None:
    """Keyword search: an FTS5 table over chunks.text (external content, no second copy
    of the text), kept in step with chunks by triggers in the same transaction."""
    db.executescript(
        """
        CREATE VIRTUAL TABLE chunks_fts USING fts5(text, content='chunks', content_rowid='id');
        CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
            INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text);
        END;
        CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
            INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
        END;
        CREATE TRIGGER chunks_fts_update AFTER UPDATE OF text ON chunks BEGIN
            INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
            INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text);
        END;
        INSERT INTO chunks_fts(chunks_fts) VALUES ('rebuild');
        """
    )
