"""What every command opens: the settings, and the store on first use.

One place, so that a command is: parse options, `ctx = context()`, one call, render.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from longtask.jobs.store import Store
    from longtask.settings import Settings


@dataclass
class StoreAndSettings:
    """A command's settings, and the store they name, opened on first use."""

    settings: Settings

    @cached_property
    def store(self) -> Store:
        from longtask.jobs.store import open_store

        return open_store(self.settings)


def context() -> StoreAndSettings:
    """Read the settings (LONGTASK_*); the store opens when a command first asks for it."""
    from longtask import settings

    return StoreAndSettings(settings.load())
