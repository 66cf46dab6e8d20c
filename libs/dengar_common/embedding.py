"""The compact sentence embedding stored with every mention: int8 components, 1 byte per dimension.

NLP's encoder (multilingual-e5-small) gives L2-normalised float32 vectors of 384 dimensions: 1,536
bytes each, more than the rest of a typical mention document. Topics and example-based categories
only ever compare these vectors by cosine similarity, which does not change when a vector is
scaled, so each vector is scaled by its own largest component to fill int8's range and rounded:
``q = round(x * 127 / max|x|)``. No scale needs storing; 384 bytes per mention (a quarter of
float32, half of float16). The rounding error per component is at most half a step of
``max|x| / 127``; on unit vectors of this size that keeps the cosine to the float vector above
0.999 (tests/unit/common/test_embedding.py checks it), far below the differences clustering and
category thresholds work with.

An empty byte string means "no embedding" (an empty text, or a producer that did not send one).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

INT8_MAX = 127

FloatMatrix = npt.NDArray[np.float32]


def quantize(vector: Sequence[float] | npt.NDArray[np.floating]) -> bytes:
    """The int8 form of ``vector``; empty when the vector is empty, all zeros or not finite."""
    x = np.asarray(vector, dtype=np.float32).reshape(-1)
    if x.size == 0 or not np.all(np.isfinite(x)):
        return b""
    peak = float(np.max(np.abs(x)))
    if peak == 0.0:
        return b""
    q = np.rint(x * (INT8_MAX / peak)).astype(np.int8)
    return bytes(q.tobytes())


def dequantize(data: bytes) -> npt.NDArray[np.float32]:
    """The unit vector that ``data`` stands for (direction only; the scale is not kept)."""
    x = np.frombuffer(data, dtype=np.int8).astype(np.float32)
    norm = float(np.linalg.norm(x))
    if norm == 0.0:
        raise ValueError("an empty or all-zero embedding has no direction")
    return x / norm


def stack(blobs: Sequence[bytes], dim: int | None = None) -> tuple[FloatMatrix, list[int]]:
    """Unit vectors of the usable ``blobs`` as rows of one matrix, and the index of each row's blob.

    A blob is skipped when it is empty or its size differs from ``dim`` (or, without ``dim``, from
    the most common size: vectors of another model cannot be compared with these)."""
    sizes = [len(b) for b in blobs if b]
    if not sizes:
        return np.zeros((0, dim or 0), dtype=np.float32), []
    want = dim if dim is not None else max(set(sizes), key=sizes.count)
    keep = [i for i, b in enumerate(blobs) if len(b) == want]
    if not keep:
        return np.zeros((0, want), dtype=np.float32), []
    raw = np.frombuffer(b"".join(blobs[i] for i in keep), dtype=np.int8)
    x = raw.reshape(len(keep), want).astype(np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    ok = norms[:, 0] > 0
    x = x[ok] / norms[ok]
    return x.astype(np.float32, copy=False), [i for i, good in zip(keep, ok, strict=True) if good]
