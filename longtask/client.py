"""A Python client for applications: the same calls in-process (the embedded store,
or LONGTASK_DATABASE_URL) and against `longtask serve` over HTTP.

    from longtask import Client

    lt = Client()                                   # in-process, this machine's store
    lt = Client("http://127.0.0.1:8080", token=…)   # a `longtask serve`
    job = lt.submit(["/srv/manuals"], collection="manuals")
    for event in lt.events(job["id"]):              # progress … end
        print(event["event"], event["data"])
    hits = lt.search("error E-4711", collection="manuals", k=3)

HTTP uses only the standard library (urllib), so an application needs no extra
dependency; errors come back as `LongtaskError` with the server's problem detail.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from longtask.errors import BackendUnavailable, LongtaskError, NotFound


class Client:
    def __init__(self, url: str | None = None, token: str | None = None, timeout: float = 30.0) -> None:
        """`url`: a `longtask serve` base URL; None works in this process on the store
        the environment names (as the CLI does)."""
        self.url = url.rstrip("/") if url else None
        self.token = token
        self.timeout = timeout
        self._service: Any = None

    # ---- the two ways ---------------------------------------------------------------

    def _local(self) -> Any:
        if self._service is None:
            from longtask.serve.service import Service, load_settings

            self._service = Service(load_settings(), threads=1)
        return self._service

    def _request(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None) -> Any:
        assert self.url is not None
        params = {k: v for k, v in (query or {}).items() if v is not None}
        full = self.url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(full, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            raise _problem(e) from None
        except urllib.error.URLError as e:
            raise BackendUnavailable(f"cannot reach longtask serve at {self.url}: {e.reason}") from None

    # ---- the calls ----------------------------------------------------------------------

    def submit(
        self,
        paths: Sequence[str],
        priority: str = "default",
        collection: str = "default",
        sync: bool = True,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Record and queue a job; returns the job (its `id` names it in later calls).
        Over HTTP the paths must lie under one of the server's `--root` folders.
        `include`/`exclude`: globs choosing what a folder contributes (as the CLI's)."""
        if self.url:
            body: dict[str, Any] = {"paths": list(paths), "priority": priority, "collection": collection}
            body["sync"] = sync
            if include or exclude:
                body |= {"include": list(include), "exclude": list(exclude)}
            result: dict[str, Any] = self._request("POST", "/api/jobs", body)
            return result
        return dict(
            self._local().submit(
                list(paths), priority, collection=collection, sync=sync, include=include, exclude=exclude
            )
        )

    def status(self, job: int | str) -> dict[str, Any]:
        """As `longtask status JOB --json`."""
        if self.url:
            result: dict[str, Any] = self._request("GET", f"/api/jobs/{job}")
            return result
        svc = self._local()
        return dict(svc.snapshot(svc.resolve(job)))

    def cancel(self, job: int | str, grace: float = 10.0) -> dict[str, Any]:
        if self.url:
            result: dict[str, Any] = self._request("POST", f"/api/jobs/{job}/cancel", {"grace": grace})
            return result
        svc = self._local()
        return dict(svc.cancel(svc.resolve(job), grace))

    def resume(self, job: int | str) -> int:
        """Queue the job's unfinished documents again; returns how many."""
        if self.url:
            return int(self._request("POST", f"/api/jobs/{job}/resume")["requeued"])
        svc = self._local()
        return int(svc.resume(svc.resolve(job)))

    def search(
        self,
        query: str,
        k: int = 5,
        collection: str | None = None,
        path: str | None = None,
        job: int | str | None = None,
        mode: str = "hybrid",
    ) -> list[dict[str, Any]]:
        """As `longtask search --json`: path, pages, location, section, score, ocr, snippet,
        highlights, text; why it ranked there (vector_score, keyword_score, vector_weight,
        matched fields, navigation) and the copies folded into it."""
        if self.url:
            query_args = {
                "q": query,
                "k": k,
                "collection": collection,
                "path": path,
                "job": job,
                "mode": mode,
            }
            result: list[dict[str, Any]] = self._request("GET", "/api/search", query=query_args)
            return result
        from longtask.search import Query

        asked = Query(query, k=k, mode=mode, collection=collection, path_glob=path)
        svc = self._local()
        if job is not None:
            asked = replace(asked, job=svc.resolve(job))
        return list(svc.search(asked))

    def collections(self) -> list[dict[str, Any]]:
        if self.url:
            result: list[dict[str, Any]] = self._request("GET", "/api/collections")
            return result
        return list(self._local().collections())

    def events(self, job: int | str, interval: float = 0.5) -> Iterator[dict[str, Any]]:
        """Progress events until the job ends: {"event": "progress" | … | "end", "data": …}.
        Over HTTP, the server's event stream; in-process, the job's snapshot each time
        it changes (the same document `status` gives), then "end"."""
        if self.url:
            yield from self._stream(job)
            return
        svc = self._local()
        job_id = svc.resolve(job)
        last: Any = None
        while True:
            snap = svc.snapshot(job_id)
            progress = snap["job"]
            if progress != last:
                last = progress
                yield {"event": "progress", "data": snap}
            if snap["job"]["state"] in ("succeeded", "failed", "canceled"):
                yield {"event": "end", "data": snap["job"]}
                return
            time.sleep(interval)

    def _stream(self, job: int | str) -> Iterator[dict[str, Any]]:
        assert self.url is not None
        req = urllib.request.Request(f"{self.url}/api/jobs/{job}/events")
        req.add_header("Accept", "text/event-stream")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            resp = urllib.request.urlopen(req, timeout=self.timeout)
        except urllib.error.HTTPError as e:
            raise _problem(e) from None
        except urllib.error.URLError as e:
            raise BackendUnavailable(f"cannot reach longtask serve at {self.url}: {e.reason}") from None
        with resp:
            event, data = "message", list[str]()
            for raw in resp:
                line = raw.decode("utf-8").rstrip("\r\n")
                if line.startswith(":"):
                    continue  # keep-alive comment
                if not line:
                    if data:
                        yield {"event": event, "data": json.loads("\n".join(data))}
                        if event == "end":
                            return
                    event, data = "message", list[str]()
                elif line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].lstrip())


def _problem(e: urllib.error.HTTPError) -> LongtaskError:
    """The server's problem document as the error the CLI would have raised."""
    try:
        detail = json.loads(e.read()).get("detail") or e.reason
    except (ValueError, AttributeError):
        detail = e.reason
    if e.code == 404:
        return NotFound(str(detail))
    if e.code == 503:
        return BackendUnavailable(str(detail))
    return LongtaskError(f"HTTP {e.code}: {detail}")
