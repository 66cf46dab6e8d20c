"""Models and fitting: the numpy heads the ONNX graphs compute, their scikit-learn fitting,
temperature scaling, sample weights and metrics."""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from dengar_nlp.domain.aspects import ASPECT_NAMES
from dengar_nlp.domain.hashed_features import sentiment_bag, sentiment_features

from . import LEX_BUCKETS, LEX_C, NUSAX_LANGS, SEED, STACK_C
from .data import AbsaRow

logger = logging.getLogger(__name__)


@dataclass
class SoftmaxHead:
    """A linear or one-hidden-layer ReLU softmax classifier in plain numpy (what the ONNX runs)."""

    layers: list[tuple[np.ndarray, np.ndarray]]  # (W [in, out], b [out]) per layer
    temperature: float = 1.0
    kind: str = "lr"

    def logits(self, x: np.ndarray) -> np.ndarray:
        h = x.astype(np.float32)
        for i, (w, b) in enumerate(self.layers):
            h = h @ w + b
            if i < len(self.layers) - 1:
                h = np.maximum(h, 0.0)
        return h

    def proba(self, x: np.ndarray, temperature: float | None = None) -> np.ndarray:
        t = self.temperature if temperature is None else temperature
        return softmax(self.logits(x) / t)


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit_softmax_head(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, kind: str, n_classes: int, **params: float
) -> SoftmaxHead:
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    if kind == "lr":
        clf = LogisticRegression(C=params.get("C", 1.0), max_iter=2000, random_state=SEED)
        clf.fit(x, y, sample_weight=w)
        assert list(clf.classes_) == list(range(n_classes))
        return SoftmaxHead(
            [(clf.coef_.T.astype(np.float32).copy(), clf.intercept_.astype(np.float32))], kind="lr"
        )
    clf = MLPClassifier(
        hidden_layer_sizes=(int(params.get("hidden", 256)),),
        alpha=params.get("alpha", 1e-3),
        learning_rate_init=params.get("lr", 1e-3),
        batch_size=256,
        max_iter=200,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=8,
        random_state=SEED,
    )
    clf.fit(x, y, sample_weight=w)
    assert list(clf.classes_) == list(range(n_classes))
    return SoftmaxHead(
        [
            (c.astype(np.float32), b.astype(np.float32))
            for c, b in zip(clf.coefs_, clf.intercepts_, strict=True)
        ],
        kind="mlp",
    )


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """Temperature minimising the NLL of held-out logits (golden-section search on log T)."""

    def nll(log_t: float) -> float:
        p = softmax(logits / np.exp(log_t))
        return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-12, None))))

    lo, hi = np.log(0.05), np.log(20.0)
    g = (np.sqrt(5) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = nll(a), nll(b)
    for _ in range(80):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = nll(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = nll(b)
    return float(np.exp((lo + hi) / 2))


def ece(p: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error of the top label (equal-width confidence bins)."""
    conf = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for lo, hi in pairwise(edges):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            total += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(total)


def macro_f1(y: np.ndarray, pred: np.ndarray, n: int) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y, pred, labels=list(range(n)), average="macro", zero_division=0))


def macro_recall(y: np.ndarray, pred: np.ndarray, n: int) -> float:
    from sklearn.metrics import recall_score

    return float(recall_score(y, pred, labels=list(range(n)), average="macro", zero_division=0))


def stratified_holdout(keys: Sequence[str], frac: float, seed: int = SEED) -> np.ndarray:
    """Boolean mask of a held-out part, ``frac`` of every key (group x label) value."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(keys), dtype=bool)
    by: dict[str, list[int]] = defaultdict(list)
    for i, k in enumerate(keys):
        by[k].append(i)
    for k in sorted(by):
        idx = np.array(by[k])
        rng.shuffle(idx)
        mask[idx[: round(len(idx) * frac)]] = True
    return mask


def sentiment_weights(
    groups: Sequence[str], y: np.ndarray, shares: dict[str, float], class_power: float
) -> np.ndarray:
    """Per-row weights: each data family (tweeteval, smsa, nusax) gets its share of the total weight,
    split evenly over its groups (the 12 NusaX languages), and within a group a row of class c weighs
    count(c)^-class_power (1 = classes balanced, 0 = natural frequencies).  Mean weight is 1."""
    fam = ["nusax" if g.startswith("nusax-") else g for g in groups]
    groups_in_fam = Counter("nusax" if g.startswith("nusax-") else g for g in set(groups))
    counts = Counter(zip(groups, y.tolist(), strict=True))
    norm = Counter()
    for (g, _), n in counts.items():
        norm[g] += n ** (1.0 - class_power)
    w = np.array(
        [
            shares[f] / groups_in_fam[f] * counts[(g, c)] ** -class_power / norm[g]
            for g, f, c in zip(groups, fam, y.tolist(), strict=True)
        ],
        dtype=np.float64,
    )
    return w * len(w) / w.sum()


def eval_sentiment(head: SoftmaxHead, val: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    return eval_sentiment_probs({k: head.proba(x) for k, (x, _) in val.items()},
                                {k: y for k, (_, y) in val.items()})


def eval_sentiment_probs(probs: dict[str, np.ndarray], gold: dict[str, np.ndarray]) -> dict[str, float]:
    out: dict[str, float] = {}
    pred = {k: p.argmax(1) for k, p in probs.items()}
    out["tweeteval_macro_recall"] = macro_recall(gold["tweeteval"], pred["tweeteval"], 3)
    out["tweeteval_macro_f1"] = macro_f1(gold["tweeteval"], pred["tweeteval"], 3)
    out["smsa_macro_f1"] = macro_f1(gold["smsa"], pred["smsa"], 3)
    f1s = []
    for lang in NUSAX_LANGS:
        k = f"nusax-{lang}"
        out[f"nusax_{lang}_macro_f1"] = macro_f1(gold[k], pred[k], 3)
        f1s.append(out[f"nusax_{lang}_macro_f1"])
    out["nusax_avg_macro_f1"] = float(np.mean(f1s))
    out["selection_score"] = (
        out["tweeteval_macro_recall"] + out["smsa_macro_f1"] + out["nusax_avg_macro_f1"]
    ) / 3
    return out


def lexical_matrix(prepared: Sequence[str], n_buckets: int = LEX_BUCKETS):
    """CSR matrix [N, n_buckets] of the lexical sentiment features (what ``sentiment_features`` pads)."""
    from scipy.sparse import csr_matrix

    bags = [sentiment_bag(t, n_buckets) for t in prepared]
    indptr = np.cumsum([0] + [ids.shape[0] for ids, _ in bags])
    cols = np.concatenate([ids for ids, _ in bags]) if bags else np.zeros(0, dtype=np.int64)
    vals = np.concatenate([v for _, v in bags]) if bags else np.zeros(0, dtype=np.float32)
    return csr_matrix((vals, cols, indptr), shape=(len(prepared), n_buckets), dtype=np.float32)


def log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


@dataclass
class SentimentStack:
    """What ``sentiment.onnx`` computes.  The embedding head's logits and the lexical model's
    log-probabilities (a linear model on hashed n-grams) go through a 6 -> 3 logistic regression (the
    stacker, fitted on held-out train rows), then ``softmax(z / temperature)``."""

    emb: SoftmaxHead
    lex_w: np.ndarray  # [n_buckets, 3], float16-representable (the ONNX stores float16)
    lex_b: np.ndarray  # [3]
    stack_w: np.ndarray  # [6, 3]
    stack_b: np.ndarray  # [3]
    temperature: float = 1.0
    kind: str = "stack"

    @property
    def n_buckets(self) -> int:
        return int(self.lex_w.shape[0])

    def lex_logits_csr(self, xs) -> np.ndarray:
        return np.asarray(xs @ self.lex_w, dtype=np.float32) + self.lex_b

    def lex_logits(self, ids: np.ndarray, vals: np.ndarray) -> np.ndarray:
        table = np.vstack([self.lex_w, np.zeros((1, self.lex_w.shape[1]), dtype=np.float32)])
        z = (table[ids].astype(np.float64) * vals[..., None].astype(np.float64)).sum(axis=1)
        return z.astype(np.float32) + self.lex_b

    def logits_from(self, emb_logits: np.ndarray, lex_logits: np.ndarray) -> np.ndarray:
        feats = np.hstack([emb_logits, log_softmax(lex_logits)]).astype(np.float32)
        return feats @ self.stack_w + self.stack_b

    def proba(self, x: np.ndarray, ids: np.ndarray, vals: np.ndarray) -> np.ndarray:
        z = self.logits_from(self.emb.logits(x), self.lex_logits(ids, vals))
        return softmax(z / self.temperature)

    def proba_texts(self, prepared: Sequence[str], x: np.ndarray) -> np.ndarray:
        """Probabilities for prepared texts and their embeddings (as the Analyzer serves them)."""
        ids, vals = sentiment_features(prepared, self.n_buckets)
        return self.proba(x, ids, vals)


def fit_sentiment_stack(
    emb_head: SoftmaxHead,
    cfg: dict,
    x: np.ndarray,
    y: np.ndarray,
    prepared: Sequence[str],
    groups: Sequence[str],
    fit_idx: np.ndarray,
    cal_idx: np.ndarray,
    val: dict[str, tuple[np.ndarray, np.ndarray]],
    val_texts: dict[str, list[str]],
) -> tuple[SentimentStack, dict]:
    """Lexical model on the same train rows as the embedding head, stacker + temperature on the
    held-out train rows; validation is only measured."""
    from sklearn.linear_model import LogisticRegression

    t0 = time.time()
    xs = lexical_matrix(prepared)
    logger.info("lexical features: %d rows, %.0f nnz/row (%.0fs)", xs.shape[0], xs.nnz / xs.shape[0],
                time.time() - t0)
    shares, cpow = cfg["shares"], cfg["class_power"]
    w_fit = sentiment_weights([groups[i] for i in fit_idx], y[fit_idx], shares, cpow)
    lex = LogisticRegression(C=LEX_C, max_iter=300, tol=1e-4)
    lex.fit(xs[fit_idx], y[fit_idx], sample_weight=w_fit)
    assert list(lex.classes_) == [0, 1, 2]
    # The ONNX stores the table as float16: round here so that everything below scores the shipped model.
    lex_w = lex.coef_.T.astype(np.float16).astype(np.float32)
    lex_b = lex.intercept_.astype(np.float32)
    logger.info("lexical model fitted (%.0fs)", time.time() - t0)
    stack = SentimentStack(emb_head, lex_w, lex_b, np.zeros((6, 3), np.float32), np.zeros(3, np.float32))

    z_e, z_l = emb_head.logits(x[cal_idx]), stack.lex_logits_csr(xs[cal_idx])
    w_cal = sentiment_weights([groups[i] for i in cal_idx], y[cal_idx], shares, cpow)
    st = LogisticRegression(C=STACK_C, max_iter=2000)
    st.fit(np.hstack([z_e, log_softmax(z_l)]), y[cal_idx], sample_weight=w_cal)
    stack.stack_w = st.coef_.T.astype(np.float32).copy()
    stack.stack_b = st.intercept_.astype(np.float32)
    logits_cal = stack.logits_from(z_e, z_l)
    stack.temperature = fit_temperature(logits_cal, y[cal_idx])

    lex_probs, stack_probs = {}, {}
    for k, (xv, _) in val.items():
        zl = stack.lex_logits_csr(lexical_matrix(val_texts[k]))
        lex_probs[k] = softmax(zl)
        stack_probs[k] = softmax(stack.logits_from(emb_head.logits(xv), zl) / stack.temperature)
    gold = {k: yv for k, (_, yv) in val.items()}
    m = eval_sentiment_probs(stack_probs, gold)
    m["ece_heldout_before"] = ece(softmax(logits_cal), y[cal_idx])
    m["ece_heldout_after"] = ece(softmax(logits_cal / stack.temperature), y[cal_idx])
    m["temperature"] = stack.temperature
    ys = np.concatenate(list(gold.values()))
    zs = np.concatenate([np.log(np.clip(stack_probs[k], 1e-12, None)) * stack.temperature for k in gold])
    m["ece_val_before"] = ece(softmax(zs), ys)
    m["ece_val_after"] = ece(np.concatenate(list(stack_probs.values())), ys)
    lex_m = eval_sentiment_probs(lex_probs, gold)
    info = {
        "config": {
            "kind": "stack",
            "embedding_head": {k: v for k, v in cfg.items() if k != "seconds"},
            "lexical": {"features": "hashed char 1-5-grams + word uni/bigrams, sqrt tf, L2",
                        "n_buckets": LEX_BUCKETS, "C": LEX_C, "weights": "float16"},
            "stacker": {"inputs": "embedding-head logits + lexical log-probs", "C": STACK_C},
            "seconds": round(time.time() - t0, 1),
        },
        "metrics": m,
        "lexical_only": {k: round(v, 4) for k, v in lex_m.items()},
        "stacker_weights": np.round(stack.stack_w, 4).tolist(),
    }
    logger.info(
        "sentiment stack: TE rec %.4f  SmSA F1 %.4f  NusaX F1 %.4f  (lexical alone %.4f / %.4f / %.4f; "
        "T %.3f, %.0fs)",
        m["tweeteval_macro_recall"], m["smsa_macro_f1"], m["nusax_avg_macro_f1"],
        lex_m["tweeteval_macro_recall"], lex_m["smsa_macro_f1"], lex_m["nusax_avg_macro_f1"],
        stack.temperature, time.time() - t0,
    )
    return stack, info


@dataclass
class AspectHead:
    w: np.ndarray  # [384, C]
    b: np.ndarray  # [C]
    thresholds: np.ndarray  # [C]

    def proba(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(x.astype(np.float32) @ self.w + self.b)))


def _aspect_matrix(
    rows: Sequence[AbsaRow], keyword_sets: Sequence[set[str]]
) -> tuple[np.ndarray, np.ndarray]:
    """Labels [n, C] (1/0) and a mask [n, C] of which labels are trusted."""
    n, c = len(rows), len(ASPECT_NAMES)
    y = np.zeros((n, c), dtype=np.int64)
    mask = np.ones((n, c), dtype=bool)
    for i, (r, kws) in enumerate(zip(rows, keyword_sets, strict=True)):
        for j, name in enumerate(ASPECT_NAMES):
            if name in r.aspects:
                y[i, j] = 1
            elif name in kws:
                # Not labelled, but its keyword is there: unknown rather than a negative.  Even a set
                # that "covers" an aspect covers it only in its own sense (HoASA's facilities are AC, hot
                # water, TV and wifi - not bathrooms, pools or parking).
                mask[i, j] = False
    return y, mask


def fit_aspect_lr(
    x: np.ndarray, y: np.ndarray, mask: np.ndarray, w_row: np.ndarray, c_reg: float
) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    ws, bs = [], []
    for j in range(y.shape[1]):
        m = mask[:, j]
        yj, wj = y[m, j], w_row[m].copy()
        pos = wj[yj == 1].sum()
        neg = wj[yj == 0].sum()
        # Positives get a quarter of the negatives' weight at most: "balanced" would make a 24-phrase
        # aspect fire on everything.
        wj[yj == 1] *= min(neg / max(pos, 1e-9) * 0.25, 50.0) if pos else 1.0
        clf = LogisticRegression(C=c_reg, max_iter=3000, random_state=SEED)
        clf.fit(x[m], yj, sample_weight=wj)
        ws.append(clf.coef_[0])
        bs.append(clf.intercept_[0])
    return np.stack(ws, axis=1).astype(np.float32), np.array(bs, dtype=np.float32)


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "support": tp + fn}
