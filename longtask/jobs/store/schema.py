"""Versioned migrations of the status database.

Each migration is applied once, in order, inside the same write transaction that
records it; never edit a released migration, add a new one at the end (`@migration`).
Their count is the schema version (`sqlite.SCHEMA_VERSION`): the list is kept here
without sqlite-utils, so that read-only commands (status, watch) can compare it with
one PRAGMA and never import sqlite-utils. PostgreSQL's history (`pg_schema`) must end
in the same tables, columns and indexes: both spell what they share from `ddl`, and
`tests/test_schema.py` compares the results and pins each migration's statements.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from longtask.jobs.store import ddl

if TYPE_CHECKING:
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations

SQL = ddl.SQLITE
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
    db.executescript(
        SQL.spell(
            "\n".join(
                [
                    ddl.table("jobs", ddl.JOB_COLUMNS),
                    ddl.table("tasks", ddl.TASK_COLUMNS),
                    ddl.TASK_INDEXES,
                    ddl.EVENTS,
                    ddl.DOCUMENTS,
                    ddl.table("chunks", ddl.CHUNK_COLUMNS),
                    ddl.CHUNKS_DOC_SEQ,
                    ddl.WORKERS,
                ]
            )
        )
    )


@migration
def m002_history_and_reuse(db: Database) -> None:
    """Throughput records (stats, ETA from history), stat-cache and embedding reuse."""
    db.executescript(
        SQL.spell(
            "\n".join(
                [
                    ddl.TASK_REUSE_INDEXES,
                    ddl.PROGRESS,
                    ddl.HISTORY,
                    ddl.add_columns("chunks", ddl.CHUNK_TEXT_HASH),
                    ddl.CHUNKS_TEXT,
                ]
            )
        )
    )


@migration
def m003_warnings_index(db: Database) -> None:
    """Recent warnings for `watch`, without scanning a large job's finished tasks."""
    db.execute(ddl.TASKS_WARNED)


@migration
def m004_failure_streaks(db: Database) -> None:
    """Retries and the poison-pill count judge a document by failures with no progress
    between them: the streaks restart whenever its checkpoint has moved."""
    db.executescript(SQL.spell(ddl.add_columns("tasks", ddl.TASK_STREAKS)))


@migration
def m005_page_survey(db: Database) -> None:
    """Page counts read early (the supervisor's survey), so a job's page total is exact
    long before its documents are opened. `tasks.surveyed`: 0 not yet surveyed (or
    opened since), 1 its page count is the survey's, 2 the survey could not read it
    (left to the run to report). `jobs.docs_surveyed`: tasks at 1, a job counter like
    the others. The partial index holds only the tasks the survey still looks for;
    tasks_job_pages gives `watch` the largest waiting document in a few index steps."""
    db.executescript(SQL.spell(ddl.PAGE_SURVEY))


@migration
def m006_chunk_provenance(db: Database) -> None:
    """Where a chunk's text came from: OCR (and the engine's confidence) or the text
    layer, and the section of the PDF outline it falls in. `tasks.ocr_pages`: pages the
    survey expects OCR to read, so the ETA weighs them (NULL: not surveyed)."""
    db.executescript(SQL.spell(ddl.CHUNK_PROVENANCE))


@migration
def m007_collections(db: Database) -> None:
    """Collections: every job belongs to one; `entries` holds the current version of
    each path in a collection (replaced when a newer version is done, removed when a
    re-run no longer finds the file). `store_meta.chunk_deletions` counts removals of
    chunks, so a derived vector index knows when to drop rows. An existing store
    becomes the collection 'default', with the latest done version of each path, in
    the model of the latest job."""
    db.executescript(ddl.collections(SQL))


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


@migration
def m009_chunk_location(db: Database) -> None:
    """Where a chunk sits, as people name it in formats whose units are not pages
    ("slide 3", "sheet Sales, rows 2-40", "attachment report.pdf"); NULL for a PDF,
    whose page numbers say it."""
    db.execute(ddl.CHUNK_LOCATION)


@migration
def m010_ranking_fields(db: Database) -> None:
    """Ranking fields: `chunks.nav` marks navigation pages (contents, indexes, lists of
    figures) so that search ranks them below the content they point to; the keyword
    index gains the chunk's section title as a column of its own, so that bm25 weighs
    a title match above a body match (BM25F-style column weights, `sqlite.keyword`)."""
    db.executescript(
        SQL.spell(ddl.RANKING_FIELDS)
        + """
        DROP TRIGGER chunks_fts_insert;
        DROP TRIGGER chunks_fts_delete;
        DROP TRIGGER chunks_fts_update;
        DROP TABLE chunks_fts;
        CREATE VIRTUAL TABLE chunks_fts USING fts5(section, text, content='chunks', content_rowid='id');
        CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
            INSERT INTO chunks_fts(rowid, section, text) VALUES (new.id, new.section, new.text);
        END;
        CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
            INSERT INTO chunks_fts(chunks_fts, rowid, section, text) VALUES ('delete', old.id, old.section, old.text);
        END;
        CREATE TRIGGER chunks_fts_update AFTER UPDATE OF section, text ON chunks BEGIN
            INSERT INTO chunks_fts(chunks_fts, rowid, section, text) VALUES ('delete', old.id, old.section, old.text);
            INSERT INTO chunks_fts(rowid, section, text) VALUES (new.id, new.section, new.text);
        END;
        INSERT INTO chunks_fts(chunks_fts) VALUES ('rebuild');
        """
    )


@migration
def m011_page_ranges(db: Database) -> None:
    """Big documents shared by all workers: a document past the split size is cut
    into page ranges, each a task row of its own (`part_of` the document's task,
    `page_from` its first page, `pages_total` its end, `pages_done` its checkpoint),
    claimed, checkpointed, retried and canceled as a document is. `split`: how many
    ranges a document's task was cut into (0: it runs whole); such a task is never
    sent or claimed again, its state follows its ranges'. Ranges are no job's
    documents: the job's counters and the lists users read leave them out."""
    db.executescript(SQL.spell(ddl.PAGE_RANGES))
