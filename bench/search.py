"""Search: speed of the vector index, `longtask search` wall time, stale chunks after a
re-run, and quality of vector, keyword and hybrid search, in one run.

- warm query p95 over 1,000,000 synthetic 384-d chunks (clustered unit vectors), with
  the raw limit beside it: one numpy matrix-vector product over the same matrix.
- `longtask search` wall time on a 100,000-chunk SQLite store (a new process each
  call): cold (the index is built), warm, and keyword-only (no model loaded).
- catch-up of the index after 10,000 new chunks.
- stale or deleted chunks returned after a re-run (a file changed, one deleted, one
  renamed), through `longtask run`, on SQLite and PostgreSQL.
- known-item hit@1/hit@10 per mode with the real model on the mixed real-like corpus
  (bench/mixed.py, queries as bench/quality.py cuts them), and identifiers that occur
  once (a fault code in one chunk) found first, on both stores.

Run as `python -m bench.search [--quick]`; a table on stderr, one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness import ROOT
from harness.fakes import HASH

DIM = 384
LONGTASK = str(Path(sys.executable).parent / "longtask")  # what a user runs
PG = os.environ.get("LONGTASK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def p95(times: list[float]) -> float:
    return float(np.percentile(np.asarray(times) * 1000, 95))


# ---- synthetic vectors -------------------------------------------------------------------


def clustered(n: int, seed: int = 1, clusters: int = 2000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, DIM), dtype=np.float32)
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        block = centres[rng.integers(0, clusters, m)] + 0.6 * rng.standard_normal((m, DIM), dtype=np.float32)
        out[start : start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def index_speed(n: int, queries: int = 60) -> dict[str, float]:
    """p95 of VectorIndex.search over n rows (all documents allowed) vs the raw product."""
    from longtask.search.vectors import State, VectorIndex, sign_bits

    folder = Path(tempfile.mkdtemp(prefix="lt-index-"))
    try:
        vectors = clustered(n)
        docs = (np.arange(n) // 300).astype(np.int32)
        vectors.tofile(folder / "vectors.f32")
        np.arange(1, n + 1, dtype=np.int64).tofile(folder / "ids.i64")
        docs.tofile(folder / "docs.i32")
        with open(folder / "bits.u8", "wb") as f:
            for start in range(0, n, 100_000):
                f.write(sign_bits(vectors[start : start + 100_000]).tobytes())
        keys = [f"doc{i}" for i in range(int(docs.max()) + 1)]
        (folder / "docs.json").write_text(json.dumps(keys))
        (folder / "state.json").write_text(json.dumps(State(DIM, n, n, 0).__dict__))
        index = VectorIndex(folder, "bench")
        rng = np.random.default_rng(2)
        qs = vectors[rng.integers(0, n, queries)] + 0.1 * rng.standard_normal(
            (queries, DIM), dtype=np.float32
        )
        matrix = np.memmap(folder / "vectors.f32", np.float32, "r", shape=(n, DIM))
        index.search(qs[0], keys, 10)  # warm: mapped, pages cached
        ours, raw, recall = [], [], []
        for q in qs:  # interleaved, so a neighbour's burst hits both alike
            t = time.perf_counter()
            got = index.search(q, keys, 10)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            scores = matrix @ q
            raw.append(time.perf_counter() - t)
            exact = set((np.argpartition(-scores, 10)[:10] + 1).tolist())
            recall.append(len(exact & {i for i, _ in got}) / 10)
        return {
            "rows": n,
            "median_ms": float(np.median(ours) * 1000),
            "p95_ms": p95(ours),
            "raw_p95_ms": p95(raw),
            "ratio": p95(ours) / p95(raw),
            "recall10": float(np.mean(recall)),
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# ---- a store filled directly -----------------------------------------------------------------


def fill(
    store: Any,
    collection: str,
    pipeline: Any,
    texts: list[str],
    vectors: np.ndarray,
    model: str,
    per_doc: int,
) -> None:
    """Documents of `per_doc` chunks each, current in `collection`, written as a run would."""
    from longtask.jobs.store.output import encode
    from longtask.pipelines.hashing import text_hash

    now = time.time()
    with store.db.write() as c:
        if store.db.one("SELECT 1 FROM collections WHERE name = ?", (collection,)) is None:
            c.execute(
                "INSERT INTO collections (name, model, pipeline, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                (collection, pipeline.model_key, json.dumps(pipeline.as_dict()), now, now),
            )
    start = int(store.db.scalar("SELECT count(*) FROM documents") or 0)
    for d0 in range(0, len(texts), per_doc * 200):
        with store.db.write() as c:
            rows, docs, entries = [], [], []
            for i in range(d0, min(len(texts), d0 + per_doc * 200)):
                d, seq = start + i // per_doc, i % per_doc
                key = f"bench{d}"
                if seq == 0:
                    docs.append((key, key, "bench", 1, 1, per_doc, 1, now))
                    entries.append((collection, f"/bench/doc{d}.pdf", key, d, now))
                rows.append((key, seq, 1, 1, texts[i], encode(vectors[i]), model, text_hash(texts[i])))
            c.executemany(
                "INSERT INTO documents (key, sha256, fingerprint, pages_total, pages_done, chunks_done, "
                "complete, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                docs,
            )
            c.executemany("INSERT INTO entries VALUES (?, ?, ?, ?, ?)", entries)
            c.executemany(
                "INSERT INTO chunks (doc_key, seq, page_start, page_end, text, embedding, model, text_hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )


def words(n: int, seed: int) -> list[str]:
    """Texts of 60 words from a 5,000-word vocabulary (keyword search's work is real)."""
    rng = random.Random(seed)
    vocab = [
        "".join(rng.choice("abcdefghiklmnoprstuvy") for _ in range(rng.randint(3, 9))) for _ in range(5000)
    ]
    vocab[:3] = ["granite", "basalt", "quarry"]
    return [" ".join(rng.choice(vocab) for _ in range(60)) for _ in range(n)]


def cli_wall(home: Path, chunks: int) -> dict[str, float]:
    """`longtask search` as a new process on a store of `chunks` chunks, then catch-up."""
    from longtask.jobs.store import SqliteConnector, Store
    from longtask.search.vectors import VectorIndex, folder_for
    from longtask.settings import Pipeline

    store = Store(SqliteConnector(home / "longtask.db"))
    pipe = Pipeline(precision="fp32")
    texts = words(2000, 3)
    vectors = clustered(chunks + 10_000, seed=4)
    t = time.perf_counter()
    fill(store, "default", pipe, [texts[i % 2000] for i in range(chunks)], vectors[:chunks], "bench-384", 100)
    log(f"  filled {chunks} chunks in {time.perf_counter() - t:.1f} s")
    # The same documents in a collection whose query embedder is the test suite's hash
    # embedder: the wall time without loading a model (the query path past the model).
    fast = Pipeline(embedder=HASH, precision="fp32")
    with store.db.write() as c:
        c.execute(
            "INSERT INTO collections (name, model, pipeline, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
            ("fast", fast.model_key, json.dumps(fast.as_dict()), time.time(), time.time()),
        )
        c.execute("INSERT INTO entries SELECT 'fast', path, doc_key, task_id, updated_at FROM entries")
    env = {**os.environ, "LONGTASK_HOME": str(home), "LONGTASK_PRECISION": "fp32", "PYTHONPATH": str(ROOT)}

    def call(*args: str) -> float:
        t = time.perf_counter()
        done = subprocess.run(
            [LONGTASK, "search", "granite basalt quarry", *args],
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        return time.perf_counter() - t

    out = {
        "cold_s": call("--mode", "hybrid"),
        "warm_s": call("--mode", "hybrid"),
        "vector_s": call("--mode", "vector"),
        "keyword_s": call("--mode", "keyword"),
        "no_model_hybrid_s": call("--mode", "hybrid", "--collection", "fast"),
    }
    index = VectorIndex(folder_for(home, "bench-384"), "bench-384")
    fill(store, "default", pipe, [texts[i % 2000] for i in range(10_000)], vectors[chunks:], "bench-384", 100)
    t = time.perf_counter()
    added = index.catch_up(store)
    out["catch_up_10k_s"] = time.perf_counter() - t
    assert added == 10_000
    return out


# ---- stale chunks after a re-run ----------------------------------------------------------


def stale_after_rerun(backend: str) -> int | None:
    from harness.pdfs import make_text_pdf
    from longtask.jobs.store import open_store
    from longtask.search import MODES, Query, search
    from longtask.settings import load

    home = Path(tempfile.mkdtemp(prefix="lt-stale-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LONGTASK_")}
    env.update(LONGTASK_HOME=str(home / "home"), LONGTASK_EMBEDDER=HASH, PYTHONPATH=str(ROOT))
    db = None
    if backend == "postgres":
        import psycopg

        db = f"lt_bench_{os.getpid()}"
        try:
            with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{db}"')
        except psycopg.OperationalError:
            return None
        env["LONGTASK_DATABASE_URL"] = f"{PG}/{db}"
    try:
        docs = home / "docs"
        docs.mkdir()
        topics = ["granite basalt", "violin cello", "comet nebula", "tidal anemone", "saffron cumin"]
        for i, t in enumerate(topics):
            make_text_pdf(docs / f"d{i}.pdf", [f"Document {i}. " + f"{t} " * 40])

        def run() -> None:
            done = subprocess.run(
                [LONGTASK, "run", str(docs), "-c", "1"],
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == 0, done.stderr[-2000:]

        run()
        (docs / "d0.pdf").unlink()
        make_text_pdf(docs / "d0.pdf", ["Document zero, rewritten. " + "obsidian pumice " * 40])  # changed
        (docs / "d1.pdf").unlink()  # deleted
        os.rename(docs / "d2.pdf", docs / "moved.pdf")  # renamed
        run()
        old = os.environ.copy()
        os.environ.update(env)
        try:
            settings = load()
            store = open_store(settings)
            stale = 0
            for word in ("granite", "violin", "comet"):
                for mode in MODES:
                    for r in search(store, Query(word, k=50, mode=mode), home=settings.home):
                        gone = word in ("granite", "violin") and word in r["text"]
                        misnamed = (
                            word == "comet" and word in r["text"] and not r["path"].endswith("moved.pdf")
                        )
                        stale += int(gone or misnamed)
            store.close()
        finally:
            os.environ.clear()
            os.environ.update(old)
        return stale
    finally:
        subprocess.run([LONGTASK, "server", "stop"], env=env, capture_output=True, timeout=60)
        shutil.rmtree(home, ignore_errors=True)
        if db:
            import psycopg

            with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


# ---- quality with the real model ----------------------------------------------------------------


class Corpus:
    """The mixed real-like chunks with 50 fault codes planted, one chunk each, embedded
    once by the real model; known-item queries cut from them; every query embedded once."""

    def __init__(self, per_kind: int, n_queries: int, model: Any) -> None:
        from bench.quality import chunks, queries

        self.texts, _ = chunks(per_kind)
        rng = random.Random(9)
        self.ids: list[tuple[str, int]] = []
        for i in rng.sample(range(len(self.texts)), min(50, len(self.texts) // 4)):
            letters = "ABCDEFGHJKLMNPRSTUVWXZ"
            code = f"{rng.choice(letters)}{rng.choice(letters)}-{rng.randint(1000, 9999)}"
            self.texts[i] += f" Fault {code} is raised when this happens."
            self.ids.append((code, i))
        self.qs = queries(self.texts, n_queries)
        self.vectors = model.embed(self.texts)
        asked = [q for q, _ in self.qs] + [f"what does fault {code} mean" for code, _ in self.ids]
        self.query_vectors = dict(zip(asked, model.embed(asked)))

    name = "minilm fp32, queries embedded ahead"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self.query_vectors[t] for t in texts])


def quality(backend: str, corpus: Corpus) -> dict[str, Any] | None:
    from longtask.jobs.store import Store, open_store
    from longtask.search import MODES, Query, search
    from longtask.settings import Pipeline, Settings

    texts, ids, qs, vectors, model = corpus.texts, corpus.ids, corpus.qs, corpus.vectors, corpus
    home = Path(tempfile.mkdtemp(prefix="lt-quality-"))
    db = None
    try:
        if backend == "postgres":
            import psycopg

            db = f"lt_benchq_{os.getpid()}"
            try:
                with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "{db}"')
            except psycopg.OperationalError:
                return None
            settings = Settings(home=home, database_url=f"{PG}/{db}")
        else:
            settings = Settings(home=home)
        store: Store = open_store(settings)
        fill(store, "q", Pipeline(precision="fp32"), texts, vectors, "bench-real", 10)
        index_of = {(f"/bench/doc{i // 10}.pdf", i % 10): i for i in range(len(texts))}

        def ranked(text: str, mode: str) -> list[int]:
            # "hybrid-rrf": hybrid with reciprocal-rank fusion, for comparison.
            fusion = "rrf" if mode == "hybrid-rrf" else "score"
            query = Query(text, k=10, mode=mode.removesuffix("-rrf"), collection="q", fusion=fusion)
            hits = search(store, query, home=settings.home, embedder_for=lambda _: model)
            return [index_of[(h["path"], h["seq"])] for h in hits]

        out: dict[str, Any] = {"chunks": len(texts), "queries": len(qs), "identifiers": len(ids)}
        for mode in (*MODES, "hybrid-rrf"):
            h1 = h10 = 0
            t = time.perf_counter()
            for q, relevant in qs:
                got = ranked(q, mode)
                h1 += int(bool(got) and got[0] in relevant)
                h10 += int(any(g in relevant for g in got))
            per_query = (time.perf_counter() - t) / len(qs)
            first = sum(int(ranked(f"what does fault {code} mean", mode)[:1] == [i]) for code, i in ids)
            out[mode] = {
                "hit1": h1 / len(qs),
                "hit10": h10 / len(qs),
                "identifier_first": first / len(ids),
                "ms_per_query": per_query * 1000,
            }
        store.close()
        return out
    finally:
        shutil.rmtree(home, ignore_errors=True)
        if db:
            import psycopg

            with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--parts", default="index,cli,stale,quality", help="which parts to run")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    big, store_n = (100_000, 20_000) if args.quick else (1_000_000, 100_000)
    result: dict[str, Any] = {"index": {}, "cli": {}, "stale": {}, "quality": {}}
    if "index" in parts:
        log(f"vector index over {big:,} chunks")
        result["index"] = speed = index_speed(big)
        log(
            f"  p95 {speed['p95_ms']:.1f} ms, median {speed['median_ms']:.1f} ms (one exact product "
            f"{speed['raw_p95_ms']:.1f} ms), recall@10 {speed['recall10']:.3f}"
        )
    if "cli" in parts:
        home = Path(tempfile.mkdtemp(prefix="lt-cli-"))
        try:
            log(f"`longtask search` on a {store_n:,}-chunk store")
            result["cli"] = cli_wall(home, store_n)
            log("  " + ", ".join(f"{k} {v:.2f}" for k, v in result["cli"].items()))
        finally:
            shutil.rmtree(home, ignore_errors=True)
    for backend in ("sqlite", "postgres") if "stale" in parts else ():
        log(f"stale chunks after a re-run ({backend})")
        result["stale"][backend] = n = stale_after_rerun(backend)
        log(f"  {n}")
    corpus = None
    if "quality" in parts:
        from longtask.pipelines import engines

        corpus = Corpus(4 if args.quick else 8, 100 if args.quick else 300, engines.load("minilm", "fp32"))
    for backend in ("sqlite", "postgres") if corpus else ():
        assert corpus is not None
        log(f"quality, real model ({backend})")
        result["quality"][backend] = q = quality(backend, corpus)
        if q:
            for mode in ("vector", "keyword", "hybrid", "hybrid-rrf"):
                m = q[mode]
                log(
                    f"  {mode:10} hit@1 {m['hit1']:.3f} hit@10 {m['hit10']:.3f} "
                    f"identifier first {m['identifier_first']:.2f} ({m['ms_per_query']:.1f} ms/query)"
                )
    speed, cli, stale = result["index"], result["cli"], result["stale"]
    table: list[tuple[str, str, str]] = []
    if speed:
        table += [
            (
                "warm query p95, 1M x 384 (ms)",
                f"{speed['p95_ms']:.1f} (median {speed['median_ms']:.1f})",
                "<= 50",
            ),
            ("recall@10 vs exact (sign bits + float32 rescore)", f"{speed['recall10']:.3f}", ">= 0.95"),
        ]
    if cli:
        table += [
            ("`longtask search` wall, 100k store, warm (s)", f"{cli['warm_s']:.2f}", "<= 1.0"),
            ("  keyword mode, no model (s)", f"{cli['keyword_s']:.2f}", ""),
            ("  hybrid, a query embedder that loads nothing (s)", f"{cli['no_model_hybrid_s']:.2f}", ""),
            ("catch-up after 10,000 new chunks (s)", f"{cli['catch_up_10k_s']:.2f}", "measured"),
        ]
    if stale:
        table.append(
            ("stale/deleted after re-run sqlite / postgres", f"{stale['sqlite']} / {stale['postgres']}", "0")
        )
    for backend, q in result["quality"].items():
        if q:
            h, v = q["hybrid"], q["vector"]
            table.append(
                (
                    f"hit@1 / hit@10 hybrid vs vector ({backend})",
                    f"{h['hit1']:.3f}/{h['hit10']:.3f} vs {v['hit1']:.3f}/{v['hit10']:.3f}",
                    "hybrid >= vector",
                )
            )
            table.append(
                (
                    f"identifier once, first: keyword / hybrid ({backend})",
                    f"{q['keyword']['identifier_first']:.2f} / {h['identifier_first']:.2f}",
                    ">= 0.9",
                )
            )
    width = max((len(r[0]) for r in table), default=0)
    log("\n" + "\n".join(f"{a.ljust(width)}  {b:30}  {c}" for a, b, c in table))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
