"""Multi-task data for the fine-tune: train sources, validation sets, and the per-epoch batch plan.

numpy only (no torch), so that ``make test`` checks the data side without the ``finetune`` extra.

Every train source is its own *stream* with a sampling weight; several streams share a head:

=================  =========  ==================================================================
stream             head       rows
=================  =========  ==================================================================
``tweeteval``      sentiment  TweetEval sentiment train
``smsa``           sentiment  IndoNLU SmSA train, minus near-duplicates of SmSA/NusaX validation
``nusax``          sentiment  NusaX-senti train, 12 languages (same de-duplication)
``codemixed``      sentiment  NusaX English/Indonesian train pairs mixed at clause level + templates
``emotion``        emotion    TweetEval emotion train
``aspects``        aspects    SemEval-2014 (85 %, the heads' split), CASA and HoASA train, seed phrases
=================  =========  ==================================================================

An epoch is ``epoch_size`` examples: each stream contributes ``weight * epoch_size`` of them, read
from an endless sequence of seeded permutations of its rows, so successive epochs walk through all of
a stream before repeating any row.  The plan depends only on (seed, epoch) - a resumed run rebuilds the
very same batches.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import SEED
from .mixing import mix_nusax, template_posts

logger = logging.getLogger(__name__)

SENTIMENT = ("negative", "neutral", "positive")  # = dengar_common.post_contract.SENTIMENT_LABELS
EMOTION = ("anger", "joy", "optimism", "sadness")  # = dengar_nlp.domain.results.EMOTION_LABELS
HEAD_OF_STREAM = {
    "tweeteval": "sentiment",
    "smsa": "sentiment",
    "nusax": "sentiment",
    "codemixed": "sentiment",
    "emotion": "emotion",
    "aspects": "aspects",
}
DEFAULT_WEIGHTS = {
    "tweeteval": 0.30,
    "smsa": 0.18,
    "nusax": 0.22,
    "codemixed": 0.08,
    "emotion": 0.11,
    "aspects": 0.11,
}


@dataclass
class TaskData:
    """Rows of one stream (train) or one validation set.

    ``labels``: int64 ``[n]`` class ids for sentiment/emotion; float32 ``[n, C]`` 0/1 for aspects, with
    ``mask`` (bool ``[n, C]``) saying which of those labels are known.
    """

    head: str
    texts: list[str]
    labels: np.ndarray
    mask: np.ndarray | None = None
    groups: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, idx: Sequence[int] | np.ndarray) -> TaskData:
        ix = np.asarray(idx, dtype=np.int64)
        return TaskData(
            self.head,
            [self.texts[i] for i in ix],
            self.labels[ix],
            None if self.mask is None else self.mask[ix],
            [self.groups[i] for i in ix] if self.groups else [],
        )


def _classes(labels: Sequence[str], names: Sequence[str]) -> np.ndarray:
    index = {n: i for i, n in enumerate(names)}
    return np.array([index[v] for v in labels], dtype=np.int64)


# --- loading (the shared data folder) ------------------------------------------------------------


def load_train(
    data: Path, *, seed: int = SEED, mix_per_pair: int = 2, n_templates: int = 1500
) -> dict[str, TaskData]:
    """Every train stream from ``data`` (../shared/data); validation rows are never read here except to
    drop their near-duplicates from SmSA/NusaX train, as ``train_heads.py`` does."""
    from training.data import (
        dedup_sentiment,
        load_casa,
        load_hoasa,
        load_nusax,
        load_semeval,
        load_smsa,
        load_tweeteval,
    )
    from training.fit import _aspect_matrix, stratified_holdout

    from dengar_nlp.domain.aspects import TAXONOMY, default_lexicon
    from dengar_nlp.domain.text import prepare_text

    te = load_tweeteval(data / "tweeteval_sentiment" / "train.tsv")
    smsa, nusax, _ = dedup_sentiment(
        load_smsa(data / "indonlu_smsa" / "train_preprocess.tsv"),
        load_nusax(data, "train"),
        load_smsa(data / "indonlu_smsa" / "valid_preprocess.tsv"),
        load_nusax(data, "valid"),
    )
    emo = load_tweeteval(data / "tweeteval_emotion" / "train.tsv", "emotion")
    out = {
        "tweeteval": TaskData("sentiment", te.texts, _classes(te.labels, SENTIMENT), groups=te.groups),
        "smsa": TaskData("sentiment", smsa.texts, _classes(smsa.labels, SENTIMENT), groups=smsa.groups),
        "nusax": TaskData("sentiment", nusax.texts, _classes(nusax.labels, SENTIMENT), groups=nusax.groups),
        "emotion": TaskData("emotion", emo.texts, _classes(emo.labels, EMOTION), groups=emo.groups),
    }

    def pairs(lang: str) -> list[tuple[str, str, str]]:
        return [(i, t, lab) for i, t, lab, g in zip(nusax.ids, nusax.texts, nusax.labels, nusax.groups,
                                                    strict=True) if g == f"nusax-{lang}"]

    mixed = mix_nusax(pairs("english"), pairs("indonesian"), per_pair=mix_per_pair, seed=seed)
    mixed += template_posts(n_templates, seed=seed)
    mixed_y = _classes([m.label for m in mixed], SENTIMENT)
    out["codemixed"] = TaskData("sentiment", [m.text for m in mixed], mixed_y,
                                groups=[m.source for m in mixed])

    rest = load_semeval(data / "semeval2014_absa" / "Restaurants_Train_v2.xml", "semeval-restaurants")
    lap = load_semeval(data / "semeval2014_absa" / "Laptop_Train_v2.xml", "semeval-laptops")
    semeval = rest + lap
    # The heads' own 15 % SemEval hold-out stays out, so its figures in METRICS.md remain comparable.
    hold = stratified_holdout([r.source for r in semeval], 0.15)
    from training.data import AbsaRow

    rows = [r for r, h in zip(semeval, hold, strict=True) if not h]
    rows += load_casa(data / "indonlu_casa" / "train_preprocess.csv")
    rows += load_hoasa(data / "indonlu_hoasa" / "train_preprocess.csv")
    rows += [AbsaRow(p, "prototype", {a.name: "positive"}) for a in TAXONOMY for p in a.prototypes]
    lex = default_lexicon()
    y, mask = _aspect_matrix(rows, [lex.aspects(prepare_text(r.text)) for r in rows])
    out["aspects"] = TaskData("aspects", [r.text for r in rows], y.astype(np.float32), mask,
                              [r.source for r in rows])
    for name, td in out.items():
        logger.info("train stream %-9s %6d rows (%s head)", name, len(td), td.head)
    return out


def load_validation(data: Path) -> dict[str, TaskData]:
    """Validation sets: ``tweeteval``, ``smsa``, ``nusax-<lang>`` x 12, ``emotion``, ``aspects``."""
    from training import NUSAX_LANGS
    from training.data import COVERAGE, load_casa, load_hoasa, load_nusax, load_smsa, load_tweeteval

    from dengar_nlp.domain.aspects import ASPECT_NAMES

    te = load_tweeteval(data / "tweeteval_sentiment" / "val.tsv")
    smsa = load_smsa(data / "indonlu_smsa" / "valid_preprocess.tsv")
    emo = load_tweeteval(data / "tweeteval_emotion" / "val.tsv", "emotion")
    out = {
        "tweeteval": TaskData("sentiment", te.texts, _classes(te.labels, SENTIMENT)),
        "smsa": TaskData("sentiment", smsa.texts, _classes(smsa.labels, SENTIMENT)),
    }
    nusax = load_nusax(data, "valid")
    for lang in NUSAX_LANGS:
        keep = [i for i, g in enumerate(nusax.groups) if g == f"nusax-{lang}"]
        out[f"nusax-{lang}"] = TaskData("sentiment", [nusax.texts[i] for i in keep],
                                        _classes([nusax.labels[i] for i in keep], SENTIMENT))
    out["emotion"] = TaskData("emotion", emo.texts, _classes(emo.labels, EMOTION))
    rows = load_casa(data / "indonlu_casa" / "valid_preprocess.csv")
    rows += load_hoasa(data / "indonlu_hoasa" / "valid_preprocess.csv")
    y = np.array([[a in r.aspects for a in ASPECT_NAMES] for r in rows], dtype=np.float32)
    # Scored only on the aspects each set labels exhaustively (as the bench's aspect report does).
    mask = np.array([[a in COVERAGE[r.source] for a in ASPECT_NAMES] for r in rows], dtype=bool)
    out["aspects"] = TaskData("aspects", [r.text for r in rows], y, mask, [r.source for r in rows])
    return out


# --- metrics ---------------------------------------------------------------------------------------


def macro_f1(gold: np.ndarray, pred: np.ndarray, n_classes: int) -> float:
    """Mean F1 over the classes that occur in gold or prediction (scikit-learn's default labels)."""
    f1 = []
    for c in range(n_classes):
        tp = int(((pred == c) & (gold == c)).sum())
        denom = int((pred == c).sum() + (gold == c).sum())
        if denom:
            f1.append(2 * tp / denom)
    return float(np.mean(f1)) if f1 else 0.0


def macro_recall(gold: np.ndarray, pred: np.ndarray, n_classes: int) -> float:
    rec = [float((pred[gold == c] == c).mean()) for c in range(n_classes) if (gold == c).any()]
    return float(np.mean(rec))


def micro_f1(gold: np.ndarray, pred: np.ndarray, mask: np.ndarray) -> float:
    g, p = gold[mask] > 0.5, pred[mask]
    tp = int((g & p).sum())
    denom = int(g.sum() + p.sum())
    return 2 * tp / denom if denom else 0.0


def score_validation(preds: Mapping[str, np.ndarray], val: Mapping[str, TaskData]) -> dict[str, float]:
    """Metrics per set and the early-stopping ``score``.

    ``preds``: class ids for sentiment/emotion sets, sigmoid probabilities ``[n, C]`` for aspects.
    ``score`` is the mean of TweetEval macro-recall, SmSA macro-F1, the NusaX 12-language mean
    macro-F1, emotion macro-F1 and aspect micro-F1 - the issue's validation table, each task counted
    once so that emotion and aspects cannot silently get worse.
    """
    m: dict[str, float] = {}
    for name, td in val.items():
        p = preds[name]
        if td.head == "aspects":
            assert td.mask is not None
            m[name] = micro_f1(td.labels, p >= 0.5, td.mask)
        elif name == "tweeteval":
            m[name] = macro_recall(td.labels, p, len(SENTIMENT))
        else:
            m[name] = macro_f1(td.labels, p, len(EMOTION if td.head == "emotion" else SENTIMENT))
    nusax = [v for k, v in m.items() if k.startswith("nusax-")]
    if nusax:
        m["nusax_mean"] = float(np.mean(nusax))
    parts = [m[k] for k in ("tweeteval", "smsa", "nusax_mean", "emotion", "aspects") if k in m]
    m["score"] = float(np.mean(parts)) if parts else 0.0
    return m


# --- the epoch plan --------------------------------------------------------------------------------


def stream_indices(n_rows: int, start: int, count: int, seed: int, stream: int) -> np.ndarray:
    """``count`` indices from position ``start`` of the endless sequence perm_0 + perm_1 + ... of
    ``range(n_rows)``, where perm_k is seeded by (seed, stream, k)."""
    out: list[np.ndarray] = []
    pos, end = start, start + count
    while pos < end:
        k, off = divmod(pos, n_rows)
        perm = np.random.default_rng([seed, stream, k]).permutation(n_rows)
        take = min(n_rows - off, end - pos)
        out.append(perm[off : off + take])
        pos += take
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class Batch:
    stream: str
    indices: tuple[int, ...]


def epoch_plan(
    sizes: Mapping[str, int],
    weights: Mapping[str, float],
    *,
    epoch: int,
    epoch_size: int,
    batch_size: int,
    seed: int,
    length_of: Callable[[str, int], int] | None = None,
    bucket_batches: int = 20,
) -> list[Batch]:
    """The batches of one epoch, in order.  Each batch holds rows of one stream (one head).

    With ``length_of`` (stream, row) -> token count, rows are sorted by length within windows of
    ``bucket_batches`` batches, so a batch pads little; the batch order is then shuffled.
    """
    names = sorted(s for s in sizes if sizes[s] > 0 and weights.get(s, 0.0) > 0)
    total_w = sum(weights[s] for s in names)
    batches: list[Batch] = []
    for si, name in enumerate(names):
        count = round(weights[name] / total_w * epoch_size)
        idx = stream_indices(sizes[name], epoch * count, count, seed, si)
        if length_of is not None:
            window = batch_size * bucket_batches
            idx = np.concatenate([
                sorted(idx[w : w + window], key=lambda i, n=name: (length_of(n, int(i)), int(i)))
                for w in range(0, len(idx), window)
            ]) if len(idx) else idx
        for b in range(0, len(idx), batch_size):
            batches.append(Batch(name, tuple(int(i) for i in idx[b : b + batch_size])))
    order = np.random.default_rng([seed, 1_000_003, epoch]).permutation(len(batches))
    return [batches[i] for i in order]
