"""Export: ONNX graphs of the fitted heads, their JSON metadata, and the parity fixture."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from dengar_nlp.adapters.encoder import OnnxEncoder
from dengar_nlp.domain.hashed_features import sentiment_features
from dengar_nlp.domain.text import prepare_text

from . import FIXTURE, SEED
from .fit import SentimentStack

logger = logging.getLogger(__name__)


def _mlp_nodes(layers: list[tuple[np.ndarray, np.ndarray]], *, temperature: float | None = None):
    """Initializers and MatMul/Add/Relu nodes of an MLP over the ``embedding`` input, and the name of
    its output (logits). ``temperature`` divides the last layer."""
    from onnx import helper, numpy_helper

    inits, nodes = [], []
    h = "embedding"
    for i, (w, b) in enumerate(layers):
        w = w.astype(np.float32)
        b = b.astype(np.float32)
        if i == len(layers) - 1 and temperature is not None:
            w = (w / np.float32(temperature)).astype(np.float32)
            b = (b / np.float32(temperature)).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"W{i}"), numpy_helper.from_array(b, f"b{i}")]
        nodes += [
            helper.make_node("MatMul", [h, f"W{i}"], [f"mm{i}"]),
            helper.make_node("Add", [f"mm{i}", f"b{i}"], [f"z{i}"]),
        ]
        h = f"z{i}"
        if i < len(layers) - 1:
            nodes.append(helper.make_node("Relu", [h], [f"r{i}"]))
            h = f"r{i}"
    return inits, nodes, h


def _checked_model(graph):
    import onnx
    from onnx import helper

    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="dengar-train_heads"
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def _onnx_graph(name: str, layers: list[tuple[np.ndarray, np.ndarray]], final: str, temperature: float = 1.0):
    from onnx import TensorProto, helper

    dim = layers[0][0].shape[0]
    n_out = layers[-1][0].shape[1]
    # Temperature folded into the last layer: softmax((xW + b) / T) = softmax(x(W/T) + b/T).
    inits, nodes, h = _mlp_nodes(layers, temperature=temperature if final == "softmax" else None)
    if final == "softmax":
        nodes.append(helper.make_node("Softmax", [h], ["probs"], axis=1))
    else:
        nodes.append(helper.make_node("Sigmoid", [h], ["probs"]))
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", dim])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", n_out])],
        inits,
    )
    return _checked_model(graph)


def _sentiment_graph(stack: SentimentStack):
    """``embedding`` [N, 384] + lexical ``ids`` int64 [N, L] / ``values`` float32 [N, L] -> ``probs``.

    The embedding head's logits, the lexical model's log-softmax (a float16 table gathered by bucket id,
    weighted by value and summed, as in ``langid.onnx``; row ``n_buckets`` is the zero padding row) and
    the stacker with the temperature folded in.
    """
    from onnx import TensorProto, helper, numpy_helper

    layers = stack.emb.layers
    dim = layers[0][0].shape[0]
    table = np.zeros((stack.n_buckets + 1, 3), dtype=np.float16)
    table[: stack.n_buckets] = stack.lex_w.astype(np.float16)
    t = np.float32(stack.temperature)
    inits = [
        numpy_helper.from_array(table, "LexW16"),
        numpy_helper.from_array(stack.lex_b.astype(np.float32), "lex_b"),
        numpy_helper.from_array(np.array([2], dtype=np.int64), "axis2"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
        numpy_helper.from_array((stack.stack_w / t).astype(np.float32), "StackW"),
        numpy_helper.from_array((stack.stack_b / t).astype(np.float32), "stack_b"),
    ]
    mlp_inits, nodes, h = _mlp_nodes(layers)
    inits += mlp_inits
    nodes += [
        # Products and sum in float64: a float32 ReduceSum rounds differently with the padded length L,
        # so a post's scores would move with the longest post of its batch.  fp16 x fp32 products are
        # exact in float64, and the float64 sum's order effects vanish when it is rounded to float32.
        helper.make_node("Gather", ["LexW16", "ids"], ["g16"], axis=0),
        helper.make_node("Cast", ["g16"], ["g"], to=TensorProto.DOUBLE),
        helper.make_node("Cast", ["values"], ["v64"], to=TensorProto.DOUBLE),
        helper.make_node("Unsqueeze", ["v64", "axis2"], ["v3"]),
        helper.make_node("Mul", ["g", "v3"], ["gv"]),
        helper.make_node("ReduceSum", ["gv", "axis1"], ["lz64"], keepdims=0),
        helper.make_node("Cast", ["lz64"], ["lz"], to=TensorProto.FLOAT),
        helper.make_node("Add", ["lz", "lex_b"], ["lex_logits"]),
        helper.make_node("LogSoftmax", ["lex_logits"], ["lex_logp"], axis=1),
        helper.make_node("Concat", [h, "lex_logp"], ["stack_in"], axis=1),
        helper.make_node("MatMul", ["stack_in", "StackW"], ["smm"]),
        helper.make_node("Add", ["smm", "stack_b"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "sentiment",
        [
            helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", dim]),
            helper.make_tensor_value_info("ids", TensorProto.INT64, ["N", "L"]),
            helper.make_tensor_value_info("values", TensorProto.FLOAT, ["N", "L"]),
        ],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 3])],
        inits,
    )
    return _checked_model(graph)


def export_head(out_dir: Path, name: str, model, meta: dict) -> str:
    import onnx

    path = out_dir / f"{name}.onnx"
    onnx.save_model(model, str(path))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    meta = {**meta, "file": path.name, "bytes": path.stat().st_size, "sha256": digest}
    (out_dir / f"{name}.json").write_text(
        json.dumps(_jsonable(meta), indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    logger.info("wrote %s (%d bytes, sha256 %s)", path, meta["bytes"], digest[:12])
    return digest


def _jsonable(o):
    if isinstance(o, dict):
        return {str(k): _jsonable(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_jsonable(v) for v in o]
    if isinstance(o, np.floating | float):
        return round(float(o), 6)
    if isinstance(o, np.integer):
        return int(o)
    return o


FIXTURE_SENTENCES = (
    "I love this phone, the camera is amazing",
    "worst airline ever, lost my bag and nobody cares",
    "the meeting has been moved to Thursday",
    "makanannya enak tapi pengirimannya telat banget",
    "aplikasinya error terus dari kemarin, kecewa",
    "harganya terjangkau dan pelayanannya ramah",
    "wis suwe ora mangan sate, enak tenan",
    "",
)


def write_fixture(
    encoder: OnnxEncoder,
    heads: dict[str, Callable[[np.ndarray], np.ndarray]],
    sentiment: SentimentStack,
    path: Path = FIXTURE,
) -> None:
    """Rows 0-7: random unit vectors, rows 8-15: the sentences' head features (their embeddings, unless
    the encoder has a task branch); the sentiment model's
    lexical inputs are the sentences' features for both halves (so that random embeddings meet real
    n-grams too).  The sentences are stored, so the test also checks the featurizer."""
    rng = np.random.default_rng(SEED)
    rand = rng.normal(size=(8, encoder.dim)).astype(np.float32)
    rand /= np.linalg.norm(rand, axis=1, keepdims=True)
    prepared = [prepare_text(t) for t in FIXTURE_SENTENCES]
    texts = encoder.encode_features(prepared)
    x = np.concatenate([rand, texts]).astype(np.float32)
    ids, vals = sentiment_features(prepared + prepared, sentiment.n_buckets)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        embedding=x,
        sentences=np.array(FIXTURE_SENTENCES, dtype=np.str_),
        sentiment_ids=ids,
        sentiment_values=vals,
        sentiment_probs=sentiment.proba(x, ids, vals).astype(np.float32),
        **{f"{k}_probs": f(x).astype(np.float32) for k, f in heads.items()},
    )
    logger.info("wrote parity fixture %s", path)
