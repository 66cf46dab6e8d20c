"""Topic discovery: spherical k-means on sentence embeddings + c-TF-IDF keywords.

Why this lives in insights, not nlp: insights owns the mentions, the time windows and the stored
int8 vectors (``dengar_common.embedding``), and clustering needs no model, only numpy. Running it
where the vectors are means no 10,000 vectors cross gRPC per request, and the nlp service stays a
per-post enricher. The use case (window reads, sampling, growth, stable ids) is
``service_layer/topics.py``; matching clusters across windows is ``domain/insight/topic_ids.py``.

Pipeline (numpy only, deterministic for a given ``seed``):

1. **k** - unless given, chosen on a random sample of at most ``sample_size`` posts: spherical
   k-means for each candidate k, scored by the mean cosine silhouette on the sample; the best k wins
   (ties -> smaller k).  Silhouette on a sample costs one [S, S] similarity matrix per candidate.
2. **Clustering** - spherical k-means (k-means++ seeding on cosine distance, ``n_init`` restarts,
   best inertia kept) on all posts.
3. **Outliers** - clusters smaller than ``min_topic_size`` are dissolved into the outlier bucket
   (label -1); so are posts whose cosine similarity to their centroid is below ``min_similarity``
   (off by default).
4. **Labels** - c-TF-IDF (class-based TF-IDF, as in BERTopic): each topic's posts are one document;
   ``tf(t, c) * log(1 + A / f(t))`` with ``A`` the mean number of tokens per topic and ``f(t)`` the
   term's count over all topics.  English/Indonesian stop words and slang fillers are removed.
5. **Representatives** - the posts closest to the centroid, skipping exact repeats of a chosen one
   (copy-paste campaigns would otherwise fill every slot).

Cost, measured on 10,000 real airline tweets embedded with multilingual-e5-small (384 dims) on the
2-core dev machine while other jobs ran: 1.5-1.9 s with automatic k, 1.6 s with k=15, when numpy's
BLAS runs single-threaded (``OPENBLAS_NUM_THREADS=1``).  With BLAS's default threads and a busy CPU
the same call took 2.3-12 s: the BLAS threads spin against each other, so the insights entrypoint
(``dengar_insights/__main__.py``) pins BLAS to one thread before numpy is imported (this module
cannot do it without importing extra packages or working at import time).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from dengar_insights.domain.insight.stopwords import LABEL_STOPWORDS as STOPWORDS

logger = logging.getLogger(__name__)

OUTLIER = -1
DEFAULT_K_CANDIDATES: tuple[int, ...] = (2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30)
_URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION_RE = re.compile(r"(?<!\w)@\w+")
_TOKEN_RE = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


@dataclass(frozen=True, slots=True)
class Topic:
    """One discovered topic.  ``representatives`` are indices into the input, closest first."""

    topic_id: int
    size: int
    share: float
    keywords: tuple[str, ...]
    keyword_scores: tuple[float, ...]
    representatives: tuple[int, ...]
    representative_texts: tuple[str, ...]
    cohesion: float  # mean cosine similarity of members to the centroid


@dataclass(frozen=True, slots=True)
class TopicResult:
    """``labels[i]`` is the topic id of post i, or -1 for the outlier bucket.

    Topics are numbered 0..k-1 by decreasing size.
    """

    topics: tuple[Topic, ...]
    labels: np.ndarray
    outlier_count: int
    outlier_share: float
    k_selected: int
    seed: int
    silhouette_by_k: dict[int, float] = field(default_factory=dict)


# --- clustering ------------------------------------------------------------------------------


def _normalize_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    norms = np.linalg.norm(x, axis=1)
    ok = norms > 1e-12
    out = np.zeros_like(x)
    out[ok] = x[ok] / norms[ok, None]
    return out, ok


def _kmeans_pp(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    n = x.shape[0]
    centers = np.empty((k, x.shape[1]), dtype=x.dtype)
    centers[0] = x[rng.integers(n)]
    # Cosine distance 1 - s; squared for the D^2 sampling of k-means++.
    dist = np.maximum(1.0 - x @ centers[0], 0.0) ** 2
    for j in range(1, k):
        total = float(dist.sum())
        if total <= 1e-12:
            idx = int(rng.integers(n))
        else:
            idx = int(np.searchsorted(np.cumsum(dist), rng.random() * total))
            idx = min(idx, n - 1)
        centers[j] = x[idx]
        dist = np.minimum(dist, np.maximum(1.0 - x @ centers[j], 0.0) ** 2)
    return centers


def _cluster_sums(x: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Per-cluster sums of rows.

    Sorting once and summing contiguous slices is O(N*d) for any k; both ``np.add.at`` and a one-hot
    matmul measured 50-100x slower for N=10,000, d=384 (the latter hits a poor BLAS path for [k, N]
    x [N, d] with small k).
    """
    order = np.argsort(labels, kind="stable")
    ordered = x[order]
    bounds = np.searchsorted(labels[order], np.arange(k + 1))
    sums = np.zeros((k, x.shape[1]), dtype=x.dtype)
    for j in range(k):
        lo, hi = bounds[j], bounds[j + 1]
        if hi > lo:
            sums[j] = ordered[lo:hi].sum(axis=0)
    return sums


def spherical_kmeans(
    x: np.ndarray, k: int, rng: np.random.Generator, *, n_init: int = 2, max_iter: int = 50
) -> tuple[np.ndarray, np.ndarray, float]:
    """Labels [N], unit centroids [k, d] and total similarity of the best of ``n_init`` runs."""
    n = x.shape[0]
    k = max(1, min(k, n))
    best: tuple[np.ndarray, np.ndarray, float] | None = None
    for _ in range(max(1, n_init)):
        centers = _kmeans_pp(x, k, rng)
        labels = np.full(n, -1, dtype=np.int64)
        for _it in range(max_iter):
            sims = x @ centers.T
            new_labels = np.argmax(sims, axis=1)
            if np.array_equal(new_labels, labels):
                break
            labels = new_labels
            sums = _cluster_sums(x, labels, k)
            counts = np.bincount(labels, minlength=k)
            for j in np.nonzero(counts == 0)[0]:
                # An empty cluster takes the point worst served by its centroid.
                worst = int(np.argmin(sims[np.arange(n), labels]))
                sums[j] = x[worst]
                labels[worst] = j
            centers, _ = _normalize_rows(sums)
        score = float(np.sum((x @ centers.T)[np.arange(n), labels]))
        if best is None or score > best[2]:
            best = (labels.copy(), centers.copy(), score)
    assert best is not None
    return best


def cosine_silhouette(x: np.ndarray, labels: np.ndarray, dist: np.ndarray | None = None) -> float:
    """Mean silhouette with cosine distance (x rows unit length); 0.0 if fewer than 2 clusters.

    ``dist`` may pass a precomputed ``1 - x @ x.T``.
    """
    uniq = np.unique(labels)
    if uniq.shape[0] < 2:
        return 0.0
    if dist is None:
        dist = 1.0 - x @ x.T
    onehot = (labels[:, None] == uniq[None, :]).astype(x.dtype)
    counts = onehot.sum(axis=0)
    sums = dist @ onehot  # [S, K] total distance to each cluster
    own = np.searchsorted(uniq, labels)
    n = x.shape[0]
    own_count = counts[own]
    a = np.where(own_count > 1, sums[np.arange(n), own] / np.maximum(own_count - 1, 1), 0.0)
    mean_other = sums / np.maximum(counts[None, :], 1)
    mean_other[np.arange(n), own] = np.inf
    b = mean_other.min(axis=1)
    s = np.where(own_count > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
    return float(np.mean(s))


def choose_k(
    x: np.ndarray,
    rng: np.random.Generator,
    *,
    candidates: Sequence[int] = DEFAULT_K_CANDIDATES,
    sample_size: int = 1500,
    min_topic_size: int = 5,
) -> tuple[int, dict[int, float]]:
    """Best k by cosine silhouette on a sample; candidates too large for the data are skipped."""
    n = x.shape[0]
    sample = x if n <= sample_size else x[np.sort(rng.choice(n, size=sample_size, replace=False))]
    max_k = max(1, n // max(1, min_topic_size))
    scores: dict[int, float] = {}
    dist = 1.0 - sample @ sample.T
    for k in sorted(set(candidates)):
        if k < 2 or k > max_k or k >= sample.shape[0]:
            continue
        labels, _, _ = spherical_kmeans(sample, k, rng, n_init=1, max_iter=25)
        scores[k] = round(cosine_silhouette(sample, labels, dist), 6)
    if not scores:
        return 1, scores
    best_k = max(scores, key=lambda k: (scores[k], -k))
    return best_k, scores


# --- keywords --------------------------------------------------------------------------------


def tokenize_for_keywords(text: str) -> list[str]:
    """Lower-case word tokens without URLs, mentions, digits, stop words or 1-2 letter tokens."""
    text = _URL_RE.sub(" ", text)
    text = _MENTION_RE.sub(" ", text)
    text = unicodedata.normalize("NFKC", text).casefold()
    return [t for t in _TOKEN_RE.findall(text) if len(t) > 2 and t not in STOPWORDS]


def c_tf_idf(
    docs_tokens: Sequence[Sequence[str]],
    labels: np.ndarray,
    n_topics: int,
    *,
    top_n: int = 8,
    min_df: int = 2,
) -> list[list[tuple[str, float]]]:
    """Top ``top_n`` (term, score) per topic 0..n_topics-1 by class-based TF-IDF."""
    df: Counter[str] = Counter()
    for toks in docs_tokens:
        df.update(set(toks))
    vocab = {t: i for i, t in enumerate(sorted(t for t, c in df.items() if c >= min_df))}
    if not vocab or n_topics == 0:
        return [[] for _ in range(n_topics)]
    rows: list[int] = []
    cols: list[int] = []
    for toks, lab in zip(docs_tokens, labels, strict=True):
        if lab < 0:
            continue
        for t in toks:
            j = vocab.get(t)
            if j is not None:
                rows.append(int(lab))
                cols.append(j)
    v = len(vocab)
    counts = np.bincount(
        np.asarray(rows, dtype=np.int64) * v + np.asarray(cols, dtype=np.int64), minlength=n_topics * v
    )
    counts = counts.reshape(n_topics, v).astype(np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    tf = counts / np.maximum(totals, 1.0)
    avg_words = float(totals.mean()) if totals.size else 0.0
    freq = counts.sum(axis=0)
    idf = np.log1p(avg_words / np.maximum(freq, 1.0))
    scores = tf * idf[None, :]
    terms = np.array(sorted(vocab, key=vocab.__getitem__), dtype=object)
    out: list[list[tuple[str, float]]] = []
    for c in range(n_topics):
        row = scores[c]
        # Stable order: score desc, then term, so that equal scores do not depend on hashing.
        order = np.lexsort((terms, -row))[:top_n]
        out.append([(str(terms[j]), round(float(row[j]), 6)) for j in order if row[j] > 0])
    return out


# --- API -------------------------------------------------------------------------------------


def discover_topics(
    texts: Sequence[str],
    embeddings: np.ndarray,
    *,
    n_topics: int | None = None,
    seed: int = 0,
    min_topic_size: int | None = None,
    min_similarity: float | None = None,
    top_n_keywords: int = 8,
    n_representatives: int = 3,
    k_candidates: Sequence[int] = DEFAULT_K_CANDIDATES,
    sample_size: int = 1500,
    n_init: int = 2,
) -> TopicResult:
    """Cluster posts into topics and describe each one.

    ``embeddings`` is [N, d] (expected L2-normalised; rows are re-normalised, zero rows become
    outliers).  ``n_topics`` fixes k; otherwise it is chosen from ``k_candidates``.
    ``min_topic_size`` defaults to max(3, 1% of N).  Raises ValueError for mismatched or non-finite
    input.
    """
    emb = np.asarray(embeddings)
    n = len(texts)
    if emb.ndim != 2 or emb.shape[0] != n:
        raise ValueError(f"embeddings must have shape [{n}, d], got {emb.shape}")
    if n and not np.all(np.isfinite(emb)):
        raise ValueError("embeddings contain NaN or inf")
    if n_topics is not None and n_topics < 1:
        raise ValueError("n_topics must be >= 1")
    if n == 0:
        return TopicResult((), np.zeros(0, dtype=np.int64), 0, 0.0, 0, seed)
    min_size = max(3, n // 100) if min_topic_size is None else max(1, min_topic_size)
    x, ok = _normalize_rows(emb.astype(np.float32, copy=False))
    valid_idx = np.nonzero(ok)[0]
    xv = x[valid_idx]
    rng = np.random.default_rng(seed)
    scores: dict[int, float] = {}
    if n_topics is not None:
        k = min(n_topics, max(1, xv.shape[0]))
    elif xv.shape[0] < 2 * min_size:
        k = 1
    else:
        k, scores = choose_k(
            xv, rng, candidates=k_candidates, sample_size=sample_size, min_topic_size=min_size
        )
    labels = np.full(n, OUTLIER, dtype=np.int64)
    if xv.shape[0] == 0:
        return TopicResult((), labels, n, 1.0, 0, seed, scores)
    sub_labels, centers, _ = spherical_kmeans(xv, k, rng, n_init=n_init)
    sims = np.sum(xv * centers[sub_labels], axis=1)
    if min_similarity is not None:
        sub_labels = np.where(sims >= min_similarity, sub_labels, OUTLIER)
    labels[valid_idx] = sub_labels
    # Renumber surviving clusters by size (desc, then old id) and dissolve the small ones.
    sizes = np.bincount(labels[labels >= 0], minlength=k)
    keep = [c for c in sorted(range(k), key=lambda c: (-sizes[c], c)) if sizes[c] >= min_size]
    remap = np.full(k, OUTLIER, dtype=np.int64)
    remap[keep] = np.arange(len(keep))
    labels = np.where(labels >= 0, remap[np.maximum(labels, 0)], OUTLIER)
    sim_all = np.full(n, -1.0, dtype=np.float64)
    sim_all[valid_idx] = sims
    tokens = [tokenize_for_keywords(t) if isinstance(t, str) else [] for t in texts]
    keywords = c_tf_idf(tokens, labels, len(keep), top_n=top_n_keywords)
    topics = []
    for new_id, old_id in enumerate(keep):
        members = np.nonzero(labels == new_id)[0]
        order = members[np.lexsort((members, -sim_all[members]))]
        reps: list[int] = []
        seen: set[str] = set()
        for i in order:
            key = " ".join(str(texts[i]).split()).casefold()
            if key in seen:
                continue
            seen.add(key)
            reps.append(int(i))
            if len(reps) >= n_representatives:
                break
        kw = keywords[new_id]
        topics.append(
            Topic(
                topic_id=new_id,
                size=int(members.shape[0]),
                share=round(members.shape[0] / n, 6),
                keywords=tuple(t for t, _ in kw),
                keyword_scores=tuple(s for _, s in kw),
                representatives=tuple(reps),
                representative_texts=tuple(str(texts[i]) for i in reps),
                cohesion=round(float(np.mean(sim_all[members])), 6),
            )
        )
        logger.debug("topic %d (was %d): %d posts, %s", new_id, old_id, members.shape[0], kw[:3])
    outliers = int(np.sum(labels == OUTLIER))
    return TopicResult(tuple(topics), labels, outliers, round(outliers / n, 6), k, seed, scores)
