"""Seeded chaos: routine faults every few seconds against real workers, and what survived.

`python bench/chaos.py --minutes N --pages P --seed S` is the long run of issue 8;
`tests/test_chaos.py` drives the same machinery on a small corpus.

Everything is black-box, as an operator sees it: a fresh LONGTASK_HOME, the built-in
Redis (LONGTASK_REDIS_URL unset, so the CLI starts its own server under
LONGTASK_HOME/redis), the real model, and the CLI as subprocesses: `submit`, `worker`,
`cancel`, `resume`, `status --json`, `export --format jsonl` and `dead show ID --json`
(which shows any task, dead or not, with its events). Nothing here reads the SQLite
file: its layout belongs to the store and may change.

The faults, one every `every` seconds, kind chosen by a seeded RNG:

- horse: SIGKILL a work horse (a child of a worker process, found through /proc), as
  the OOM killer does;
- worker: SIGKILL a worker process (a child of the supervisor running
  `longtask.jobs.worker`);
- tree: SIGKILL the supervisor's process group and every descendant at once (a reboot
  or a deploy that kills the cgroup), then start `longtask worker` again;
- redis: SIGKILL the built-in Redis (its pid is in LONGTASK_HOME/redis/redis.pid); the
  harness does not restart it: who does, and when, is part of what is measured;
- cancel: `longtask cancel JOB` followed by `longtask resume JOB`.

Pages redone are measured as honestly as the black box allows. Each attempt's
`opened` event gives the page it started from, which is the checkpoint it found.
`status --json`, polled about once a second and just before every fault, gives the
checkpoint each running attempt had reached. For an attempt that ended without
finishing its document:

- pages *lost*: the checkpoint it was seen to reach minus the page the next attempt
  started from (work committed and then done again; zero when checkpoints hold);
- pages *in flight*: at most one page batch (the batch being computed when it died),
  zero when it stopped cooperatively at a batch boundary (cancel, worker stop); the
  estimate scales the batch by the time since its last commit over its pace.

Every process the harness starts carries LONGTASK_HOME=<its private home> in its
environment, so teardown finds and SIGKILLs every one of them (the daemonized Redis
and any orphaned horse included) and nothing else.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import random
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.fakes import SLOW_MINILM
from harness.home import Home, home_env
from harness.pdfs import make_text_pdf
from harness.processes import sigkill, wait_gone
from harness.prose import document_pages
from harness.workers import Workers

KINDS = ("horse", "worker", "tree", "redis", "cancel")
DEFAULT_WEIGHTS = {"horse": 3.0, "worker": 2.0, "tree": 1.0, "redis": 1.5, "cancel": 1.0}
FINAL = ("succeeded", "failed", "canceled")


def say(message: str) -> None:
    """Progress lines go to stderr with a clock, so a long run can be followed live."""
    print(f"[chaos {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---- the corpus ----------------------------------------------------------------------


def make_corpus(folder: Path, docs: int, pages: int, words: int | None = None) -> list[Path]:
    """`docs` PDFs of `pages` pages of varied prose (harness.prose), so chunks differ.

    `words` caps the words a page (the test keeps pages short to spare the CPU); the
    document lengths vary by up to a quarter so that documents end at different times.
    """
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(docs):
        n = max(1, pages - (i * pages) // (4 * max(1, docs)))
        name = f"chaos-{i:02d}-{pages}"
        texts = document_pages(name, n)
        if words is not None:
            texts = [f"{name} page {p + 1}. " + " ".join(t.split()[:words]) for p, t in enumerate(texts)]
        out.append(make_text_pdf(folder / f"{name}.pdf", texts))
    return out


# ---- a private home and its CLI ------------------------------------------------------


def chaos_home(path: Path, page_batch: int, batch_delay: float = 0.0, lease: float | None = None) -> Home:
    """A fresh LONGTASK_HOME with the built-in Redis (LONGTASK_REDIS_URL unset) and the
    real model, paused `batch_delay` seconds before each page batch when given."""
    path.mkdir(parents=True, exist_ok=True)
    settings = {"page_batch": str(page_batch)}
    extra = {"PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1"}
    if batch_delay:
        settings["embedder"] = SLOW_MINILM  # the real model, paused before each page batch
        extra["FAKE_EMBED_DELAY"] = str(batch_delay)
    if lease is not None:
        settings["lease"] = str(lease)
    return Home(path, home_env(path, **settings) | extra, cli_timeout=60)


def read_json(home: Home, *args: str, timeout: float = 60) -> Any:
    """A CLI command's JSON output; None when it fails (its stderr is logged)."""
    try:
        r = home.cli(*args, timeout=timeout)
    except subprocess.TimeoutExpired:
        say(f"`longtask {' '.join(args)}` timed out after {timeout:g}s")
        return None
    if r.returncode != 0:
        say(f"`longtask {' '.join(args)}` exited {r.returncode}: {r.stderr.strip()[-300:]}")
        return None
    return json.loads(r.stdout)


# ---- faults and observations ---------------------------------------------------------


@dataclass
class Fault:
    t: float  # seconds since submit
    clock: float  # time.time(), to line up with the store's event times
    kind: str
    detail: str
    targets: list[int] = field(default_factory=list)  # task ids that were running in the victim(s)


@dataclass
class Seen:
    """The furthest a task's attempt was seen to get, from `status --json`."""

    pages: int = 0
    progress_at: float = 0.0


@dataclass
class Config:
    seed: int
    docs: int = 6
    pages: int = 32
    words: int | None = None
    page_batch: int = 4
    concurrency: int = 2
    every: tuple[float, float] = (4.0, 9.0)
    fault_window: float = math.inf  # seconds after submit during which faults happen
    deadline: float = 600.0  # seconds after submit by which the job must have ended
    batch_delay: float = 0.0
    backoff: float | None = None  # `submit --backoff`; None: the product default
    lease: float | None = None  # LONGTASK_LEASE; None: the product default
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    cancel_grace: float | None = None  # `cancel --grace`; None: the product default (10 s)


@dataclass
class Run:
    """What one run did and saw; `report()` turns it into figures and problems."""

    config: Config
    home: Home
    files: list[Path]
    job: int = 0
    started: float = 0.0  # time.time() at submit
    wall: float = 0.0  # submit to the job's end, as the harness saw it
    state: str = ""
    faults: list[Fault] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    seen: dict[tuple[int, int], Seen] = field(default_factory=dict)  # (task, attempt) -> furthest seen
    pages_seen: list[tuple[float, int]] = field(default_factory=list)  # (clock, job pages_done)
    redis_down: list[tuple[float, float | None, int | None]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)  # `dead show ID --json` of each task
    ranges: list[dict[str, Any]] = field(default_factory=list)  # the same, of big documents' page ranges
    chunks: list[dict[str, Any]] = field(default_factory=list)  # `export --format jsonl`
    supervisor_log: Path | None = None

    def t(self) -> float:
        return time.time() - self.started


class Chaos:
    """Drive one job through faults: submit, workers, the fault loop, the final reading."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.cfg = run.config
        self.home = run.home
        self.rng = random.Random(self.cfg.seed)
        self.workers: Workers | None = None
        self.generation = 0
        self._redis_watch: tuple[float, int | None] | None = None  # (killed at, old pid)

    # -- lifecycle --

    def start_workers(self) -> None:
        self.generation += 1
        log = self.home.path / "supervisor.log"
        self.run.supervisor_log = log
        with open(log, "a") as f:
            f.write(f"\n==== longtask worker #{self.generation} at t={self.run.t():.1f}s ====\n")
        self.workers = Workers(self.home.env, self.cfg.concurrency, log)

    def submit(self) -> None:
        args = ["submit", *map(str, self.run.files), "--json"]
        if self.cfg.backoff is not None:
            args += ["--backoff", str(self.cfg.backoff)]
        self.run.started = time.time()
        out = read_json(self.home, *args, timeout=120)
        if out is None:
            raise RuntimeError("submit failed")
        self.run.job = int(out["id"])

    def poll(self) -> dict[str, Any] | None:
        """Read `status --json`: the job's state and each running attempt's checkpoint."""
        snap = read_json(self.home, "status", str(self.run.job), "--json", timeout=30)
        if snap is None:
            return None
        now = time.time()
        self.run.pages_seen.append((now, int(snap["job"]["pages_done"])))
        for r in snap["running"]:
            key = (int(r["id"]), int(r["attempts"]))
            seen = self.run.seen.setdefault(key, Seen())
            if int(r["pages_done"]) >= seen.pages:
                seen.pages = int(r["pages_done"])
                seen.progress_at = float(r["progress_at"] or 0.0)
        self._watch_redis()
        return snap

    def _watch_redis(self) -> None:
        if self._redis_watch is None:
            return
        killed_at, old = self._redis_watch
        pid = self.home.redis_pid()
        if pid is not None and pid != old:
            back = time.time()
            self.run.redis_down[-1] = (killed_at, back, pid)
            say(f"  built-in Redis back after {back - killed_at:.1f}s (pid {pid})")
            self._redis_watch = None

    # -- faults --

    def _running_tasks(self, snap: dict[str, Any] | None) -> dict[str, int]:
        """Worker name -> task id, for the tasks `status` lists as running."""
        return {r["worker"]: int(r["id"]) for r in (snap or {}).get("running", []) if r.get("worker")}

    def fault(self, snap: dict[str, Any] | None) -> bool:
        """One fault of a kind drawn by the seeded RNG; False when it found nothing to hit
        (no horse running, Redis already down), so the loop tries again a second later."""
        kinds = [k for k in KINDS if self.cfg.weights.get(k, 0) > 0]
        if not kinds:
            return False
        kind = self.rng.choices(kinds, weights=[self.cfg.weights[k] for k in kinds])[0]
        assert self.workers is not None
        by_worker = self._running_tasks(snap)
        detail, targets = "", []
        if kind in ("horse", "worker"):
            # pid -> (its worker process, that worker's name)
            victims = (
                self.workers.horses()
                if kind == "horse"
                else {w: (w, name) for w, name in self.workers.worker_pids().items()}
            )
            if not victims:
                self.run.skipped[kind] += 1
                return False
            pid = self.rng.choice(sorted(victims))
            wpid, name = victims[pid]
            targets = [by_worker[name]] if name in by_worker else []
            sigkill(pid)
            detail = (
                f"horse {pid} of worker {wpid} ({name}), task {targets or '?'}"
                if kind == "horse"
                else f"worker process {pid} ({name}), task {targets or 'none'}"
            )
        elif kind == "tree":
            targets = sorted(by_worker.values())
            killed = self.workers.kill_tree()
            detail = f"supervisor {self.workers.pid} and {len(killed) - 1} descendants; restarted"
            self.start_workers()
        elif kind == "redis":
            rpid = self.home.redis_pid()
            if rpid is None:
                self.run.skipped[kind] += 1  # already down: nothing to kill
                return False
            sigkill(rpid)
            wait_gone([rpid], 5)
            targets = sorted(by_worker.values())
            self.run.redis_down.append((time.time(), None, None))
            self._redis_watch = (time.time(), rpid)
            detail = f"built-in Redis {rpid}"
        elif kind == "cancel":
            t0 = time.monotonic()
            grace = [] if self.cfg.cancel_grace is None else ["--grace", str(self.cfg.cancel_grace)]
            c = self.home.cli("cancel", str(self.run.job), *grace, "--json")
            r = self.home.cli("resume", str(self.run.job), "--json")
            targets = sorted(by_worker.values())
            detail = (
                f"cancel rc={c.returncode} {c.stdout.strip() or c.stderr.strip()[-200:]}; "
                f"resume rc={r.returncode} {r.stdout.strip() or r.stderr.strip()[-200:]} "
                f"({time.monotonic() - t0:.1f}s)"
            )
        f = Fault(self.run.t(), time.time(), kind, detail, targets)
        self.run.faults.append(f)
        say(f"t={f.t:6.1f}s fault {len(self.run.faults):3d} {kind:<6} {detail}")
        return True

    # -- the loop --

    def drive(self) -> None:
        """Submit, start workers, fault until the window closes, wait for the job to end."""
        cfg = self.cfg
        self.submit()
        say(f"job {self.run.job}: {len(self.run.files)} documents submitted; seed {cfg.seed}")
        self.start_workers()
        next_fault = self.rng.uniform(*cfg.every)
        state = ""
        while self.run.t() < cfg.deadline:
            snap = self.poll()
            if snap is not None:
                state = snap["job"]["state"]
                if state in FINAL:
                    break
            if self.workers is not None and not self.workers.running():
                say(f"the supervisor exited ({self.workers.proc.returncode}); starting it again")
                self.start_workers()
            if self.run.t() >= next_fault and self.run.t() < cfg.fault_window:
                hit = self.fault(snap)
                next_fault = self.run.t() + (self.rng.uniform(*cfg.every) if hit else 1.0)
            time.sleep(max(0.0, min(1.0, next_fault - self.run.t())))
        self.run.wall = self.run.t()
        self.run.state = state
        say(f"job {self.run.job} {state or 'unknown'} after {self.run.wall:.1f}s")

    def read_back(self) -> None:
        """Each task with its events (`dead show` works for any task), and every chunk."""
        snap = read_json(self.home, "status", str(self.run.job), "--json")
        total = int(snap["job"]["tasks"]) if snap else len(self.run.files)
        self.run.tasks, self.run.ranges = [], []
        for task_id in range(1, total + 1):  # a fresh home: the job's tasks are 1..N
            rec = read_json(self.home, "dead", "show", str(task_id), "--json")
            if rec is not None and rec.get("job_id") == self.run.job:
                self.run.tasks.append(rec)
        # Then the page ranges of its split documents: rows no command lists (a user sees
        # one document), read from the store file as `dead show` would give each.
        from longtask.jobs.states import STATES
        from longtask.jobs.store import SqliteConnector, Store

        store = Store(SqliteConnector(self.home.db))
        try:
            tasks = store.tasks_in(self.run.job, STATES, ranges=True)
            self.run.ranges = [store.task_record(t.id) for t in tasks if t.part_of is not None]
        finally:
            store.close()
        out = self.home.path / "export.jsonl"
        r = self.home.cli("export", str(self.run.job), "--format", "jsonl", "--output", str(out), timeout=300)
        if r.returncode == 0:
            self.run.chunks = [json.loads(line) for line in out.read_text().splitlines() if line]
        else:
            say(f"export exited {r.returncode}: {r.stderr.strip()[-300:]}")

    def close(self) -> None:
        if self.workers is not None:
            self.workers.stop(grace=5)
        self.home.kill_everything()


@contextmanager
def chaos_run(config: Config, home_dir: Path, files: list[Path]) -> Iterator[Run]:
    """Run the job under faults and read it back; every process is killed on the way out."""
    home = chaos_home(home_dir, config.page_batch, config.batch_delay, config.lease)
    run = Run(config, home, files)
    driver = Chaos(run)
    try:
        driver.drive()
        driver.close()  # stopped before the read-back, so nothing moves under it
        driver.read_back()
        yield run
    finally:
        driver.close()


def clean_run(config: Config, home_dir: Path, files: list[Path]) -> Run:
    """The same corpus with no faults, through real workers in a second home."""
    quiet = Config(**{**config.__dict__, "weights": {}, "fault_window": 0.0})
    with chaos_run(quiet, home_dir, files) as run:
        return run


# ---- the clean reference, in process -------------------------------------------------


def expected_chunks(
    files: Sequence[Path], precision: str, page_batch: int
) -> dict[str, list[dict[str, Any]]]:
    """What a straight run produces per document (by file name): the real model, in process.

    A worker's own path (`document.run_through`) with the real model; `precision` is
    the one the job ran with (the export names it in each chunk's model).
    """
    from longtask.pipelines import embed, engines
    from longtask.pipelines.document import run_through
    from longtask.settings import Pipeline

    p = Pipeline(precision=precision, page_batch=page_batch)
    embed.set_threads(max(1, os.cpu_count() or 1))
    model = engines.load(p.embedder, p.precision, p.embed_batch)
    out: dict[str, list[dict[str, Any]]] = {}
    for path in files:
        batches = run_through(str(path), p, model)
        out[path.name] = [
            {
                "seq": c.seq,
                "page_start": c.page_start,
                "page_end": c.page_end,
                "text": c.text,
                "embedding": [float(x) for x in v],
            }
            for b in batches
            for c, v in zip(b.chunks, b.embeddings)
        ]
    return out


def chunks_by_doc(chunks: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for c in chunks:
        out.setdefault(Path(c["path"]).name, []).append(c)
    for rows in out.values():
        rows.sort(key=lambda c: c["seq"])
    return out


def precision_of(run: Run) -> str:
    """The precision the job embedded with: the export's model name (`.../bf16`), or else
    what 'auto' means in its home (what `submit` resolved it to)."""
    from longtask.pipelines.engines import AUTO, resolve

    models = {c["model"] for c in run.chunks}
    if len(models) == 1:
        return models.pop().rsplit("/", 1)[-1]
    return resolve(AUTO, run.home.path)


# ---- the figures ---------------------------------------------------------------------


@dataclass
class Attempt:
    task: int
    name: str
    number: int
    from_page: int | None = None
    opened_at: float | None = None
    end: str = ""  # the event kind that ended it: done, retrying, dead, canceled, pending
    end_at: float | None = None
    end_detail: dict[str, Any] = field(default_factory=dict)


def attempts_of(task: dict[str, Any]) -> list[Attempt]:
    """A task's attempts from its events: `running`, `opened` (from_page), then how it ended."""
    out: list[Attempt] = []
    name = Path(task["path"]).name
    for e in task["events"]:
        d = e["detail"] or {}
        if e["kind"] == "running":
            out.append(Attempt(task["id"], name, int(d.get("attempt", len(out) + 1))))
        elif not out:
            continue
        elif e["kind"] == "opened" and out[-1].from_page is None:
            out[-1].from_page, out[-1].opened_at = int(d["from_page"]), float(e["at"])
        elif e["kind"] in ("done", "retrying", "dead", "canceled", "pending", "cached") and not out[-1].end:
            out[-1].end, out[-1].end_at, out[-1].end_detail = e["kind"], float(e["at"]), d
    return out


COOPERATIVE = ("canceled while running", "worker stopping")


@dataclass
class Interruption:
    attempt: Attempt
    next_from: int
    seen: int
    lost: int
    bound: int
    estimate: float
    cause: str  # the fault kind that preceded it most closely, or "?"


def interruptions(run: Run, ranges: bool = False) -> list[Interruption]:
    """Every attempt that ended short of the document's end and was followed by another;
    with `ranges`, of the big documents' page ranges instead. A range's progress is not
    in the job's snapshots (a user sees one document), so what its attempt is known to
    have committed is where it began: a later attempt that begins before it went back."""
    batch = run.config.page_batch
    out = []
    for task in run.ranges if ranges else run.tasks:
        total = int(task["pages_total"] or 0)
        atts = [a for a in attempts_of(task) if a.from_page is not None]
        for a, b in itertools.pairwise(atts):
            assert b.from_page is not None
            seen = run.seen.get((a.task, a.number), Seen(pages=a.from_page or 0))
            lost = max(0, seen.pages - b.from_page)
            reason = str(a.end_detail.get("reason", ""))
            cooperative = a.end in ("canceled", "pending") and reason.startswith(COOPERATIVE)
            bound = 0 if cooperative else min(batch, max(0, total - b.from_page))
            estimate = float(bound)
            ended = a.end_at or (b.opened_at or 0.0)
            cause = _cause(run, a, ended)
            if cause is not None and cause.kind == "tree":
                ended = cause.clock  # found later by the lease; it died at the kill
            if bound and a.opened_at is not None and seen.progress_at and seen.pages == b.from_page:
                committed = seen.pages - (a.from_page or 0)
                pace = (seen.progress_at - a.opened_at) / committed if committed > 0 else 0.0
                if pace > 0:
                    estimate = min(float(bound), max(0.0, ended - seen.progress_at) / pace)
            out.append(
                Interruption(a, b.from_page, seen.pages, lost, bound, estimate, cause.kind if cause else "?")
            )
    return out


def _cause(run: Run, a: Attempt, ended: float) -> Fault | None:
    """The last fault before the attempt ended (and after it opened)."""
    before = [f for f in run.faults if (a.opened_at or 0) - 1 <= f.clock <= ended + 0.5]
    return before[-1] if before else None


def longest_stall(run: Run) -> float:
    """Longest time the job's pages_done did not move, from its first committed page to
    its end (the first model load is start-up, not a stall)."""
    worst, last_change, last = 0.0, None, None
    for at, pages in run.pages_seen:
        if pages == 0:
            continue
        if last is None or pages != last:
            if last_change is not None:
                worst = max(worst, at - last_change)
            last_change, last = at, pages
    if last_change is not None and run.pages_seen:
        worst = max(worst, run.pages_seen[-1][0] - last_change)
    return worst


def worker_exits(run: Run) -> Counter[str]:
    """How the runs that lost their worker process ended, from the events' messages:
    'signal 9' is a kill (ours, or the OOM killer's); 'exit code N' a worker that quit."""
    out: Counter[str] = Counter()
    for t in run.tasks:
        for a in attempts_of(t):
            m = re.search(r"worker process \S+ died \(([^)]*)\)", str(a.end_detail.get("message", "")))
            if m:
                out[m.group(1)] += 1
    return out


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


def compare(got: dict[str, list[dict[str, Any]]], want: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Problems: missing, extra or duplicate chunks, changed text or span, embeddings apart."""
    problems = []
    for name, rows in sorted(want.items()):
        have = got.get(name, [])
        seqs = [c["seq"] for c in have]
        dups = sorted({s for s in seqs if seqs.count(s) > 1})
        if dups:
            problems.append(f"{name}: duplicate (doc, seq) {dups[:10]}")
        a = [(c["seq"], c["page_start"], c["page_end"], c["text"]) for c in have]
        b = [(c["seq"], c["page_start"], c["page_end"], c["text"]) for c in rows]
        if a != b:
            first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            problems.append(
                f"{name}: chunks differ from the clean run ({len(a)} vs {len(b)} chunks; first "
                f"difference at index {first})"
            )
            continue
        worst = min((cosine(x["embedding"], y["embedding"]) for x, y in zip(have, rows)), default=1.0)
        if worst < 0.999:
            problems.append(f"{name}: an embedding is at cosine {worst:.5f} to the clean run's (< 0.999)")
    for name in sorted(set(got) - set(want)):
        problems.append(f"{name}: chunks of a document that is not in the corpus")
    return problems


@dataclass
class Report:
    lines: list[str]
    problems: list[str]
    figures: dict[str, Any]

    def text(self) -> str:
        return "\n".join(self.lines)


def report(run: Run, want: dict[str, list[dict[str, Any]]] | None, clean_wall: float | None = None) -> Report:
    """Figures (faults, pages, pages redone, wall time) and the problems against issue 8."""
    cfg = run.config
    faults = Counter(f.kind for f in run.faults)
    ints = interruptions(run)
    cut = interruptions(run, ranges=True)
    pages = sum(int(t["pages_total"] or 0) for t in run.tasks)
    lost = sum(i.lost for i in ints) + sum(i.lost for i in cut)
    bound = sum(i.bound for i in ints) + lost
    estimate = sum(i.estimate for i in ints) + lost
    budget = cfg.page_batch * len(run.faults)
    stall = longest_stall(run)
    figures: dict[str, Any] = {
        "seed": cfg.seed,
        "state": run.state,
        "faults": dict(faults),
        "faults_total": len(run.faults),
        "skipped": dict(run.skipped),
        "pages": pages,
        "interrupted_attempts": len(ints),
        "page_ranges": len(run.ranges),
        "interrupted_range_attempts": len(cut),
        "interrupted_by": dict(Counter(i.cause for i in ints)),
        "pages_lost": lost,
        "pages_redone_estimate": round(estimate, 1),
        "pages_redone_bound": bound,
        "redone_budget": budget,
        "wall_s": round(run.wall, 1),
        "clean_wall_s": round(clean_wall, 1) if clean_wall else None,
        "longest_stall_s": round(stall, 1),
        "redis_downtime_s": [round((b or run.started + run.wall) - a, 1) for a, b, _ in run.redis_down],
        "worker_exits": dict(worker_exits(run)),
        "kills_counted": sum(int(t["kills"] or 0) for t in run.tasks),
        "attempts": sum(int(t["attempts"] or 0) for t in run.tasks),
    }
    lines = [
        f"seed {cfg.seed}: job {run.state or 'did not end'} after {run.wall:.1f}s"
        + (
            f" (clean run {clean_wall:.1f}s, x{run.wall / clean_wall:.2f}"
            + ("" if run.state == "succeeded" else "; not comparable: the job did not finish")
            + ")"
            if clean_wall
            else ""
        ),
        f"faults: {len(run.faults)} "
        + ", ".join(f"{k} {faults[k]}" for k in KINDS if faults[k])
        + (f" (drawn with nothing to hit, drawn again: {dict(run.skipped)})" if run.skipped else ""),
        f"pages: {pages} in {len(run.tasks)} documents, batch {cfg.page_batch}",
        f"pages redone: about {estimate:.0f} (at most {bound}; {lost} committed pages lost) over "
        f"{len(ints)} interrupted attempts; budget one batch a fault = {budget}",
        f"page ranges: {len(run.ranges)}, {len(cut)} interrupted attempts, at most "
        f"{sum(i.bound for i in cut)} pages redone (one batch each; their progress is not sampled)",
        f"longest time with no page committed: {stall:.1f}s",
        f"attempts {figures['attempts']} for {len(run.tasks)} documents; kills counted against "
        f"documents {figures['kills_counted']}; runs that lost their worker process: "
        + (", ".join(f"{n} x {how}" for how, n in figures["worker_exits"].items()) or "none"),
        "built-in Redis downtime (s): "
        + (", ".join(str(x) for x in figures["redis_downtime_s"]) or "never killed"),
    ]
    problems: list[str] = []
    if run.state != "succeeded":
        problems.append(f"the job ended {run.state or 'not at all (deadline)'}, not succeeded")
    if want is not None:
        problems += compare(chunks_by_doc(run.chunks), want)
    if lost:
        problems.append(f"{lost} committed pages were done again (a checkpoint went backwards)")
    if estimate > budget:
        problems.append(f"pages redone ({estimate:.0f}) exceed one batch a fault ({budget})")
    return Report(lines, problems, figures)


def diagnosis(run: Run) -> str:
    """Each document's state, error, attempts and kills, how each attempt ended, the fault log."""
    out = ["documents:"]
    for t in run.tasks:
        out.append(
            f"  task {t['id']} {Path(t['path']).name}: {t['state']}, pages {t['pages_done']}/"
            f"{t['pages_total']}, attempts {t['attempts']}, kills {t['kills']}"
        )
        if t.get("error_type"):
            out.append(f"    {t['error_type']}: {t['error_message']}")
        out += [
            _attempt_line(run, a, "    ", run.seen.get((a.task, a.number), Seen())) for a in attempts_of(t)
        ]
        for r in run.ranges:
            if r["path"] != t["path"]:
                continue
            out.append(
                f"    range task {r['id']}: {r['state']}, pages to {r['pages_done']}/{r['pages_total']}, "
                f"attempts {r['attempts']}, message {r.get('rq_id')}"
            )
            out += [_attempt_line(run, a, "      ") for a in attempts_of(r)]
    out.append("faults:")
    for i, f in enumerate(run.faults, 1):
        out.append(
            f"  {i:3d} t={f.t:6.1f}s {time.strftime('%H:%M:%S', time.localtime(f.clock))} "
            f"{f.kind:<6} {f.detail}"
        )
    out.append("redis:")
    for killed_at, back_at, new_pid in run.redis_down:
        back = f"back after {back_at - killed_at:.1f}s (pid {new_pid})" if back_at else "not seen back"
        out.append(f"  killed at t={killed_at - run.started:.1f}s, {back}")
    out.append("supervisor and worker log (warnings, last 40):")
    out += ["  " + line for line in _log_tail(run)]
    return "\n".join(out)


def _attempt_line(run: Run, a: Attempt, indent: str, seen: Seen | None = None) -> str:
    """How one attempt went; `seen`: how far the snapshots saw it (a range's are not sampled)."""
    why = a.end_detail.get("message") or a.end_detail.get("reason") or ""
    at = f"t={a.end_at - run.started:.1f}s" if a.end_at else ""
    got = f", seen to {seen.pages}" if seen is not None else ""
    return (
        f"{indent}attempt {a.number}: from page {a.from_page}{got}, "
        f"ended {a.end or 'running'} {at} {a.end_detail.get('error_type', '')} {why}"
    ).rstrip()


def _log_tail(run: Run, n: int = 40) -> list[str]:
    lines: list[str] = []
    for path in (run.supervisor_log, run.home.path / "logs" / "worker.log"):
        if path is not None and path.exists():
            lines += [
                f"{path.name}: {line}"
                for line in path.read_text(errors="replace").splitlines()
                if any(w in line for w in ("WARNING", "ERROR", "Error", "error", "died", "===="))
            ]
    return lines[-n:]
