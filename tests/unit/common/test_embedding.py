"""The compact int8 embedding keeps a vector's direction."""

from __future__ import annotations

import numpy as np
import pytest

from dengar_common.embedding import dequantize, quantize, stack


def _unit(rng: np.random.Generator, n: int, dim: int = 384) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_int8_keeps_the_cosine() -> None:
    vecs = _unit(np.random.default_rng(7), 200)
    blobs = [quantize(v) for v in vecs]
    assert {len(b) for b in blobs} == {384}
    back = np.stack([dequantize(b) for b in blobs])
    assert np.min(np.sum(back * vecs, axis=1)) > 0.999
    # Pairwise similarities move by far less than any threshold built on them.
    assert np.max(np.abs(back @ back.T - vecs @ vecs.T)) < 0.01


def test_scale_is_not_kept_and_nothing_is_empty() -> None:
    v = _unit(np.random.default_rng(1), 1)[0]
    assert quantize(v) == quantize(3.5 * v)
    assert quantize([]) == b"" and quantize(np.zeros(384)) == b""
    assert quantize([float("nan"), 1.0]) == b""
    with pytest.raises(ValueError):
        dequantize(b"")


def test_stack_skips_empty_and_foreign_sizes() -> None:
    vecs = _unit(np.random.default_rng(3), 4)
    blobs = [quantize(vecs[0]), b"", quantize(vecs[1]), quantize(vecs[2][:100]), quantize(vecs[3])]
    x, rows = stack(blobs)
    assert rows == [0, 2, 4] and x.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, rtol=1e-5)
    empty, none = stack([b"", b""])
    assert none == [] and empty.shape[0] == 0
