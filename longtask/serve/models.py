"""The request and response bodies of the API, and the problem responses it documents."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from longtask.jobs.states import Priority
from longtask.serve import problems


class SubmitPaths(BaseModel):
    """A job over files or folders on the server, under one of the `--root` folders."""

    model_config = ConfigDict(extra="forbid")
    paths: list[Annotated[str, Field(min_length=1, max_length=4096)]] = Field(min_length=1, max_length=10000)
    priority: Priority = Priority.default
    retries: Annotated[int, Field(ge=0, le=100)] | None = None
    soft_timeout: Annotated[float, Field(gt=0, le=7 * 86400)] | None = None
    collection: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")] = "default"
    sync: bool = True  # files of the collection under these paths that are gone leave it
    # globs choosing what a folder contributes (as `submit --include/--exclude`)
    include: list[Annotated[str, Field(min_length=1, max_length=1024)]] = Field(default=[], max_length=100)
    exclude: list[Annotated[str, Field(min_length=1, max_length=1024)]] = Field(default=[], max_length=100)


class Links(BaseModel):
    self: str
    events: str
    cancel: str


class Accepted(BaseModel):
    id: int
    state: str
    tasks: int
    skipped: list[dict[str, Any]]
    links: Links
    uploaded: list[dict[str, Any]] | None = None


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: Annotated[str, Field(min_length=1, max_length=200)]


class CancelBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    grace: Annotated[float, Field(ge=0, le=600)] = 10.0


class RetryBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    job: Annotated[int, Field(ge=1, le=2**62)] | None = None
    error_type: Annotated[str, Field(max_length=200)] | None = None


PROBLEM = {
    "content": {problems.MEDIA_TYPE: {"schema": {"type": "object"}}},
    "description": "a problem document",
}
ERRORS: dict[int | str, dict[str, Any]] = {code: PROBLEM for code in (400, 401, 403, 404, 413, 415, 422, 503)}
JobRef = Annotated[str, "a job id or 'latest'"]
