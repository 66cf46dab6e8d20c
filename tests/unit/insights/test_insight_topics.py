from __future__ import annotations

import numpy as np
import pytest

from dengar_insights.domain.insight.stopwords import is_label_stopword as is_stopword
from dengar_insights.domain.insight.topics import (
    OUTLIER,
    c_tf_idf,
    cosine_silhouette,
    discover_topics,
    tokenize_for_keywords,
)

THEMES = {
    "banjir": ["banjir", "hujan", "genangan", "evakuasi"],
    "macet": ["macet", "tol", "kemacetan", "jalan"],
    "promo": ["promo", "diskon", "voucher", "cashback"],
    "flight": ["flight", "delayed", "gate", "boarding"],
}
FILLERS = "yg gak aja nya sih banget the and is to di dan ini itu wkwk".split()


def make_corpus(n_per_theme: int = 40, d: int = 32, seed: int = 0) -> tuple[list[str], np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(len(THEMES), d))
    texts: list[str] = []
    vecs: list[np.ndarray] = []
    gold: list[str] = []
    for t, (name, words) in enumerate(THEMES.items()):
        for _ in range(n_per_theme):
            picked = list(rng.choice(words, size=3)) + list(rng.choice(FILLERS, size=4))
            texts.append(" ".join(picked))
            vecs.append(centers[t] + rng.normal(scale=0.15, size=d))
            gold.append(name)
    emb = np.asarray(vecs, dtype=np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    return texts, emb, gold


def test_finds_the_themes_with_keywords_and_representatives() -> None:
    texts, emb, gold = make_corpus()
    result = discover_topics(texts, emb, seed=7)
    assert result.k_selected == 4
    assert len(result.topics) == 4
    assert result.outlier_count == 0
    assert sum(t.size for t in result.topics) == len(texts)
    assert abs(sum(t.share for t in result.topics) - 1.0) < 1e-6
    for topic in result.topics:
        members = {gold[i] for i in np.nonzero(result.labels == topic.topic_id)[0]}
        assert len(members) == 1
        (theme,) = members
        # Distinctive words lead; fillers and stop words never appear.
        assert set(topic.keywords[:2]) <= set(THEMES[theme])
        assert not any(is_stopword(k) for k in topic.keywords)
        assert len(topic.representatives) == 3
        assert all(result.labels[i] == topic.topic_id for i in topic.representatives)
        assert topic.representative_texts[0] == texts[topic.representatives[0]]


def test_deterministic_for_a_seed() -> None:
    texts, emb, _ = make_corpus(seed=3)
    a = discover_topics(texts, emb, seed=11)
    b = discover_topics(texts, emb, seed=11)
    assert np.array_equal(a.labels, b.labels)
    assert a.topics == b.topics
    assert a.silhouette_by_k == b.silhouette_by_k


def test_tiny_clusters_become_outliers() -> None:
    texts, emb, _ = make_corpus(n_per_theme=30)
    rng = np.random.default_rng(5)
    # A tight group of three posts far from everything: a cluster of its own, but below min size.
    center = rng.normal(size=emb.shape[1])
    odd = (center + rng.normal(scale=0.05, size=(3, emb.shape[1]))).astype(np.float32)
    odd /= np.linalg.norm(odd, axis=1, keepdims=True)
    texts = [*texts, "aneh sekali", "random post", "lain lagi"]
    emb = np.vstack([emb, odd])
    result = discover_topics(texts, emb, n_topics=5, seed=1, min_topic_size=5)
    assert result.outlier_count == 3
    assert set(result.labels[-3:]) == {OUTLIER}
    assert len(result.topics) == 4
    assert [t.topic_id for t in result.topics] == list(range(len(result.topics)))


def test_representatives_skip_copy_paste_repeats() -> None:
    texts, emb, _ = make_corpus(n_per_theme=20)
    texts = ["promo diskon voucher sekarang"] * 20 + texts[20:]
    result = discover_topics(texts, emb, n_topics=4, seed=0)
    for topic in result.topics:
        assert len(set(topic.representative_texts)) == len(topic.representative_texts)


def test_edge_inputs() -> None:
    empty = discover_topics([], np.zeros((0, 8), dtype=np.float32))
    assert empty.topics == () and empty.labels.shape == (0,)
    one = discover_topics(["halo"], np.ones((1, 8), dtype=np.float32))
    assert one.k_selected == 1 and one.labels.tolist() in ([0], [OUTLIER])
    zeros = discover_topics(["", "😂", "x"], np.zeros((3, 4), dtype=np.float32))
    assert zeros.outlier_count == 3
    with pytest.raises(ValueError):
        discover_topics(["a", "b"], np.ones((3, 4)))
    with pytest.raises(ValueError):
        discover_topics(["a"], np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError):
        discover_topics(["a"], np.ones((1, 4)), n_topics=0)


def test_broken_unicode_and_long_texts_in_keywords() -> None:
    raw = b"banjir \xff\xfe lagi di \xf0\x9f\x98 jakarta".decode("utf-8", "surrogateescape")
    assert tokenize_for_keywords(raw) == ["banjir", "jakarta"]
    assert tokenize_for_keywords("https://t.co/x @budi yg gak aja MACET!!") == ["macet"]
    long_text = "banjir " * 2000
    kw = c_tf_idf([tokenize_for_keywords(long_text), ["banjir"]], np.array([0, 0]), 1)
    assert kw[0][0][0] == "banjir"


def test_silhouette_bounds() -> None:
    _, emb, gold = make_corpus(n_per_theme=10)
    labels = np.array([list(THEMES).index(g) for g in gold])
    assert 0.5 < cosine_silhouette(emb, labels) <= 1.0
    assert cosine_silhouette(emb, np.zeros(len(gold), dtype=np.int64)) == 0.0


def test_realistic_size_and_dimension() -> None:
    # 3,000 x 384 keeps the suite fast; 10,000 x 384 timings are in the NLP service notes.
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(8, 384))
    labels = rng.integers(8, size=3_000)
    emb = (centers[labels] + rng.normal(scale=0.5, size=(3_000, 384))).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    texts = [f"topik {int(label)} kata{int(label)}" for label in labels]
    result = discover_topics(texts, emb, seed=0)
    assert result.k_selected == 8
    assert result.outlier_count == 0
