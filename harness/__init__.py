"""The harness that the tests and the benchmarks share: real parts, started and stopped.

tests/ and bench/ both import it and never each other. It is no part of the product
(the wheel ships `longtask*` only), and it imports nothing from tests/ or bench/.

- `fakes`: the test embedders, plugged in by name (`LONGTASK_EMBEDDER=harness.fakes:...`);
- `home`: a private LONGTASK_HOME and the environment that points the CLI at it;
- `redis_server`: a redis-server of one's own, to kill, restart or flush;
- `postgres`: a fresh database on the machine's PostgreSQL;
- `processes`: a process tree through /proc (children, kill, wait until gone);
- `workers`: a real `longtask worker` supervisor and what runs under it;
- `waiting`: polling until something holds, and draining queued work in process;
- `pdfs`: real PDFs whose text is known (text, outlined, scanned);
- `hosts`: several hosts on one machine (network namespaces, Redis, PostgreSQL);
- `chaos`: the seeded fault run against real workers, and its report.

Worker processes import the fakes by name, so every environment made here puts the
repository root (`ROOT`) on PYTHONPATH.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DOCS = ROOT / "sample_docs"
