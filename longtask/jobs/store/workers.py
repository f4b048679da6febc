"""The workers table: who is alive (heartbeats), what each loaded, who must stop."""

from __future__ import annotations

from collections.abc import Sequence

from longtask.jobs.store.base import StoreBase


class Workers(StoreBase):
    def register_worker(self, name: str, pid: int, host: str) -> None:
        now = self.clock()
        with self.db.write() as c:
            c.execute(
                "INSERT INTO workers (name, pid, host, started_at, heartbeat_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET pid = excluded.pid, "
                "host = excluded.host, started_at = excluded.started_at, "
                "heartbeat_at = excluded.heartbeat_at, model_loads = 0, stop_requested = 0",
                (name, pid, host, now, now),
            )

    def count_model_load(self, name: str) -> None:
        with self.db.write() as c:
            c.execute("UPDATE workers SET model_loads = model_loads + 1 WHERE name = ?", (name,))

    def model_loads(self) -> dict[str, int]:
        """Model loads by worker name: each worker process should load its model once."""
        return {
            r["name"]: int(r["model_loads"]) for r in self.db.all("SELECT name, model_loads FROM workers")
        }

    def worker_pids(self) -> dict[str, int]:
        return {r["name"]: int(r["pid"]) for r in self.db.all("SELECT name, pid FROM workers")}

    def heartbeat(self, names: Sequence[str]) -> None:
        now = self.clock()
        with self.db.write() as c:
            c.executemany("UPDATE workers SET heartbeat_at = ? WHERE name = ?", ((now, n) for n in names))

    def request_worker_stop(self, names: Sequence[str]) -> None:
        with self.db.write() as c:
            c.executemany("UPDATE workers SET stop_requested = 1 WHERE name = ?", ((n,) for n in names))

    def stop_requested(self, name: str) -> bool:
        """Has this worker been asked to stop (so it starts no further document)?"""
        return bool(self.db.scalar("SELECT stop_requested FROM workers WHERE name = ?", (name,)))

    def remove_worker(self, name: str) -> None:
        """Mark a worker gone; the row stays as a record (its model load count)."""
        with self.db.write() as c:
            c.execute("UPDATE workers SET heartbeat_at = 0 WHERE name = ?", (name,))
