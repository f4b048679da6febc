"""The two migration histories (SQLite's schema.py, PostgreSQL's pg_schema.py) are kept
in two dialects: after migrating a fresh store of each, both must hold the same
tables, columns (types normalised) and indexes, so the histories cannot drift. And a
released migration never changes what it runs (a store that already ran it would
differ from a fresh one): each one's statements are pinned."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from longtask.jobs.store import PostgresConnector, SqliteConnector

# Each dialect's spelling of the same type.
TYPES = {"integer": "int", "bigint": "int", "real": "float", "double precision": "float"}
TYPES |= {"text": "text", "blob": "bytes", "bytea": "bytes"}
BOOKKEEPING = {"_sqlite_migrations", "longtask_migrations"}  # each migrator's own record
# Keyword search is each backend's own: SQLite's FTS5 table (and its shadow tables),
# PostgreSQL's stored tsvector column and its GIN index.
FTS5_TABLES = "chunks_fts"
PG_KEYWORD = {("chunks", "tsv"), "chunks_tsv"}


def _sqlite(path: Path) -> tuple[dict, dict]:
    db = SqliteConnector(path)
    tables = [
        r[0]
        for r in db.all("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        if r[0] not in BOOKKEEPING and not r[0].startswith(FTS5_TABLES)
    ]
    columns = {
        t: {
            (r["name"], TYPES[r["type"].lower()], bool(r["notnull"]) or bool(r["pk"]))
            for r in db.all(f"SELECT * FROM pragma_table_info('{t}')")
        }
        for t in tables
    }
    indexes = {}
    for t in tables:
        for r in db.all(f"SELECT * FROM pragma_index_list('{t}')"):
            if r["origin"] != "c":  # a primary key's or a UNIQUE constraint's own index
                continue
            cols = tuple(
                c["name"] for c in db.all(f"SELECT name FROM pragma_index_info('{r['name']}') ORDER BY seqno")
            )
            sql = db.scalar("SELECT sql FROM sqlite_master WHERE name = ?", (r["name"],))
            indexes[r["name"]] = (t, cols, bool(r["unique"]), _where(sql))
    db.close()
    return columns, indexes


def _postgres(url: str) -> tuple[dict, dict]:
    db = PostgresConnector(url)
    rows = db.all(
        "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_schema = 'public'"
    )
    columns: dict[str, set] = {}
    for r in rows:
        if r[0] not in BOOKKEEPING and (r[0], r[1]) not in PG_KEYWORD:
            columns.setdefault(r[0], set()).add((r[1], TYPES[r[2]], r[3] == "NO"))
    indexes = {}
    for name, table, sql in db.all(
        "SELECT indexname, tablename, indexdef FROM pg_indexes WHERE schemaname = 'public'"
    ):
        if table in BOOKKEEPING or name.endswith("_pkey") or name in PG_KEYWORD:
            continue
        cols = re.search(r"USING \w+ \(([^)]*)\)", sql)
        assert cols, sql
        indexes[name] = (
            table,
            tuple(c.strip() for c in cols.group(1).split(",")),
            "UNIQUE" in sql,
            _where(sql),
        )
    db.close()
    return columns, indexes


def _where(sql: str) -> str | None:
    """A partial index's condition, spelled alike (PostgreSQL adds brackets)."""
    found = re.search(r"\bWHERE\b(.*)$", sql, re.S | re.I)
    return re.sub(r"[()\s]", "", found.group(1)).lower() if found else None


def test_sqlite_and_postgresql_migrate_to_the_same_tables_columns_and_indexes(
    tmp_path: Path, pg_url: str
) -> None:
    lite_columns, lite_indexes = _sqlite(tmp_path / "fresh.db")
    pg_columns, pg_indexes = _postgres(pg_url)
    assert set(lite_columns) == set(pg_columns), "the two histories create different tables"
    for table in lite_columns:
        only_lite = lite_columns[table] - pg_columns[table]
        only_pg = pg_columns[table] - lite_columns[table]
        assert not only_lite and not only_pg, (table, "SQLite only:", only_lite, "PostgreSQL only:", only_pg)
    assert lite_indexes == pg_indexes
    assert len(lite_indexes) >= 10  # the comparison saw the real schema


# sha256 (first 16 hex digits) of each released migration's statements, whitespace
# folded. A new migration adds a line here; a released one's line never changes.
RELEASED = {
    "sqlite:m001_initial": "d6ae04d08402cead",
    "sqlite:m002_history_and_reuse": "845d44e3928dcde8",
    "sqlite:m003_warnings_index": "c594a79a2b1acf31",
    "sqlite:m004_failure_streaks": "3283fb39f858005c",
    "sqlite:m005_page_survey": "f8a20a1712d42208",
    "sqlite:m006_chunk_provenance": "9b748886cb9197ff",
    "sqlite:m007_collections": "4e2981664b243d5b",
    "sqlite:m008_keyword_index": "d1d0bfe87d35b737",
    "sqlite:m009_chunk_location": "79f4ea28de95efca",
    "sqlite:m010_ranking_fields": "640d1cac3d668c9d",
    "sqlite:m011_page_ranges": "a67c76ec64c67cee",
    "pg:m001_initial": "66654df3b62cb098",
    "pg:m002_page_survey": "682c22d4dc2fbab4",
    "pg:m003_chunk_provenance": "625242ea12d0b99f",
    "pg:m004_collections_and_keywords": "c84660bbecb8d334",
    "pg:m005_chunk_location": "79f4ea28de95efca",
    "pg:m006_ranking_fields": "ec1b195ba5ec7060",
    "pg:m007_page_ranges": "2567879ea415cc06",
}


class _Recorder:
    """Stands in for sqlite-utils' Database: keeps what a migration would run."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def executescript(self, sql: str) -> None:
        self.statements.append(sql)

    def execute(self, sql: str, *args: Any) -> None:
        self.statements.append(sql)


def _digest(statements: list[str]) -> str:
    return hashlib.sha256(" ".join(" ".join(statements).split()).encode()).hexdigest()[:16]


def test_released_migrations_run_what_they_always_ran() -> None:
    from longtask.jobs.store import pg_schema, schema

    found = {}
    for fn in schema.MIGRATIONS:
        db = _Recorder()
        fn(db)  # type: ignore[arg-type]
        assert db.statements, fn.__name__
        found[f"sqlite:{fn.__name__}"] = _digest(db.statements)
    for name, sql in pg_schema.MIGRATIONS:
        found[f"pg:{name}"] = _digest([sql])
    assert {k: v for k, v in found.items() if k in RELEASED} == RELEASED
