"""Candidate embedders for the quality benchmark: torch fp32/bf16, ONNX Runtime, OpenVINO.

Every candidate computes the same function: all-MiniLM-L6-v2 from the packaged folder,
mean pooling, L2 normalisation, texts truncated at 256 tokens, batches of 16 sorted by
length. Only the engine and the number format change, so any difference in the vectors
is the engine's.

sentence-transformers reaches ONNX Runtime and OpenVINO through optimum, and on this
project's stack optimum does not install soundly (see `ST_BACKEND_NOTE`), so the engines
are driven directly: the model is exported once to ONNX with torch's own exporter, from
the packaged folder (no hub, no network), into a cache under bench/out/models. The int8
models are made from that export the way sentence-transformers' helpers make theirs:
ONNX Runtime's dynamic quantization of the MatMuls, per channel (what
`export_dynamic_quantized_onnx_model(..., "avx512_vnni")` asks optimum for), and NNCF's
post-training static quantization for OpenVINO (what
`export_static_quantized_openvino_model` runs, calibrated on a few hundred texts).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.corpus import OUT
from longtask.pipelines.engines import PACKAGED, Engine

MODELS = OUT / "models"
MAX_SEQ = 256
BATCH = 16

ST_BACKEND_NOTE = (
    "sentence-transformers 6.2's own backend='onnx'/'openvino' need optimum: optimum-onnx 0.1.0 "
    "(the newest) requires transformers<4.58, below sentence-transformers 6's transformers>=5; "
    "optimum-intel 2.2.0 requires transformers<5.6 and pulls torch 2.14.1 with its CUDA wheels "
    "unless torch is pinned, plus torchvision; so the same engines run here without optimum"
)


class Encoder:
    """texts -> unit vectors (float32, (n, 384)), at a chosen thread count."""

    name: str

    def set_threads(self, n: int) -> None:
        raise NotImplementedError

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError


def label(engine: Engine) -> str:
    """A longtask engine's name in the tables: its runtime and number format."""
    runtime, _, number = engine.value.rpartition("-")
    return f"{runtime or 'torch'} {number}"


class LongtaskEngine(Encoder):
    """One of longtask's own engines, loaded exactly as a worker loads it (the OpenVINO
    IR cached under bench/out)."""

    def __init__(self, engine: Engine) -> None:
        from longtask.pipelines import engines

        os.environ["LONGTASK_MODELS_DIR"] = str(MODELS)
        self.name = label(engine)
        self.model = engines.load(PACKAGED, engine.value, BATCH)

    def set_threads(self, n: int) -> None:
        from longtask.pipelines import embed

        embed.set_threads(n)  # torch's threads, or what OpenVINO reads at its next embed

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self.model.embed(texts)


class _Tokens:
    """The model's fast tokenizer, as sentence-transformers configures it for this model."""

    def __init__(self, model_dir: Path) -> None:
        from tokenizers import Tokenizer

        self.tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tok.enable_truncation(MAX_SEQ)
        self.tok.enable_padding()

    def feeds(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        enc = self.tok.encode_batch(list(texts))
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}


def _batched(texts: Sequence[str], run: Callable[[Sequence[str]], np.ndarray]) -> np.ndarray:
    out = np.zeros((len(texts), 384), dtype=np.float32)
    order = np.argsort([-len(t) for t in texts], kind="stable")  # little padding per batch
    for i in range(0, len(texts), BATCH):
        idx = order[i : i + BATCH]
        out[idx] = run([texts[j] for j in idx])
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


_export_lock = threading.Lock()


def onnx_export(model_dir: Path, folder: Path = MODELS) -> Path:
    """model.onnx: BERT + mean pooling + normalisation in one graph, exported once."""
    path = folder / "model.onnx"
    with _export_lock:
        if path.exists():
            return path
        import torch
        from sentence_transformers import SentenceTransformer

        from longtask.pipelines.embed import _Pooled, one_thread

        folder.mkdir(parents=True, exist_ok=True)
        st = SentenceTransformer(str(model_dir), device="cpu")
        bert = st[0].auto_model.eval()
        pooled = _Pooled(bert, torch)  # the library's own module: the same graph it exports

        feeds = _Tokens(model_dir).feeds(["an example", "a longer example sentence for the export"])
        args = tuple(torch.from_numpy(feeds[k]) for k in ("input_ids", "attention_mask", "token_type_ids"))
        tmp = folder / f"model.onnx.{os.getpid()}.tmp"
        axes = {k: {0: "batch", 1: "seq"} for k in feeds}
        with torch.inference_mode(), one_thread(torch):
            torch.onnx.export(
                pooled,
                args,
                str(tmp),
                input_names=list(feeds),
                output_names=["embedding"],
                dynamic_axes={**axes, "embedding": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
        tmp.replace(path)
        return path


def onnx_int8_dynamic(src: Path) -> Path:
    """Weights int8 per channel, activations quantized on the fly: ONNX Runtime's recipe."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    path = src.with_name("model_qint8_dynamic.onnx")
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        quantize_dynamic(
            str(src), str(tmp), per_channel=True, weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"]
        )
        tmp.replace(path)
    return path


class OrtEncoder(Encoder):
    def __init__(self, name: str, path: Path, model_dir: Path) -> None:
        import onnxruntime as ort

        self.ort = ort
        self.name = name
        self.path = path
        self.tokens = _Tokens(model_dir)
        self.sessions: dict[int, Any] = {}
        self.threads = 1

    def set_threads(self, n: int) -> None:
        self.threads = n

    def _session(self) -> Any:
        if self.threads not in self.sessions:
            opts = self.ort.SessionOptions()
            opts.intra_op_num_threads = self.threads
            opts.inter_op_num_threads = 1
            self.sessions[self.threads] = self.ort.InferenceSession(
                str(self.path), opts, providers=["CPUExecutionProvider"]
            )
        return self.sessions[self.threads]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        session = self._session()
        return _batched(texts, lambda b: session.run(None, self.tokens.feeds(b))[0])


class OvEncoder(Encoder):
    """OpenVINO on the CPU; `hint` is its inference precision (f32, bf16)."""

    def __init__(self, name: str, model: Any, model_dir: Path, hint: str) -> None:
        import openvino as ov

        self.core = ov.Core()
        self.name = name
        self.model = model
        self.hint = hint
        self.tokens = _Tokens(model_dir)
        self.compiled: dict[int, Any] = {}
        self.threads = 1

    def set_threads(self, n: int) -> None:
        self.threads = n

    def _request(self) -> Any:
        if self.threads not in self.compiled:
            compiled = self.core.compile_model(
                self.model,
                "CPU",
                {
                    "INFERENCE_NUM_THREADS": self.threads,
                    "INFERENCE_PRECISION_HINT": self.hint,
                    "PERFORMANCE_HINT": "LATENCY",
                },
            )
            self.compiled[self.threads] = compiled.create_infer_request()
        return self.compiled[self.threads]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        request = self._request()
        return _batched(texts, lambda b: request.infer(self.tokens.feeds(b))[0].copy())


def ov_int8_static(src: Path, calibration: Sequence[str], model_dir: Path) -> Any:
    """NNCF post-training quantization (transformer preset), calibrated on `calibration`."""
    import nncf
    import openvino as ov

    path = src.with_name(f"openvino_model_qint8_static_{len(calibration)}.xml")
    core = ov.Core()
    if not path.exists():
        tokens = _Tokens(model_dir)
        batches = [tokens.feeds(calibration[i : i + BATCH]) for i in range(0, len(calibration), BATCH)]
        quantized = nncf.quantize(
            core.read_model(str(src)),
            nncf.Dataset(batches),
            model_type=nncf.ModelType.TRANSFORMER,
            subset_size=len(batches),
        )
        ov.save_model(quantized, str(path))
    return core.read_model(str(path))


@dataclass(frozen=True)
class Candidate:
    name: str
    needs: tuple[str, ...]  # importable modules; missing ones skip the candidate
    build: Callable[[Path, Sequence[str]], Encoder]  # (model dir, calibration texts)

    def missing(self) -> list[str]:
        return [m for m in self.needs if importlib.util.find_spec(m) is None]


def _ov_model(path: Path) -> Any:
    import openvino as ov

    return ov.Core().read_model(str(path))


CANDIDATES = [
    Candidate(label(Engine.fp32), ("torch",), lambda d, c: LongtaskEngine(Engine.fp32)),
    Candidate(label(Engine.bf16), ("torch",), lambda d, c: LongtaskEngine(Engine.bf16)),
    Candidate("onnx fp32", ("onnxruntime",), lambda d, c: OrtEncoder("onnx fp32", onnx_export(d), d)),
    Candidate(
        "onnx int8 dynamic",
        ("onnxruntime", "onnx"),
        lambda d, c: OrtEncoder("onnx int8 dynamic", onnx_int8_dynamic(onnx_export(d)), d),
    ),
    Candidate(label(Engine.openvino_fp32), ("openvino",), lambda d, c: LongtaskEngine(Engine.openvino_fp32)),
    Candidate(label(Engine.openvino_bf16), ("openvino",), lambda d, c: LongtaskEngine(Engine.openvino_bf16)),
    Candidate(
        "openvino int8 static",
        ("openvino", "nncf"),
        lambda d, c: OvEncoder("openvino int8 static", ov_int8_static(onnx_export(d), c, d), d, "f32"),
    ),
]
