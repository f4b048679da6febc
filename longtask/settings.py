"""Settings: the one reader of LONGTASK_* variables.

Pipeline settings (chunking, model, precision) are copied into each job at submit, so a
worker processes a job the way it was asked for, whatever its own environment says.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from longtask.errors import LongtaskError
from longtask.pipelines.engines import AUTO, CHOICES, PACKAGED
from longtask.readers.ocr import OcrMode


def default_home() -> Path:
    if env := os.environ.get("LONGTASK_HOME"):
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "longtask"


@dataclass(frozen=True)
class Pipeline:
    """What decides a document's output; its fingerprint is part of the cache key."""

    # "minilm" (the packaged all-MiniLM-L6-v2) or an importable factory "module:name"
    # called as factory(precision=..., batch_size=...): how tests plug in a fake model.
    embedder: str = PACKAGED
    # An `Engine`'s name, or "auto": the fastest engine here (`engines.resolve`), which
    # `submit` decides, so a job never records "auto".
    precision: str = AUTO
    chunk_tokens: int = 240
    chunk_overlap: int = 32
    page_batch: int = 8
    embed_batch: int = 16
    # An `OcrMode`'s name: which pages OCR reads.
    ocr: str = OcrMode.auto.value

    def fingerprint(self) -> str:
        """What every document of a job shares; each document's own fingerprint adds the
        version of its format's reader (`versions.document_fingerprint`)."""
        from longtask.pipelines.versions import CHUNKER_VERSION, ocr_version

        # embed_batch changes speed, not output, so it stays out of the key.
        return (
            f"{CHUNKER_VERSION}|{self.embedder}|{self.precision}|"
            f"{self.chunk_tokens}/{self.chunk_overlap}/{self.page_batch}|{ocr_version(self.ocr)}"
        )

    @property
    def model_key(self) -> str:
        """Which vectors are interchangeable: same model, same precision."""
        return f"{self.embedder}/{self.precision}"

    @staticmethod
    def split_model_key(key: str) -> tuple[str, str]:
        """A `model_key` read back: (embedder, precision)."""
        embedder, _, precision = key.partition("/")
        return embedder, precision

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Pipeline:
        return cls(**_known(cls, data))


@dataclass(frozen=True)
class Policy:
    """How hard to try: retries, backoff and time limits, stored per job."""

    retries: int = 3
    backoff: float = 10.0
    soft_timeout: float = 3600.0
    hard_timeout: float = 4200.0
    max_kills: int = 2
    # The folders this job's files must really lie in (set by `serve --root` and its
    # uploads): discovery drops files whose real path is elsewhere and the worker checks
    # again when it opens one. Empty (the CLI): symlinks are followed anywhere.
    roots: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Policy:
        known = _known(cls, data)
        if "roots" in known:
            known["roots"] = tuple(known["roots"])
        return cls(**known)


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """The fields this version knows: a row written by another version still loads."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


HARD_MARGIN = 600.0  # seconds between a job's own soft timeout and the kill
# Pages in a shared range of a big document: a range costs its worker a fork, opening
# the file and seeking (about 0.1 s on a 236-page real manual) against about 0.5 s a
# page on one core, so 32 pages waste under 1%, while the last range left to run alone
# at the end of a job is 15-20 s, not minutes (the README's "big documents" notes).
SPLIT_PAGES = 32


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=default_home)
    redis_url: str | None = None
    database_url: str | None = None  # PostgreSQL; unset: the SQLite file under home
    # Seconds a statement waits for a pooled PostgreSQL connection before the server
    # counts as away (a commit then waits the outage out; other reads retry later).
    database_wait: float = 30.0
    pipeline: Pipeline = field(default_factory=Pipeline)
    policy: Policy = field(default_factory=Policy)
    concurrency: int = 0  # 0: pick from the core count
    stall_after: float = 300.0
    lease: float = 30.0  # a worker silent this long is presumed dead
    aging: float = 600.0  # seconds default/low work waits before it joins the high queue
    # A document of more pages than this is shared out in ranges of about this many
    # pages (whole page batches) that any worker may claim; 0: never (LONGTASK_SPLIT_PAGES).
    split_pages: int = SPLIT_PAGES
    # LONGTASK_WORKER_QUIET: worker logs to the file only (`run` sets it so that log
    # lines do not tear through its live view).
    worker_quiet: bool = False

    @property
    def db_path(self) -> Path:
        return self.home / "longtask.db"

    @property
    def sweep_every(self) -> float:
        """How often a supervisor rebuilds the queue from SQLite (a full sweep)."""
        return max(0.5, min(15.0, self.lease / 2))

    @property
    def heartbeat_every(self) -> float:
        """How often a supervisor vouches for its workers: several times a lease."""
        return max(0.2, min(5.0, self.lease / 4))

    @property
    def reclaim_every(self) -> float:
        """How often a supervisor looks for tasks whose worker went silent (a cheap
        query): several times a lease, so a dead machine's tasks are found soon after
        its lease ends."""
        return max(0.5, min(5.0, self.lease / 4))

    def range_pages(self, page_batch: int) -> int:
        """The pages of a big document's shared range: `split_pages` rounded up to whole
        page batches, so that a range reads the batches a run straight through reads
        (and makes the same chunks); 0 when documents are not split."""
        if self.split_pages <= 0:
            return 0
        return -(-self.split_pages // page_batch) * page_batch

    def workers(self) -> int:
        if self.concurrency > 0:
            return self.concurrency
        return max(1, min(4, os.cpu_count() or 1))

    def resolved(self) -> Settings:
        """These settings with precision 'auto' decided for this machine."""
        from longtask.pipelines.engines import resolve

        return self.with_pipeline(precision=resolve(self.pipeline.precision, self.home))

    def with_pipeline(self, **changes: Any) -> Settings:
        return replace(self, pipeline=replace(self.pipeline, **changes))

    def with_policy(self, **changes: Any) -> Settings:
        return replace(self, policy=replace(self.policy, **changes))

    def with_job_policy(
        self,
        retries: int | None = None,
        backoff: float | None = None,
        soft_timeout: float | None = None,
        hard_timeout: float | None = None,
    ) -> Settings:
        """These settings with one job's policy overrides (`submit`'s options, the API's
        fields), validated. A soft timeout given alone raises the hard one to at least
        soft + HARD_MARGIN, so that a document asked to stop cleanly gets the time to."""
        changes: dict[str, Any] = {
            k: v
            for k, v in (
                ("retries", retries),
                ("backoff", backoff),
                ("soft_timeout", soft_timeout),
                ("hard_timeout", hard_timeout),
            )
            if v is not None
        }
        if soft_timeout is not None and hard_timeout is None:
            changes["hard_timeout"] = max(self.policy.hard_timeout, soft_timeout + HARD_MARGIN)
        s = self.with_policy(**changes)
        validate(s)
        return s


def _env(name: str, cast: type, default: Any) -> Any:
    raw = os.environ.get(f"LONGTASK_{name}")
    if raw is None or raw == "":
        return default
    try:
        return cast(raw)
    except ValueError:
        raise LongtaskError(
            f"LONGTASK_{name}={raw!r} is not a valid {cast.__name__}; fix or unset it"
        ) from None


def load() -> Settings:
    pipeline = Pipeline(
        embedder=_env("EMBEDDER", str, Pipeline.embedder),
        precision=_env("PRECISION", str, Pipeline.precision),
        chunk_tokens=_env("CHUNK_TOKENS", int, Pipeline.chunk_tokens),
        chunk_overlap=_env("CHUNK_OVERLAP", int, Pipeline.chunk_overlap),
        page_batch=_env("PAGE_BATCH", int, Pipeline.page_batch),
        embed_batch=_env("EMBED_BATCH", int, Pipeline.embed_batch),
        ocr=_env("OCR", str, Pipeline.ocr),
    )
    policy = Policy(
        retries=_env("RETRIES", int, Policy.retries),
        backoff=_env("BACKOFF", float, Policy.backoff),
        soft_timeout=_env("SOFT_TIMEOUT", float, Policy.soft_timeout),
        hard_timeout=_env("HARD_TIMEOUT", float, Policy.hard_timeout),
        max_kills=_env("MAX_KILLS", int, Policy.max_kills),
    )
    settings = Settings(
        home=default_home(),
        redis_url=os.environ.get("LONGTASK_REDIS_URL") or None,
        database_url=os.environ.get("LONGTASK_DATABASE_URL") or None,
        database_wait=_env("DATABASE_WAIT", float, 30.0),
        pipeline=pipeline,
        policy=policy,
        concurrency=_env("CONCURRENCY", int, 0),
        stall_after=_env("STALL_AFTER", float, 300.0),
        lease=_env("LEASE", float, 30.0),
        aging=_env("AGING", float, 600.0),
        split_pages=_env("SPLIT_PAGES", int, SPLIT_PAGES),
        worker_quiet=bool(os.environ.get("LONGTASK_WORKER_QUIET")),
    )
    validate(settings)
    return settings


def _one_of(names: tuple[str, ...]) -> str:
    return f"{', '.join(names[:-1])} or {names[-1]}"


def validate(settings: Settings) -> None:
    p = settings.pipeline
    if p.embedder != PACKAGED and not re.fullmatch(r"[\w.]+:\w+", p.embedder):
        raise LongtaskError(
            f"unknown embedder {p.embedder!r}: use '{PACKAGED}', or an importable factory 'module:name'"
        )
    if p.precision not in CHOICES:
        raise LongtaskError(f"unknown precision {p.precision!r}: use {_one_of(CHOICES)}")
    if p.ocr not in OcrMode.names():
        raise LongtaskError(
            f"unknown OCR mode {p.ocr!r}: use {_one_of(OcrMode.names())} (--ocr, LONGTASK_OCR)"
        )
    if not 16 <= p.chunk_tokens <= 254:
        raise LongtaskError(
            f"chunk size {p.chunk_tokens} tokens is out of range: the model reads at most "
            "254 tokens a chunk; pick 16 to 254"
        )
    if not 0 <= p.chunk_overlap < p.chunk_tokens // 2:
        raise LongtaskError(
            f"chunk overlap {p.chunk_overlap} must be at least 0 and under half the "
            f"chunk size ({p.chunk_tokens // 2})"
        )
    if p.page_batch < 1 or p.embed_batch < 1:
        raise LongtaskError("page batch and embed batch must be at least 1")
    pol = settings.policy
    if pol.retries < 0 or pol.backoff < 0 or pol.max_kills < 0:
        raise LongtaskError("retries, backoff and max kills cannot be negative")
    if pol.soft_timeout <= 0 or pol.hard_timeout <= pol.soft_timeout:
        raise LongtaskError(
            f"the hard time limit ({pol.hard_timeout:g}s) must exceed the soft one ({pol.soft_timeout:g}s)"
        )
    if settings.database_url and not settings.database_url.startswith(("postgresql://", "postgres://")):
        raise LongtaskError(
            "LONGTASK_DATABASE_URL must be a PostgreSQL URL (postgresql://user@host/database); "
            "unset it to keep the status in the SQLite file under LONGTASK_HOME"
        )
    if settings.database_wait <= 0:
        raise LongtaskError(
            f"LONGTASK_DATABASE_WAIT={settings.database_wait:g} must be a positive number of seconds"
        )
    if settings.split_pages < 0:
        raise LongtaskError(
            f"LONGTASK_SPLIT_PAGES={settings.split_pages} cannot be negative (0: never split a document)"
        )
    if settings.stall_after <= 0 or settings.lease <= 0:
        raise LongtaskError("LONGTASK_STALL_AFTER and LONGTASK_LEASE must be positive (seconds)")
