"""The PostgreSQL connector: the store's statements and guarantees, for workers on
several hosts (LONGTASK_DATABASE_URL=postgresql://user@host/db).

- Each state change is one transaction on a pooled connection (psycopg 3 and
  psycopg_pool; a broken connection, e.g. after a server restart, is replaced on the
  next checkout). A server away for longer than the pool waits for a connection
  (LONGTASK_DATABASE_WAIT) shows as an outage that `pausable` lets a commit wait out.
- Writes that touch a job's tasks first lock the job's row (`SELECT ... FOR UPDATE`):
  claims racing from several hosts queue up on it, so `claim`'s message fencing
  holds and the job's counters stay exact; one lock order means no deadlocks.
- Ids come from sequences, handed out before commit: a chunk with a lower id can
  commit after a higher one was read (`ids_in_commit_order` is False).
- Keyword search is a stored `tsvector` ('simple') with a GIN index (pg_schema.py).
- The driver is imported here only: commands on the SQLite default never load it.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from longtask.errors import BackendUnavailable, LongtaskError
from longtask.jobs.store import connector
from longtask.jobs.store.connector import KEYWORD_TERMS, Connector
from longtask.jobs.store.pg_schema import MIGRATIONS

MIGRATION_LOCK = 7_310_452_119  # the advisory lock key that serialises first migrations
# Per session. A host cut off in the middle of a write must not hold its job's row for
# the server's default two hours: the server ends a session idle inside a transaction
# (ours never wait between statements), and TCP keepalives find a silent peer. The
# client side likewise gives up on a server that stopped answering.
SESSION = {
    "options": "-c idle_in_transaction_session_timeout=10000 -c tcp_keepalives_idle=10 "
    "-c tcp_keepalives_interval=3 -c tcp_keepalives_count=3",
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 3,
    "keepalives_count": 3,
    "connect_timeout": 10,
}


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class Row(tuple):  # type: ignore[type-arg]
    """A row that reads by position and by column name, like sqlite3.Row."""

    _index: dict[str, int]

    def __new__(cls, values: Sequence[Any], index: dict[str, int]) -> Row:
        row = super().__new__(cls, values)
        row._index = index
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


def _rows(cursor: Any) -> Any:
    names = [c.name for c in cursor.description or ()]
    index = {n: i for i, n in enumerate(names)}
    return lambda values: Row(values, index)


class _Result:
    """A finished statement's rows, read after its connection went back to the pool."""

    def __init__(self, rows: list[Row], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def fetchone(self) -> Row | None:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[Row]:
        return self._rows

    def __iter__(self) -> Iterator[Row]:
        return iter(self._rows)


def _pg(sql: str) -> str:
    """The store's statements use `?`; psycopg wants `%s`."""
    return sql.replace("?", "%s")


class PostgresConnector(Connector):
    """Statements run on the open transaction's connection (this thread's), or on a
    pooled one for a single read."""

    def __init__(self, url: str, wait: float = 30.0, pool_size: int = 4) -> None:
        """`wait`: how long a statement waits for a pooled connection (a server that is
        away shows as PoolTimeout after it: an outage that a commit waits out)."""
        import psycopg
        from psycopg_pool import ConnectionPool

        self.url = url
        self.where = redact(url)
        self.OUTAGES = (psycopg.OperationalError,)
        self._local = threading.local()
        _check(url)
        self.pool = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            kwargs={"autocommit": True, **SESSION},
            check=ConnectionPool.check_connection,
            timeout=wait,
            open=False,
            name="longtask",
        )
        self.pool.open(wait=True, timeout=15.0)
        self._migrate()

    def close(self) -> None:
        self.pool.close()

    def _txn(self) -> Any:
        return getattr(self._local, "conn", None)

    @contextmanager
    def write(self) -> Iterator[PostgresConnector]:
        with self.pool.connection() as conn, conn.transaction():
            self._local.conn = conn
            try:
                yield self
            finally:
                self._local.conn = None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _Result:
        conn = self._txn()
        if conn is not None:
            return self._run(conn, sql, params)
        with self.pool.connection() as pooled:
            return self._run(pooled, sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        conn = self._txn()
        if conn is None:
            with self.pool.connection() as pooled, pooled.transaction():
                pooled.cursor().executemany(_pg(sql), list(rows))
            return
        conn.cursor().executemany(_pg(sql), list(rows))

    @staticmethod
    def _run(conn: Any, sql: str, params: Sequence[Any]) -> _Result:
        cur = conn.cursor(row_factory=_rows)
        cur.execute(_pg(sql), tuple(params) if params else None)
        rows = cur.fetchall() if cur.description else []
        return _Result(rows, cur.rowcount)

    def insert_id(self, sql: str, params: Sequence[Any]) -> int:
        row = self.execute(sql + " RETURNING id", params).fetchone()
        assert row is not None
        return int(row[0])

    def lock_job(self, job_id: int) -> None:
        self.execute("SELECT id FROM jobs WHERE id = ? FOR UPDATE", (job_id,))

    def follow_ids(self, table: str) -> None:
        self.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
        )

    def keyword(
        self, query: str, words: Sequence[str], doc_keys: Sequence[str], n: int
    ) -> list[tuple[int, float]]:
        """The server's own lexemes of `query` (`words` is not needed). ts_rank has no
        inverse document frequency, so each lexeme is weighted here by how rare it is
        (its document count, capped at 1,000 so that a common word costs one bounded
        index probe); a lexeme in the section title (weight A of the tsvector) counts
        `TITLE_WEIGHT` times, as SQLite's bm25 column weight has it; and the words
        together as a phrase add ts_rank_cd."""
        lexemes = [
            str(r[0])
            for r in self.execute(
                "SELECT unnest(tsvector_to_array(to_tsvector('simple', ?)))", (query,)
            ).fetchall()
        ][:KEYWORD_TERMS]
        if not lexemes:
            return []
        total = max(1000, int(self.scalar("SELECT coalesce(max(id), 0) FROM chunks") or 0))
        quoted = ["'" + lex.replace("'", "''").replace("\\", "\\\\") + "'" for lex in lexemes]
        weights = []
        for q in quoted:
            df = int(
                self.scalar(
                    "SELECT count(*) FROM (SELECT 1 FROM chunks WHERE tsv @@ ?::tsquery LIMIT 1000) s", (q,)
                )
                or 0
            )
            weights.append(math.log(1 + (total - df + 0.5) / (df + 0.5)))
        extra = connector.TITLE_WEIGHT - 1.0
        score = " + ".join(
            f"{w:.6f} * ((c.tsv @@ ?::tsquery)::int + {extra:.6f} * (c.tsv @@ ?::tsquery)::int)"
            for w in weights
        )
        terms = [t for q in quoted for t in (q, q + ":A")]
        rows = self.execute(
            f"SELECT c.id, {score} + ts_rank_cd(c.tsv, phraseto_tsquery('simple', ?)) AS score "
            "FROM chunks c WHERE c.tsv @@ ?::tsquery AND c.doc_key IN "
            "(SELECT json_array_elements_text(?::json)) ORDER BY score DESC, c.id LIMIT ?",
            (*terms, query, " | ".join(quoted), json.dumps(list(doc_keys)), n),
        ).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]

    def pausable(self, exc: BaseException) -> bool:
        """Every OperationalError: the server is away or restarting (connection refused
        or lost, the pool's wait for a connection ran out, an admin shutdown), or it
        rolled a transaction back to be tried again (a deadlock, a serialisation
        failure). A commit is one transaction, so trying it again is safe."""
        return isinstance(exc, self.OUTAGES)

    def _migrate(self) -> None:
        import psycopg

        names = [name for name, _ in MIGRATIONS]
        try:
            if self._applied() == names:
                return
            with self.write() as c:
                c.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
                c.execute(
                    "CREATE TABLE IF NOT EXISTS longtask_migrations "
                    "(name TEXT PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
                )
                done = {r[0] for r in c.execute("SELECT name FROM longtask_migrations").fetchall()}
                for name, sql in MIGRATIONS:
                    if name not in done:
                        c.execute(sql)
                        c.execute(
                            "INSERT INTO longtask_migrations (name, applied_at) VALUES (?, ?)",
                            (name, time.time()),
                        )
        except psycopg.errors.InsufficientPrivilege as e:
            raise BackendUnavailable(
                f"the database at {self.where} refuses to create longtask's tables ({e.diag.message_primary}): "
                "grant the user CREATE on the database's public schema, or run the first longtask "
                "command as the database's owner"
            ) from None

    def _applied(self) -> list[str]:
        row = self.execute("SELECT to_regclass('longtask_migrations') IS NOT NULL").fetchone()
        if not row or not row[0]:
            return []
        return [r[0] for r in self.execute("SELECT name FROM longtask_migrations ORDER BY name").fetchall()]


def _check(url: str) -> None:
    """Connect once, so that a bad URL, a wrong password or a server that is down is
    one clear message naming the database and the fix (the pool would only time out)."""
    import psycopg

    where = redact(url)
    try:
        psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError as e:
        raise LongtaskError(
            f"LONGTASK_DATABASE_URL is not a valid PostgreSQL URL ({where}: {e}); "
            "use postgresql://user:password@host:port/database"
        ) from None
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.OperationalError as e:
        reason = " ".join(str(e).split()) or type(e).__name__
        raise BackendUnavailable(
            f"cannot reach the status database at {where} ({reason}): check that PostgreSQL runs there "
            "and that the user and password in LONGTASK_DATABASE_URL are right, or unset it to use the "
            "SQLite file"
        ) from None
