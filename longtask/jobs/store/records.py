"""The store's records: what a row of jobs, tasks or documents means to the code."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from longtask.jobs.states import JOB_ENDED, STATES
from longtask.settings import Pipeline, Policy

if TYPE_CHECKING:
    import numpy as np

DEFAULT_COLLECTION = "default"  # where a job goes when it names none


@dataclass(frozen=True)
class FileEntry:
    path: str
    raw_path: bytes | None
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class NewJob:
    """What `create_job` records: the submitted paths, the files found under them (and
    those skipped, with why), and the settings every document of the job runs with.
    With `sync`, paths of the collection under these roots that are not among `files`
    leave it (the index mirrors the folders)."""

    paths: Sequence[str]
    files: Sequence[FileEntry]
    pipeline: Pipeline
    policy: Policy
    fingerprint: str
    priority: str = "default"
    skipped: Sequence[dict[str, Any]] = ()
    collection: str = DEFAULT_COLLECTION
    sync: bool = True


@dataclass
class Job:
    id: int
    state: str
    priority: str
    created_at: float
    started_at: float | None
    finished_at: float | None
    paths: list[str]
    pipeline: Pipeline
    policy: Policy
    fingerprint: str
    cancel_requested: bool
    tasks_total: int
    docs_opened: int
    bytes_total: int
    pages_total: int
    pages_done: int
    chunks_done: int
    skipped: list[dict[str, Any]]
    counts: dict[str, int] = field(default_factory=dict)
    docs_surveyed: int = 0  # tasks whose page count the survey read, not yet opened
    collection: str = DEFAULT_COLLECTION

    @property
    def finished(self) -> bool:
        return self.state in JOB_ENDED

    @classmethod
    def from_row(cls, row: Any) -> Job:
        return cls(
            id=row["id"],
            state=row["state"],
            priority=row["priority"],
            created_at=row["created_at"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            paths=json.loads(row["paths"]),
            pipeline=Pipeline.from_dict(json.loads(row["pipeline"])),
            policy=Policy.from_dict(json.loads(row["policy"])),
            fingerprint=row["fingerprint"],
            cancel_requested=bool(row["cancel_requested"]),
            tasks_total=row["tasks_total"],
            docs_opened=row["docs_opened"],
            bytes_total=row["bytes_total"],
            pages_total=row["pages_total"],
            pages_done=row["pages_done"],
            chunks_done=row["chunks_done"],
            skipped=json.loads(row["skipped"]),
            counts={s.value: row[f"n_{s}"] for s in STATES},
            docs_surveyed=row["docs_surveyed"],
            collection=row["collection"],
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "priority": self.priority,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "paths": self.paths,
            "tasks": self.tasks_total,
            "bytes": self.bytes_total,
            "pages_total": self.pages_total,
            "pages_done": self.pages_done,
            "chunks": self.chunks_done,
            "counts": self.counts,
            "skipped": self.skipped,
            "collection": self.collection,
        }


@dataclass
class Task:
    id: int
    job_id: int
    path: str
    raw_path: bytes | None
    size: int
    mtime_ns: int
    sha256: str | None
    doc_key: str | None
    state: str
    pages_total: int | None
    pages_done: int
    chunks: int
    attempts: int
    kills: int
    error_type: str | None
    error_message: str | None
    error_traceback: str | None
    warning: str | None
    worker: str | None
    rq_id: str | None
    enqueues: int
    created_at: float
    started_at: float | None
    updated_at: float
    finished_at: float | None
    retry_at: float | None
    progress_at: float | None
    fail_streak: int = 0  # failed attempts since the checkpoint last moved
    kill_streak: int = 0  # of those, the ones that took the work horse down
    fail_page: int | None = None  # the checkpoint at the last failure
    surveyed: int = 0  # 1: pages_total is the survey's, not yet opened; 2: survey failed
    ocr_pages: int | None = None  # pages the survey expects OCR to read (None: not surveyed)
    # A page range of a big document: the document's task, and the range's first page
    # (its `pages_total` is its end, its `pages_done` its checkpoint, both as pages of
    # the whole document). None for a document.
    part_of: int | None = None
    page_from: int | None = None
    split: int = 0  # a document cut into this many ranges; its state follows theirs

    @property
    def is_range(self) -> bool:
        return self.part_of is not None

    @property
    def fs_path(self) -> str | bytes:
        return self.raw_path if self.raw_path is not None else self.path

    def as_dict(self) -> dict[str, Any]:
        return {
            k: v
            for k, v in self.__dict__.items()
            if k not in ("raw_path", "error_traceback", "part_of", "page_from", "split")
        }


@dataclass(frozen=True)
class Claim:
    """A task taken by one run; `attempt` fences off any older run of the same task."""

    task: Task
    attempt: int
    pipeline: Pipeline
    policy: Policy
    priority: str


@dataclass(frozen=True)
class Document:
    key: str
    pages_total: int
    pages_done: int
    chunks_done: int
    complete: bool


@dataclass(frozen=True)
class ChunkRow:
    seq: int
    page_start: int
    page_end: int
    text: str
    embedding: np.ndarray
    ocr: bool = False  # some of its text came from OCR
    ocr_confidence: float | None = None  # the lowest OCR confidence of its pages, 0-1
    section: str | None = None  # the section (outline entry, heading) it starts in
    location: str | None = None  # where it sits where pages do not say it ("slide 3")
    nav: bool = False  # a navigation page: contents, an index, a list of figures
