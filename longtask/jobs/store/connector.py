"""What the store's concern modules see of a backend: one small connector.

As procrastinate's `JobManager(connector)`: the store's parts write their statements
once, with `?` placeholders and SQL both SQLite and PostgreSQL speak, and hand them to
`self.db`. A connector runs them and knows its backend's connection, its transactions,
its row locks and which of its errors are an outage; the SQLite and PostgreSQL
connectors are siblings over this base, and neither inherits the other.

Where the backends differ in more than the driver, the connector answers for its
backend, so that no part of the store asks which backend it runs on: keyword search
(`keyword`: SQLite's FTS5 or PostgreSQL's tsvector) and whether chunk ids commit in
id order (`ids_in_commit_order`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

KEYWORD_TERMS = 16  # the most query words a keyword search looks for
# How much a query word in a chunk's section title counts against one in its body
# (BM25F-style field weight: a heading names what its section is about). Tuned on the
# ranking bench's dev split (bench/ranking.py).
TITLE_WEIGHT = 4.0


class Result(Protocol):
    """A finished statement: its rows (they read by column name and by position)."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connector(ABC):
    # What this backend raises when it is away or refuses for a while (a worker's
    # supervisor waits these out; `pausable` says which of them a commit may wait for).
    OUTAGES: tuple[type[BaseException], ...] = ()
    where: str = ""  # how messages name this store: a file, or a URL without its password
    # Does a row's id commit in id order? True where ids are handed out under the one
    # writer lock (SQLite); False where a sequence hands them out before commit
    # (PostgreSQL), so that a lower id can appear after a higher one was read.
    ids_in_commit_order: bool = False

    @abstractmethod
    def write(self) -> AbstractContextManager[Connector]:
        """One transaction: every statement run through this connector inside the block
        is part of it; it commits at the end of the block, or rolls back on an error."""

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        """Run one statement (in the open transaction, if any)."""

    @abstractmethod
    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement per row (in the open transaction, else in one of its own)."""

    def one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first row, or None."""
        return self.execute(sql, params).fetchone()

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row, or None."""
        row = self.one(sql, params)
        return row[0] if row else None

    @abstractmethod
    def insert_id(self, sql: str, params: Sequence[Any]) -> int:
        """Insert one row and return its new integer `id`."""

    @abstractmethod
    def lock_job(self, job_id: int) -> None:
        """Inside a write: hold the job's row until commit. Every write that touches a
        job's tasks takes it first, so concurrent writers queue up in one order and the
        job's counters stay exact."""

    @abstractmethod
    def follow_ids(self, table: str) -> None:
        """After rows were inserted with their own ids (a copied store): new rows of
        `table` get ids after the highest."""

    @abstractmethod
    def keyword(
        self, query: str, words: Sequence[str], doc_keys: Sequence[str], n: int
    ) -> list[tuple[int, float]]:
        """The best `n` chunks of these documents for the query, best first: (chunk id,
        score; higher is better), by the backend's own full-text index. `words` are the
        query's words as the search side reads them (lower case, each once, at most
        `KEYWORD_TERMS`); a backend that tokenizes on the server may read `query` instead.
        Both weigh a rare term (an error code, a part number) above common words, and
        a word in the chunk's section title `TITLE_WEIGHT` times one in its text."""

    def pausable(self, exc: BaseException) -> bool:
        """An outage that passes by itself (a full disk, a long-held lock, a server
        restarting): a commit that meets one waits and tries again."""
        return isinstance(exc, self.OUTAGES)

    @abstractmethod
    def close(self) -> None: ...
