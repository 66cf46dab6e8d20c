"""The shipped ONNX heads compute what the training-time (numpy/scikit-learn) models computed.

Each committed model set is checked against its own fixture: the ``fast`` set (``models/heads``) against
``fixtures/heads_parity.npz``, the ``quality`` set (``models/quality/heads``) against
``fixtures/heads_parity_quality.npz``.  Both are written by ``services/nlp/scripts/train_heads.py``:
8 random unit vectors and the embeddings of 8 self-written sentences (no dataset rows), with the
probabilities of the training-time models for each head.  The sentiment model also reads the
sentences' hashed n-gram features (``sentiment_ids`` / ``sentiment_values``, the same 8 sentences for
both halves), which are stored with the sentences so that the serving featurizer is checked against
training's too.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from dengar_nlp.adapters.heads_onnx import OnnxHead
from dengar_nlp.domain.aspects import ASPECT_NAMES
from dengar_nlp.domain.hashed_features import sentiment_features
from dengar_nlp.domain.results import EMOTION_LABELS, SENTIMENT_LABELS
from dengar_nlp.domain.text import prepare_text
from dengar_nlp.service_layer.ports import HEAD_NAMES

MODELS = Path(__file__).resolve().parents[3] / "services" / "nlp" / "models"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# profile -> (heads folder, parity fixture)
SETS = {
    "fast": (MODELS / "heads", FIXTURES / "heads_parity.npz"),
    "quality": (MODELS / "quality" / "heads", FIXTURES / "heads_parity_quality.npz"),
}
EXPECTED_LABELS = {"sentiment": SENTIMENT_LABELS, "emotion": EMOTION_LABELS, "aspects": ASPECT_NAMES}


@pytest.fixture(scope="module", params=sorted(SETS))
def profile(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def heads_dir(profile: str) -> Path:
    return SETS[profile][0]


@pytest.fixture(scope="module")
def fixture(profile: str) -> dict[str, np.ndarray]:
    with np.load(SETS[profile][1]) as z:
        return {k: z[k] for k in z.files}


def test_the_sets_have_their_own_heads() -> None:
    fast, quality = ((SETS[p][0] / "sentiment.onnx").read_bytes() for p in ("fast", "quality"))
    assert fast != quality


@pytest.mark.parametrize("name", HEAD_NAMES)
def test_onnx_matches_training_model(name: str, heads_dir: Path, fixture: dict[str, np.ndarray]) -> None:
    head = OnnxHead(heads_dir / f"{name}.onnx")
    x = fixture["embedding"]
    assert x.shape == (16, 384) and x.dtype == np.float32
    if name == "sentiment":
        got = head._session.run(["probs"], {
            "embedding": x, "ids": fixture["sentiment_ids"], "values": fixture["sentiment_values"]})[0]
    else:
        got = head(x)
    want = fixture[f"{name}_probs"]
    assert got.shape == want.shape == (16, len(EXPECTED_LABELS[name]))
    np.testing.assert_allclose(got, want, atol=2e-5, rtol=0)
    if name != "aspects":  # softmax heads: rows are distributions, same decision as training
        np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)
        assert (got.argmax(axis=1) == want.argmax(axis=1)).all()


def test_serving_featurizer_matches_training(heads_dir: Path, fixture: dict[str, np.ndarray]) -> None:
    head = OnnxHead(heads_dir / "sentiment.onnx")
    prepared = [prepare_text(str(t)) for t in fixture["sentences"]] * 2
    ids, vals = sentiment_features(prepared, head.lexical_buckets)
    np.testing.assert_array_equal(ids, fixture["sentiment_ids"])
    np.testing.assert_array_equal(vals, fixture["sentiment_values"])
    # The head's own path (texts -> features -> ONNX) gives the training-time probabilities.
    got = head(fixture["embedding"], prepared)
    np.testing.assert_allclose(got, fixture["sentiment_probs"], atol=2e-5, rtol=0)


def test_sentiment_head_needs_texts(heads_dir: Path, fixture: dict[str, np.ndarray]) -> None:
    head = OnnxHead(heads_dir / "sentiment.onnx")
    with pytest.raises(ValueError, match="prepared texts"):
        head(fixture["embedding"])


@pytest.mark.parametrize("name", HEAD_NAMES)
def test_metadata(name: str, heads_dir: Path) -> None:
    meta = json.loads((heads_dir / f"{name}.json").read_text(encoding="utf-8"))
    data = (heads_dir / f"{name}.onnx").read_bytes()
    assert meta["sha256"] == hashlib.sha256(data).hexdigest()
    assert tuple(meta["labels"]) == tuple(EXPECTED_LABELS[name])
    assert meta["validation"]
    if name == "aspects":
        assert len(meta["thresholds"]) == len(ASPECT_NAMES)
        assert all(0.0 < t < 1.0 for t in meta["thresholds"])
    else:
        assert meta["temperature"] > 0


def test_heads_are_small(heads_dir: Path) -> None:
    # The sentiment model's 2**18 x 3 float16 lexical table is ~1.6 MB of this; the rest is kilobytes.
    total = sum(p.stat().st_size for p in heads_dir.iterdir() if p.is_file())
    assert total < 3_000_000


def test_empty_batch(heads_dir: Path) -> None:
    head = OnnxHead(heads_dir / "sentiment.onnx")
    assert head(np.zeros((0, 384), dtype=np.float32), []).shape == (0, 3)
