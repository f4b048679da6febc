"""The model as an OpenVINO graph, built from the packaged weights without torch.

Why build it by hand: converting the model with OpenVINO's PyTorch frontend imports
torch and sentence-transformers and traces BERT, 15-20 s on a 2-core machine, once per
machine, on the critical path of the first `longtask run`. The architecture is fixed
(BERT, 6 layers, 12 heads, 384 wide, GELU, post-LayerNorm, then sentence-transformers'
mean pooling and normalisation), so the graph is written here with OpenVINO's opset
and the weights are read straight from `model.safetensors`: about a second, numpy and
OpenVINO only. tests/test_engines.py holds it to sentence-transformers fp32 (cosine
0.9999 or more); the hyper-parameters are read from the model's `config.json` and a
model of another shape is refused rather than built wrong.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np

_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a safetensors file as numpy arrays (the format: an 8-byte header
    length, a JSON header of dtype, shape and byte offsets, then the raw data)."""
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    (size,) = struct.unpack("<Q", bytes(raw[:8]))
    header = json.loads(bytes(raw[8 : 8 + size]))
    data = raw[8 + size :]
    out: dict[str, np.ndarray] = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        begin, end = spec["data_offsets"]
        dtype = _DTYPES[spec["dtype"]]
        out[name] = np.frombuffer(bytes(data[begin:end]), dtype=dtype).reshape(spec["shape"])
    return out


def _check(config: dict[str, Any]) -> None:
    expected = {"model_type": "bert", "hidden_act": "gelu", "position_embedding_type": "absolute"}
    wrong = {k: config.get(k) for k, v in expected.items() if config.get(k, v) != v}
    if wrong or config["hidden_size"] % config["num_attention_heads"]:
        raise ValueError(f"not a BERT model this builder knows: {wrong or config}")


def build(model_dir: Path) -> Any:
    """The OpenVINO model: input_ids, attention_mask, token_type_ids (int64, batch x
    tokens) -> unit vectors (float32, batch x hidden)."""
    import openvino as ov
    import openvino.opset13 as op

    config = json.loads((model_dir / "config.json").read_text())
    _check(config)
    w = read_safetensors(model_dir / "model.safetensors")
    hidden, heads = int(config["hidden_size"]), int(config["num_attention_heads"])
    head = hidden // heads
    eps = float(config.get("layer_norm_eps", 1e-12))

    def const(a: Any, dtype: Any = np.float32) -> Any:
        return op.constant(np.array(a, dtype=dtype, order="C"))  # ascontiguousarray makes scalars 1-d

    def layer_norm(x: Any, prefix: str) -> Any:
        normed = op.mvn(x, const([-1], np.int64), True, eps, "inside_sqrt")
        return op.add(op.multiply(normed, const(w[f"{prefix}.weight"])), const(w[f"{prefix}.bias"]))

    def dense(x: Any, prefix: str) -> Any:  # torch's Linear: x @ W^T + b
        product = op.matmul(x, const(w[f"{prefix}.weight"]), False, True)
        product.set_friendly_name(prefix)  # what a quantiser's ignored scope names
        return op.add(product, const(w[f"{prefix}.bias"]))

    inputs = {}
    for name in ("input_ids", "attention_mask", "token_type_ids"):
        p = op.parameter([-1, -1], ov.Type.i64, name=name)
        p.output(0).set_names({name})
        inputs[name] = p
    ids, mask, types = inputs["input_ids"], inputs["attention_mask"], inputs["token_type_ids"]

    zero = const([0], np.int64)
    seq = op.gather(op.shape_of(ids, "i64"), const([1], np.int64), zero)  # [tokens]
    positions = op.range(const(0, np.int64), op.squeeze(seq, zero), const(1, np.int64), "i64")
    x = op.add(
        op.add(
            op.gather(const(w["embeddings.word_embeddings.weight"]), ids, const(0, np.int64)),
            op.gather(const(w["embeddings.token_type_embeddings.weight"]), types, const(0, np.int64)),
        ),
        op.gather(const(w["embeddings.position_embeddings.weight"]), positions, const(0, np.int64)),
    )
    x = layer_norm(x, "embeddings.LayerNorm")

    maskf = op.convert(mask, "f32")  # batch x tokens, 1 for text, 0 for padding
    # Added to the attention scores: 0 for text, a large negative for padding.
    bias = op.unsqueeze(op.multiply(op.subtract(const(1.0), maskf), const(-10000.0)), const([1, 2], np.int64))
    split = const([0, 0, heads, head], np.int64)  # batch, tokens kept from the input
    scale = const(1.0 / np.sqrt(head))

    def heads_of(t: Any) -> Any:  # batch x tokens x hidden -> batch x heads x tokens x head
        return op.transpose(op.reshape(t, split, True), const([0, 2, 1, 3], np.int64))

    for i in range(int(config["num_hidden_layers"])):
        p = f"encoder.layer.{i}"
        q = heads_of(dense(x, f"{p}.attention.self.query"))
        k = heads_of(dense(x, f"{p}.attention.self.key"))
        v = heads_of(dense(x, f"{p}.attention.self.value"))
        product = op.matmul(q, k, False, True)
        product.set_friendly_name(f"{p}.attention.scores")
        scores = op.add(op.multiply(product, scale), bias)
        context = op.matmul(op.softmax(scores, -1), v, False, False)
        context.set_friendly_name(f"{p}.attention.context")
        context = op.reshape(
            op.transpose(context, const([0, 2, 1, 3], np.int64)), const([0, 0, hidden], np.int64), True
        )
        x = layer_norm(
            op.add(dense(context, f"{p}.attention.output.dense"), x), f"{p}.attention.output.LayerNorm"
        )
        inner = op.gelu(dense(x, f"{p}.intermediate.dense"), "erf")
        x = layer_norm(op.add(dense(inner, f"{p}.output.dense"), x), f"{p}.output.LayerNorm")

    # sentence-transformers' Pooling (mean over text tokens) and Normalize.
    weights = op.unsqueeze(maskf, const([-1], np.int64))
    summed = op.reduce_sum(op.multiply(x, weights), const([1], np.int64), False)
    counts = op.maximum(op.reduce_sum(weights, const([1], np.int64), False), const(1e-9))
    pooled = op.divide(summed, counts)
    out = op.normalize_l2(pooled, const([1], np.int64), 1e-12, "max")
    out.output(0).set_names({"embedding"})
    return ov.Model([out], list(inputs.values()), "all-MiniLM-L6-v2")
