"""Issue 23's proof: a real `longtask run` (the real model, real worker processes) over a
folder of every format beside two PDFs, a type not read and hostile files; then the
same folder uploaded to `serve`, and run on PostgreSQL.

It checks what a user would: each file's identifier is found first by `search`; each
file's topic, asked in other words, is in the top 3 of a vector search; sections come
from headings; script text and an external entity's target are never indexed; each
hostile file ends dead with a reason, tried once; the type not read is reported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.formats_folder import Mixed, make_mixed
from harness.redis_server import RedisServer
from longtask.jobs.store import Store, open_store
from longtask.search import Query, search
from longtask.settings import load

pytestmark = pytest.mark.slow


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LONGTASK_")}
    return {**env, "LONGTASK_HOME": str(home), **extra}


def _longtask(env: dict[str, str], *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "longtask", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Mixed:
    return make_mixed(tmp_path_factory.mktemp("formats") / "folder")


@pytest.fixture(scope="module")
def run(
    mixed: Mixed, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, subprocess.CompletedProcess[str]]]:
    home = tmp_path_factory.mktemp("e2e") / "home"
    env = _env(home)
    result = _longtask(env, "run", str(mixed.folder), "--json")
    yield home, result
    _longtask(env, "server", "stop", timeout=30)


def _store(home: Path, monkeypatch: pytest.MonkeyPatch, url: str | None = None) -> Store:
    monkeypatch.setenv("LONGTASK_HOME", str(home))
    if url:
        monkeypatch.setenv("LONGTASK_DATABASE_URL", url)
    else:
        monkeypatch.delenv("LONGTASK_DATABASE_URL", raising=False)
    return open_store(load())


def _hits(store: Store, home: Path, text: str, mode: str, k: int) -> list[dict]:  # type: ignore[type-arg]
    return search(store, Query(text, k=k, mode=mode), home=home)


def _check_search(store: Store, home: Path, mixed: Mixed, named: dict[Path, Path] | None = None) -> None:
    """Identifiers first by the default search; topics in the top 3 by meaning.
    `named`: where each made file was stored (uploads live elsewhere)."""
    where = named or {g.path: g.path for g in mixed.good}
    wrong: list[str] = []
    for good in mixed.good:
        hits = _hits(store, home, good.ident, "hybrid", 3)
        if not hits or Path(hits[0]["path"]) != where[good.path]:
            wrong.append(f"{good.path.name}: {good.ident} -> {[Path(h['path']).name for h in hits]}")
        elif good.location and good.location not in str(hits[0].get("location") or ""):
            wrong.append(f"{good.path.name}: {good.ident} located {hits[0].get('location')!r}")
    for good in {g.path: g for g in mixed.good}.values():
        hits = _hits(store, home, good.question, "vector", 3)
        if where[good.path] not in {Path(h["path"]) for h in hits}:
            wrong.append(f"{good.path.name}: {good.question!r} -> {[Path(h['path']).name for h in hits]}")
    assert not wrong, wrong


# ---- longtask run, SQLite -------------------------------------------------------------


def test_the_run_ends_with_every_good_file_done_and_every_hostile_one_dead(
    run: tuple[Path, subprocess.CompletedProcess[str]], mixed: Mixed, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, result = run
    assert "skipped 1 file of types not read: .psd 1" in result.stderr, result.stderr[-3000:]
    store = _store(home, monkeypatch)
    job = store.job(1)
    tasks = {
        Path(t.path): t
        for t in store.tasks_in(1, ("done", "dead", "cached", "failed", "retrying", "pending", "running"))
    }
    good = {g.path for g in mixed.good}
    assert {p for p, t in tasks.items() if t.state == "done"} == good, result.stderr[-3000:]
    dead = {p: t for p, t in tasks.items() if t.state == "dead"}
    assert set(dead) == set(mixed.hostile)
    for path, task in dead.items():
        # each ends dead at its first try, with a reason that names the file
        assert task.attempts == 1, (path.name, task.attempts, task.error_message)
        assert task.error_message and path.name in task.error_message, (path.name, task.error_message)
    assert job.tasks_total == len(good) + len(mixed.hostile)
    assert {s.get("not_read", {}).get(".psd") for s in job.skipped} >= {1}
    # ... and stays in sight after the run: `status JOB` says what was left out.
    shown = _longtask(_env(home), "status", "1")
    assert shown.returncode == 0 and "skipped 1 file of types not read: .psd 1" in shown.stdout, shown.stdout


def test_each_identifier_is_found_first_and_each_topic_by_meaning(
    run: tuple[Path, subprocess.CompletedProcess[str]], mixed: Mixed, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, _ = run
    _check_search(_store(home, monkeypatch), home, mixed)


def test_sections_come_from_headings_and_locations_say_where(
    run: tuple[Path, subprocess.CompletedProcess[str]], mixed: Mixed, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, _ = run
    store = _store(home, monkeypatch)
    chunks = list(store.iter_chunks(1))
    missing = []
    for good in mixed.good:
        sections = " | ".join(c["section"] or "" for c in chunks if Path(c["path"]) == good.path)
        # a chunk's section is the heading it starts under: a short first part may share
        # its chunk with what comes before, so one of the file's headings must show
        if good.headings and not any(h in sections for h in good.headings):
            missing.append(f"{good.path.name}: none of {good.headings} in {sections!r}")
    assert not missing, missing
    located = {Path(c["path"]).suffix: c["location"] for c in chunks if c["location"]}
    assert str(located[".pptx"]).startswith("slide ") and str(located[".xlsx"]).startswith("sheet ")
    assert all(c["location"] is None for c in chunks if c["path"].endswith(".pdf"))  # pages, as before


def test_script_text_and_an_external_entitys_target_are_never_indexed(
    run: tuple[Path, subprocess.CompletedProcess[str]], mixed: Mixed, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, _ = run
    text = "\n".join(c["text"] for c in _store(home, monkeypatch).iter_chunks(1)).lower()
    assert text, "nothing was indexed"
    assert [w for w in mixed.never_indexed if w.lower() in text] == []


# ---- serve uploads ---------------------------------------------------------------------


def test_the_same_files_uploaded_to_serve(
    mixed: Mixed, redis_server: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.serve_procs import serving, start_workers, stop_workers

    home = tmp_path / "home"
    with serving(home, redis_server, LONGTASK_EMBEDDER="minilm") as served:
        files = [("files", (g.name, g.read_bytes(), "application/octet-stream")) for g in _upload_set(mixed)]
        with served.client() as c:
            resp = c.post("/api/jobs", files=files)
            assert resp.status_code == 202, resp.text
            body = resp.json()
            refused = c.post("/api/jobs", files={"files": ("layers.psd", mixed.not_read[0].read_bytes())})
            assert refused.status_code == 415 and "not a type longtask reads" in refused.json()["detail"]
        workers = start_workers(served.env, 2)
        try:
            _wait_finished(served.env, int(body["id"]))
        finally:
            stop_workers(workers)
    stored = {u["name"]: Path(u["path"]) for u in body["uploaded"]}
    named = {g.path: stored[g.path.name] for g in mixed.good}
    store = _store(home, monkeypatch)
    job = store.job(int(body["id"]))
    assert job.counts["done"] == len({g.path for g in mixed.good}), job.counts
    assert job.counts["dead"] == len([p for p in mixed.hostile if p.name not in REFUSED])
    _check_search(store, home, mixed, named)


# Refused at upload (a 415 for the request): checked in test_formats_upload.
REFUSED = ("hostile_photos.docx", "hostile_truncated.xlsx", "hostile_binary.txt")


def _upload_set(mixed: Mixed) -> list[Path]:
    """Good and hostile files alike, less those sniffing refuses at once."""
    return sorted({g.path for g in mixed.good}) + [p for p in mixed.hostile if p.name not in REFUSED]


def _wait_finished(env: dict[str, str], job_id: int) -> None:
    result = _longtask(env, "watch", str(job_id), "--json", "--timeout", "600", timeout=660)
    assert result.returncode != 124, "the job did not finish in time"  # 4: ended with dead tasks


# ---- PostgreSQL ------------------------------------------------------------------------


def test_the_same_folder_on_postgresql(
    mixed: Mixed, postgres_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.postgres import fresh_database

    home = tmp_path / "home"
    with fresh_database(postgres_server) as url:
        env = _env(home, LONGTASK_DATABASE_URL=url)
        try:
            result = _longtask(env, "run", str(mixed.folder), "--json")
        finally:
            _longtask(env, "server", "stop", timeout=30)
        assert "skipped 1 file of types not read: .psd 1" in result.stderr, result.stderr[-3000:]
        store = _store(home, monkeypatch, url)
        job = store.job(1)
        assert job.counts["done"] == len({g.path for g in mixed.good}), (job.counts, result.stderr[-3000:])
        assert job.counts["dead"] == len(mixed.hostile)
        _check_search(store, home, mixed)
        text = "\n".join(c["text"] for c in store.iter_chunks(1)).lower()
        assert [w for w in mixed.never_indexed if w.lower() in text] == []
        json.dumps(job.skipped)  # stored and read back as JSON
