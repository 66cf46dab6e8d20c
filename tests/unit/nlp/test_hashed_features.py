"""The shared hashed n-gram featurizer (language id and the lexical sentiment model)."""

from __future__ import annotations

import numpy as np
import pytest

from dengar_nlp.domain.hashed_features import (
    bag_of_buckets,
    char_ngram_hashes,
    clean_for_sentiment,
    rolling_char_ngram_hashes,
    sentiment_features,
    word_ngram_hashes,
)
from dengar_nlp.domain.langid import featurize

NB = 1 << 18


def test_langid_features_are_pinned() -> None:
    # The shipped langid.onnx was trained on exactly these buckets: the refactoring into the shared
    # module must not move them.
    ids, vals = featurize(["halo dunia"], 1 << 17)
    assert ids.shape == (1, 41)
    assert ids[0, :6].tolist() == [2525, 5391, 9473, 10203, 14118, 23098]
    assert float((vals**2).sum()) == pytest.approx(1.0, abs=1e-6)


def test_sentiment_features_are_pinned() -> None:
    ids, _ = sentiment_features(["Mantap!!! 😍"], NB)
    assert ids.shape == (1, 52)
    assert ids[0, :6].tolist() == [5485, 9572, 14311, 17979, 24091, 24904]


def test_clean_keeps_sentiment_signal() -> None:
    assert clean_for_sentiment("Bagusss BANGETTT!!!! 2x 😍😍😍") == "baguss bangett!! 0x 😍😍"
    assert clean_for_sentiment("  \n ") == ""


def test_padding_and_norm() -> None:
    ids, vals = sentiment_features(["good", "", "not good at all :("], NB)
    assert ids.shape == vals.shape and ids.dtype == np.int64 and vals.dtype == np.float32
    assert (ids[1] == NB).all() and (vals[1] == 0).all()  # empty text: padding only
    for row in (0, 2):
        real = ids[row] < NB
        assert np.allclose((vals[row][real] ** 2).sum(), 1.0)
        assert (vals[row][~real] == 0).all()
        assert len(set(ids[row][real].tolist())) == int(real.sum())  # one entry per bucket
    assert ((ids >= 0) & (ids <= NB)).all()


def test_deterministic_and_batch_independent() -> None:
    a = sentiment_features(["pelayanan buruk sekali", "mantap"], NB)
    b = sentiment_features(["pelayanan buruk sekali"], NB)
    assert np.array_equal(a[0][0, : b[0].shape[1]], b[0][0])
    assert np.array_equal(a[1][0, : b[1].shape[1]], b[1][0])


def test_word_orders_are_salted_apart() -> None:
    # "a b" as a unigram token must not collide with the bigram of "a" and "b".
    assert word_ngram_hashes(["a b"], (1,))[0] != word_ngram_hashes(["a", "b"], (2,))[0]
    assert word_ngram_hashes(["x"], (1, 2)).shape == (1,)


def test_char_ngrams_count() -> None:
    # " ab " has 4 unigrams, 3 bigrams, 2 trigrams.
    assert char_ngram_hashes("ab", (1, 2, 3)).shape == (9,)
    rolled = rolling_char_ngram_hashes("ab", 3)
    assert rolled.shape == (9,) and len(set(rolled.tolist())) == 8  # the two pad spaces agree
    assert rolling_char_ngram_hashes("ab", 9).shape == (10,)  # no order longer than the text
    ids, vals = bag_of_buckets(np.array([5, 5, 5, 5, 7], dtype=np.uint64), 4)
    assert ids.tolist() == [1, 3] and np.allclose(vals, np.array([2.0, 1.0]) / np.sqrt(5.0))


def test_rejects_bad_bucket_count() -> None:
    with pytest.raises(ValueError):
        sentiment_features(["x"], 0)
