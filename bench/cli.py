"""The CLI's answer times: each figure the wall time of a new `longtask` process.

Issue 24's targets, each printed against the interpreter's own start-up measured in
the same run (`python -c pass`, `python -c "import typer"`), since machines and their
load vary:

- `longtask --version`, `status`, `collections`, `dead` (a home with a 10,000-task job
  in full swing), `watch`'s first frame (time to the first JSON line): <= 0.25 s
- `submit` of 10,000 one-page files, Redis already up: <= 0.7 s
- `run` again over 1,000 unchanged files (every file a stat-cache hit): <= 0.3 s
- `search` on a 100,000-chunk store, the real model's query path: <= 1.0 s; in
  process (no `serve` up) and through a running `serve` of the same home

Commands run with bytecode caching on (PYTHONDONTWRITEBYTECODE removed from their
environment), as an installed package runs: a development shell that sets it compiles
every longtask module on every call (about 0.05-0.1 s a command here).

Each figure is the median of `--runs` calls, with the CPU seconds the process used
beside it (less sensitive to neighbours than wall time). Run as
`python -m bench.cli [--quick] [--only status,submit,...]`; a table on stderr, one JSON
object on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench import corpus
from bench.procs import home, log, wait_quiet
from harness import ROOT
from harness.fakes import HASH
from harness.home import CLI, Home

PY = sys.executable


def _bytecode_on(h: Home) -> Home:
    """The home's commands may write and reuse .pyc files (see the module's docstring)."""
    h.env.pop("PYTHONDONTWRITEBYTECODE", None)
    return h


@dataclass
class Figure:
    name: str
    target: float | None
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpus)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "wall_s": round(self.wall, 4),
            "cpu_s": round(self.cpu, 4),
            "walls": [round(w, 4) for w in self.walls],
            "target_s": self.target,
            "met": None if self.target is None else self.wall <= self.target,
            "note": self.note,
        }


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd: Sequence[str], env: dict[str, str] | None = None, check: bool = True) -> tuple[float, float]:
    """(wall, cpu) seconds of one process run to its end."""
    cpu0 = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run(list(cmd), env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr[-1500:]}")
    return wall, _children_cpu() - cpu0


def measure(
    name: str, target: float | None, once: Callable[[], tuple[float, float]], runs: int, note: str = ""
) -> Figure:
    once()  # untimed: page cache, any stale .pyc compiled
    fig = Figure(name, target, note=note)
    for _ in range(runs):
        w, c = once()
        fig.walls.append(w)
        fig.cpus.append(c)
    return fig


def first_line(h: Home, *args: str) -> tuple[float, float]:
    """Seconds until the process prints its first line on stdout (then it is stopped)."""
    start = time.perf_counter()
    proc = subprocess.Popen([*CLI, *args], env=h.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    wall = time.perf_counter() - start
    proc.terminate()
    proc.wait()
    if not line:
        raise RuntimeError(f"longtask {' '.join(args)} printed nothing")
    return wall, float("nan")


# ---- the parts ------------------------------------------------------------------------


def baselines(runs: int) -> list[Figure]:
    return [
        measure("python -c pass", None, lambda: timed([PY, "-c", "pass"]), runs),
        measure('python -c "import typer"', None, lambda: timed([PY, "-c", "import typer"]), runs),
    ]


def single_commands(h: Home, runs: int, tasks: int) -> list[Figure]:
    """--version, status, collections, dead and watch's first frame over a job in full swing."""
    from bench.scenarios import _set_progress
    from longtask.jobs.store import SqliteConnector, Store

    tiny = corpus.tiny_copies(tasks)
    r = h.cli("submit", str(tiny.folder), "--json")
    if r.returncode != 0:
        raise RuntimeError(f"submit failed: {r.stderr[-1500:]}")
    job = json.loads(r.stdout)["id"]
    h.cli("server", "stop")  # the commands below read the store only
    store = Store(SqliteConnector(h.db))
    _set_progress(store, job, tasks, tasks // 2)
    store.close()
    note = f"a job of {tasks:,} tasks in full swing"

    def cli(*args: str) -> Callable[[], tuple[float, float]]:
        return lambda: timed([*CLI, *args], env=h.env)

    return [
        measure("longtask --version", 0.25, cli("--version"), runs),
        measure("longtask status", 0.25, cli("status"), runs, note),
        measure("longtask status JOB", 0.25, cli("status", str(job)), runs, note),
        measure("longtask collections", 0.25, cli("collections"), runs),
        measure("longtask dead", 0.25, cli("dead"), runs, note + ", 5 dead"),
        measure(
            "longtask watch: first frame", 0.25, lambda: first_line(h, "watch", str(job), "--json"), runs
        ),
    ]


def submit_10k(runs: int, files: int) -> Figure:
    """A fresh home per run (a queued folder is skipped by the next submit), warmed by one
    other file so that Redis is up and the database made."""
    tiny = corpus.tiny_copies(files)
    warm = ROOT / "sample_docs" / "honeybees.pdf"
    fig = Figure(f"longtask submit {files:,} files", 0.7, note="Redis already up")
    for i in range(runs + 1):
        with home(f"cli-submit-{i}") as h:
            _bytecode_on(h)
            h.cli("submit", str(warm))
            w, c = timed([*CLI, "submit", str(tiny.folder), "--json"], env=h.env)
            if i:  # the first: untimed
                fig.walls.append(w)
                fig.cpus.append(c)
    return fig


def rerun_unchanged(runs: int, files: int) -> Figure:
    tiny = corpus.tiny_copies(files)
    with home("cli-rerun", embedder=HASH) as h:
        _bytecode_on(h)
        log(f"re-run: first run over {files:,} one-page files (hash embedder)")
        r = h.cli("run", str(tiny.folder), timeout=1800)
        if r.returncode != 0:
            raise RuntimeError(f"first run failed: {r.stderr[-1500:]}")
        h.cli("server", "stop")
        fig = measure(
            f"longtask run again, {files:,} unchanged files",
            0.3,
            lambda: timed([*CLI, "run", str(tiny.folder), "--json"], env=h.env),
            runs,
            "every file a stat-cache hit; Redis not started",
        )
        job = h.one("SELECT tasks_total, n_cached, state FROM jobs ORDER BY id DESC LIMIT 1") or {}
        if job.get("n_cached") != job.get("tasks_total"):
            raise RuntimeError(f"the re-run was not all cache hits: {job}")
    return fig


def search_figures(runs: int, chunks: int) -> list[Figure]:
    """`longtask search` on a store of `chunks` chunks of the packaged model's collection:
    in process, then through a `serve` of the same home."""
    from bench.search import clustered, fill, words
    from longtask.jobs.store import SqliteConnector, Store
    from longtask.settings import Pipeline

    figs = []
    with home("cli-search") as h:
        _bytecode_on(h)
        store = Store(SqliteConnector(h.db))
        texts = words(2000, 3)
        t = time.perf_counter()
        vectors = clustered(chunks, seed=4)
        fill(
            store,
            "default",
            Pipeline(precision="fp32"),
            [texts[i % 2000] for i in range(chunks)],
            vectors,
            "minilm/fp32",
            100,
        )
        store.close()
        log(f"search: filled {chunks:,} chunks in {time.perf_counter() - t:.1f} s")
        query = ["search", "granite basalt quarry", "--json"]
        h.cli(*query)  # untimed: the index is built
        note = f"{chunks:,} chunks, hybrid"
        in_process = measure(
            "longtask search (in process)", 1.0, lambda: timed([*CLI, *query], env=h.env), runs, note
        )
        figs.append(in_process)
        figs.append(
            measure(
                "longtask search --mode keyword",
                1.0,
                lambda: timed([*CLI, *query, "--mode", "keyword"], env=h.env),
                runs,
                "no model",
            )
        )
        served = _with_serve(
            h,
            lambda: measure(
                "longtask search (serve up)",
                1.0,
                lambda: timed([*CLI, *query], env=h.env),
                runs,
                note + ", answered by `serve`",
            ),
        )
        if served is not None:
            figs.append(served)
    return figs


def _with_serve(h: Home, fn: Callable[[], Figure]) -> Figure | None:
    from harness.ports import free_port

    port = free_port()
    proc = h.popen("serve", "--port", str(port))
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if (h.path / "serve.json").exists():
                break
            time.sleep(0.2)
        else:
            log("serve did not announce itself in serve.json: no served figure")
            return None
        return fn()
    finally:
        proc.terminate()
        proc.wait(30)


# ---- the report -------------------------------------------------------------------------


def table(figs: list[Figure], base: float) -> str:
    lines = [f"{'figure':44} {'wall':>8} {'cpu':>7} {'x pass':>7} {'target':>8}  result"]
    for f in figs:
        res = "info" if f.target is None else ("pass" if f.wall <= f.target else "MISS")
        target = "" if f.target is None else f"<= {f.target:.2f}"
        cpu = "" if f.cpu != f.cpu else f"{f.cpu:.3f}"
        lines.append(f"{f.name:44} {f.wall:8.3f} {cpu:>7} {f.wall / base:7.1f} {target:>8}  {res}")
    return "\n".join(lines)


PARTS = ("commands", "submit", "rerun", "search")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer runs, smaller stores (a smoke test)")
    ap.add_argument("--only", default=",".join(PARTS), help=f"comma-separated: {', '.join(PARTS)}")
    ap.add_argument("--runs", type=int, default=None)
    args = ap.parse_args(argv)
    runs = args.runs or (3 if args.quick else 7)
    only = set(args.only.split(","))
    wait_quiet()
    figs = baselines(runs)
    if "commands" in only:
        with home("cli-commands") as h:
            figs += single_commands(_bytecode_on(h), runs, 2_000 if args.quick else 10_000)
    if "submit" in only:
        figs.append(submit_10k(runs if not args.quick else 2, 2_000 if args.quick else 10_000))
    if "rerun" in only:
        figs.append(rerun_unchanged(runs, 200 if args.quick else 1_000))
    if "search" in only:
        figs += search_figures(runs, 20_000 if args.quick else 100_000)
    base = figs[0].wall
    print(table(figs, base), file=sys.stderr)
    print(json.dumps({"host_cores": os.cpu_count(), "figures": [f.as_dict() for f in figs]}))


if __name__ == "__main__":
    main()
