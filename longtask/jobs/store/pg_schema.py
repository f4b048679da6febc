"""Versioned migrations of the PostgreSQL store: the same tables as SQLite's, in
PostgreSQL's types (double precision times, bigint sizes, bytea embeddings).

Each migration is applied once, in order, in the transaction that records it; never
edit a released one, add a new one. What both histories share is spelled once in
`ddl`; tests/test_schema.py pins each migration's statements. Several hosts starting
at once migrate once: the first takes a transaction-level advisory lock, the others
wait and find it done.
"""

from __future__ import annotations

from longtask.jobs.store import ddl

SQL = ddl.POSTGRES

MIGRATIONS: list[tuple[str, str]] = [
    (
        # SQLite's m001 to m004 in one: the columns and indexes SQLite added later are
        # part of the first tables here.
        "m001_initial",
        SQL.spell(
            "\n".join(
                [
                    ddl.table("jobs", ddl.JOB_COLUMNS),
                    ddl.table("tasks", ddl.TASK_COLUMNS + ddl.TASK_STREAKS),
                    ddl.TASK_INDEXES,
                    ddl.TASK_REUSE_INDEXES,
                    ddl.TASKS_WARNED + ";",
                    ddl.EVENTS,
                    ddl.DOCUMENTS,
                    ddl.table("chunks", ddl.CHUNK_COLUMNS + ddl.CHUNK_TEXT_HASH),
                    ddl.CHUNKS_DOC_SEQ,
                    ddl.CHUNKS_TEXT,
                    ddl.WORKERS,
                    ddl.PROGRESS,
                    ddl.HISTORY,
                ]
            )
        ),
    ),
    # As SQLite's m005_page_survey: page counts read early by the supervisor's survey.
    ("m002_page_survey", SQL.spell(ddl.PAGE_SURVEY)),
    # As SQLite's m006_chunk_provenance: OCR, its confidence and the outline section.
    ("m003_chunk_provenance", SQL.spell(ddl.CHUNK_PROVENANCE)),
    (
        # As SQLite's m007_collections and m008_keyword_index. Keyword search: a stored
        # tsvector ('simple': identifiers and part numbers are kept as written, no
        # stemming) with a GIN index, computed by the server on every write.
        "m004_collections_and_keywords",
        ddl.collections(SQL)
        + """
        ALTER TABLE chunks ADD COLUMN tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED;
        CREATE INDEX chunks_tsv ON chunks USING GIN (tsv);
        """,
    ),
    # As SQLite's m009_chunk_location: where a chunk sits in formats without pages.
    ("m005_chunk_location", ddl.CHUNK_LOCATION),
    (
        # As SQLite's m010_ranking_fields: navigation pages marked; the tsvector weighs
        # the section title (weight A) apart from the body (D), so that keyword search
        # can score a title match above a body match (`postgres.keyword`).
        "m006_ranking_fields",
        SQL.spell(ddl.RANKING_FIELDS)
        + """
        DROP INDEX chunks_tsv;
        ALTER TABLE chunks DROP COLUMN tsv;
        ALTER TABLE chunks ADD COLUMN tsv tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('simple', coalesce(section, '')), 'A') || setweight(to_tsvector('simple', text), 'D')
        ) STORED;
        CREATE INDEX chunks_tsv ON chunks USING GIN (tsv);
        """,
    ),
    # As SQLite's m011_page_ranges: big documents shared out in page ranges.
    ("m007_page_ranges", SQL.spell(ddl.PAGE_RANGES)),
]
