"""PostgreSQL for tests and benchmarks: the machine's server, a fresh database per use."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

# The local server (trust auth, as on every machine of this kind and in CI).
PG_SERVER = os.environ.get("LONGTASK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


@contextmanager
def fresh_database(server: str = PG_SERVER, prefix: str = "lt_") -> Iterator[str]:
    """The URL of a database of one's own on `server`, dropped on the way out (its
    sessions cut). Raises psycopg.OperationalError if the server cannot be reached."""
    import psycopg

    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
