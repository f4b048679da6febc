"""Moving a store: everything an existing SQLite store holds, copied into a fresh
PostgreSQL database, so a single-machine install can grow past one machine.

The copy is one transaction (all of it or none), keeps every id (job ids users know
stay valid), and leaves the database's ids after the highest copied one (see
`Store.copy_from`).
"""

from __future__ import annotations

from longtask.errors import LongtaskError
from longtask.jobs.store import Store


def migrate(source: Store, target: Store) -> dict[str, int]:
    """Copy `source` into `target`, which must hold no jobs yet; returns rows per table."""
    existing = target.job_count()
    if existing:
        raise LongtaskError(
            f"the database at {target.where} already holds {existing} job(s): migrate into an "
            "empty database (create a new one), so that no job id is taken twice"
        )
    return target.copy_from(source)
