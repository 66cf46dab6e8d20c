"""Hashed character n-gram + word n-gram features, shared by language id and the lexical sentiment model.

Plain numpy, deterministic across runs and machines (FNV-1a over code points for character n-grams,
CRC-32 for words; no Python ``hash``), so that training scripts and serving compute byte-identical
features.  A text becomes a bag of hash buckets in ``[0, n_buckets)``; a bucket's value is the square
root of its count (sublinear term frequency), L2-normalised per text.  Batches are padded to a
rectangle with the padding id ``n_buckets`` (a zero row in the models' weight tables) and value 0, the
layout the ONNX models take (``ids`` int64 [N, L], ``values`` float32 [N, L]).
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections.abc import Sequence

import numpy as np

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
WORD_SALT = 0x5EED


def char_ngram_hashes(text: str, orders: Sequence[int]) -> np.ndarray:
    """FNV-1a-style hashes of all char n-grams of ``" text "``, vectorised over positions."""
    padded = f" {text} "
    cps = np.frombuffer(padded.encode("utf-32-le"), dtype="<u4").astype(np.uint64)
    parts = []
    length = cps.shape[0]
    for n in orders:
        if length < n:
            continue
        m = length - n + 1
        h = np.full(m, _FNV_OFFSET ^ np.uint64(n), dtype=np.uint64)
        for k in range(n):
            h = (h ^ cps[k : k + m]) * _FNV_PRIME
        parts.append(h)
    if not parts:
        return np.zeros(0, dtype=np.uint64)
    h = np.concatenate(parts)
    # Final avalanche: the low bits of a plain FNV product are weak for short inputs.
    h ^= h >> np.uint64(29)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(32)
    return h


def rolling_char_ngram_hashes(text: str, max_order: int) -> np.ndarray:
    """Hashes of all char 1..``max_order``-grams of ``" text "``: each order extends the previous
    order's FNV state by one character (a third of the work of ``char_ngram_hashes``; the hashes differ
    from it, so a model is tied to one of the two)."""
    padded = f" {text} "
    cps = np.frombuffer(padded.encode("utf-32-le"), dtype="<u4").astype(np.uint64)
    cur = (_FNV_OFFSET ^ cps) * _FNV_PRIME
    parts = [cur]
    for n in range(2, min(max_order, cps.shape[0]) + 1):
        cur = (cur[:-1] ^ cps[n - 1 :]) * _FNV_PRIME
        parts.append(cur)
    h: np.ndarray = np.concatenate(parts)
    h ^= h >> np.uint64(29)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(32)
    return h


def word_ngram_hashes(words: Sequence[str], orders: Sequence[int] = (1,)) -> np.ndarray:
    """CRC-32 hashes of word n-grams (n-grams joined by a space; each order has its own salt)."""
    out: list[int] = []
    for n in orders:
        salt = WORD_SALT if n == 1 else WORD_SALT + n
        out.extend(zlib.crc32(" ".join(words[i : i + n]).encode("utf-8"), salt)
                   for i in range(len(words) - n + 1))
    return np.fromiter(out, dtype=np.uint64, count=len(out))


def bag_of_buckets(hashes: np.ndarray, n_buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct bucket ids (int64, sorted) and their sqrt-count values, L2-normalised."""
    if hashes.shape[0] == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    # np.unique(..., return_counts=True) without its overhead (this runs once per post).
    b = np.sort(hashes % np.uint64(n_buckets))
    starts = np.flatnonzero(np.concatenate(([True], b[1:] != b[:-1])))
    ids = b[starts]
    counts = np.diff(np.append(starts, b.shape[0]))
    vals = np.sqrt(counts.astype(np.float32))
    vals /= np.linalg.norm(vals)
    return ids.astype(np.int64), vals.astype(np.float32)


def pad_bags(bags: Sequence[tuple[np.ndarray, np.ndarray]], n_buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """Stack per-text (ids, values) into padded [N, L] arrays (padding id ``n_buckets``, value 0)."""
    width = max((ids.shape[0] for ids, _ in bags), default=0) or 1
    out_ids = np.full((len(bags), width), n_buckets, dtype=np.int64)
    out_vals = np.zeros((len(bags), width), dtype=np.float32)
    for i, (ids, vals) in enumerate(bags):
        out_ids[i, : ids.shape[0]] = ids
        out_vals[i, : vals.shape[0]] = vals
    return out_ids, out_vals


# --- sentiment ------------------------------------------------------------------------------------

SENTIMENT_MAX_CHAR_ORDER = 5
SENTIMENT_WORD_ORDERS: tuple[int, ...] = (1, 2)
_REPEAT_RE = re.compile(r"(.)\1{2,}")
_DIGIT_RE = re.compile(r"\d")
_SPACE_RE = re.compile(r"\s+")
# Words, and every other non-space character on its own: "!", "?", ":" and emoji carry sentiment.
_TOKEN_RE = re.compile(r"\w+|[^\w\s]")


def clean_for_sentiment(prepared: str) -> str:
    """Lower-cased NFKC text with digits as ``0`` and elongations ("bangettt", "!!!!") cut to two.

    Takes the output of ``dengar_nlp.domain.text.prepare_text`` (mentions and URLs already replaced).
    Unlike language id, punctuation and emoji stay: they are sentiment signal.
    """
    text = unicodedata.normalize("NFKC", prepared).lower()
    text = _DIGIT_RE.sub("0", text)
    text = _REPEAT_RE.sub(r"\1\1", text)
    return _SPACE_RE.sub(" ", text).strip()


def sentiment_bag(prepared: str, n_buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashed char 1-5-grams + word uni/bigrams of one prepared text."""
    text = clean_for_sentiment(prepared)
    if not text:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    words = _TOKEN_RE.findall(text)
    hashes = np.concatenate([rolling_char_ngram_hashes(text, SENTIMENT_MAX_CHAR_ORDER),
                             word_ngram_hashes(words, SENTIMENT_WORD_ORDERS)])
    return bag_of_buckets(hashes, n_buckets)


def sentiment_features(prepared: Sequence[str], n_buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """Padded ``(ids, values)`` [N, L] of the lexical sentiment model for prepared texts."""
    if n_buckets <= 0:
        raise ValueError("n_buckets must be positive")
    return pad_bags([sentiment_bag(t, n_buckets) for t in prepared], n_buckets)
