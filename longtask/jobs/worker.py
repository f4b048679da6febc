"""A worker process: loads the model once, then takes documents (`python -m
longtask.jobs.worker`, started by the supervisor, `longtask.jobs.supervisor`).

It forks a work horse per message (RQ's forking Worker) that inherits the loaded
model, the tokenizer and the pipeline modules, so a horse pays for none of them.
Nothing in the worker process runs a multi-threaded torch op before forking (a forked
child would deadlock in libgomp); the horse sets its own thread count.
"""

from __future__ import annotations

import gc
import logging
import os
import socket
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import Any

# PDFium loads here, once, not in each forked horse (each would pay its import).
import pypdfium2
import pypdfium2.raw  # noqa: F401

from longtask import settings as settings_mod
from longtask.jobs import logs, messages, queue, recovery, tasks
from longtask.jobs.store import Store, open_store
from longtask.jobs.supervisor import OUTAGE_ERRORS, die_with_parent
from longtask.pipelines import document, engines  # noqa: F401 - document: as the readers
from longtask.pipelines import embed as embed_mod
from longtask.pipelines.chunk import load_tokenizer
from longtask.readers import pdf  # noqa: F401 - imported before forking: horses inherit them

log = logging.getLogger("longtask.worker")


def _horse_killed(store: Store, conn: Any) -> Callable[..., None]:
    outages: tuple[type[BaseException], ...] = (*OUTAGE_ERRORS, *store.OUTAGES)

    def handler(job: Any, retpid: int, ret_val: int, rusage: Any) -> None:
        task_ids = messages.message_tasks(job)
        if not task_ids:
            return
        try:
            how = (
                f"signal {os.WTERMSIG(ret_val)}"
                if ret_val and os.WIFSIGNALED(ret_val)
                else f"status {ret_val}"
            )
            for task_id in task_ids:
                task = store.task(task_id)
                if task.state != "running" or task.rq_id != job.id:
                    continue  # not this message's run (finished, or a newer one holds it)
                # One document of a message runs at a time: this one was running, so
                # the kill may be its doing (retry.decide judges it).
                recovery.give_back(
                    store, conn, task, f"the process working on it was killed ({how})", killed=True
                )
            if len(task_ids) > 1:
                recovery.release_batch(store, conn, [job.id])
        except outages as e:
            # The sweep finds the task later (its run ended without a result).
            log.warning("could not record a killed work horse (%s); the sweep will", e)

    return handler


def worker_main(name: str, threads: int, burst: bool, verbose: bool) -> None:
    parent = os.getpid()

    def prepare_horse() -> None:
        die_with_parent()
        if os.getppid() != parent:
            os._exit(1)  # the worker died between fork and prctl

    settings = settings_mod.load()
    logs.setup(settings.home, verbose, quiet=settings.worker_quiet)
    store = open_store(settings)
    conn = queue.connect(settings)
    store.register_worker(name, os.getpid(), socket.gethostname())
    pipe = settings.pipeline
    embed_mod.set_threads(1)
    wanted = set()
    if pipe.embedder == engines.PACKAGED:
        # No measurement here: 'auto' is decided from the machine's facts at submit, and
        # what takes long (the int8 model and its quality gate) runs in the background,
        # niced, once per machine; a later submit may take it.
        engines.prepare_in_background(settings.home)
        if pipe.precision == engines.AUTO:
            wanted = set(engines.auto_engines())  # a horse cannot compile OpenVINO itself
    pipe = settings.resolved().pipeline
    wanted.add(pipe.precision)
    # Load before forking, single-threaded; each horse raises its own thread count.
    embedders = {
        replace(pipe, precision=p).model_key: engines.load(pipe.embedder, p, pipe.embed_batch) for p in wanted
    }
    for m in embedders.values():
        prepare = getattr(m, "prepare", None)
        if prepare is not None:  # engines that must not compile in a forked horse (OpenVINO)
            prepare(threads)
    process = tasks.Process(name, embedders, threads)
    store.count_model_load(name)
    # Read the tokenizer once here too: every forked horse inherits it instead of
    # parsing tokenizer.json per document.
    load_tokenizer(embed_mod.model_dir())
    # Python's docs: freeze before fork, so a horse's collector does not write to (and
    # so copy) every page of the parent's objects.
    gc.freeze()
    embed_mod.set_threads(1)
    tasks.prepare(process)
    queue.work(conn, name, _horse_killed(store, conn), prepare_horse, burst, verbose)


if __name__ == "__main__":
    worker_main(sys.argv[1], int(sys.argv[2]), sys.argv[3] == "burst", sys.argv[4] == "verbose")
