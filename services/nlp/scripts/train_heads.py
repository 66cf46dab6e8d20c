"""Train the sentiment, emotion and aspect heads on frozen e5 embeddings and export them to ONNX.

    .venv/bin/python services/nlp/scripts/train_heads.py --data /work/shared/data \
        --out services/nlp/models/heads --cache .cache/emb

Every head reads the L2-normalised 384-d embedding of ``OnnxEncoder`` (``models/encoder``) of the
text as prepared by ``dengar_nlp.analyzer.prepare_text`` and writes ``<head>.onnx`` (input
``embedding`` float32 [N, 384], output ``probs`` float32 [N, C]; the temperature is folded in) and
``<head>.json`` (labels, thresholds, data, validation metrics, sha256).  The sentiment model also
takes the hashed char/word n-grams of the prepared text (inputs ``ids`` / ``values`` from
``dengar_nlp.domain.hashed_features.sentiment_features``): a lexical logistic regression stacked with
the embedding head (``SentimentStack``).  ``METRICS.md`` collects the
validation numbers and ``tests/unit/nlp/fixtures/heads_parity.npz`` the parity fixture (random unit
vectors and embeddings of self-written sentences, with the training-time model's probabilities).

Data (from ``--data``; nothing is copied into the repo):
  sentiment  TweetEval sentiment train, IndoNLU SmSA train, NusaX train (12 languages), after removing
             SmSA-train rows that nearly duplicate NusaX-Indonesian valid rows (NusaX was built from
             SmSA, and the other 11 languages are translations of the Indonesian rows) or SmSA valid
             rows, and NusaX-train sentence ids whose Indonesian text nearly duplicates SmSA valid.
  emotion    TweetEval emotion train.
  aspects    SemEval-2014 restaurants + laptops (85% train / 15% held out, seed 13), CASA and HoASA
             train, mapped onto ``dengar_nlp.domain.aspects.TAXONOMY``; the seed phrases of the
             taxonomy as extra positives; TweetEval tweets and SmSA neutral sentences with no
             aspect keyword as background negatives.
Validation: the val/valid splits (TweetEval, SmSA, NusaX, TweetEval emotion, CASA, HoASA) and the
SemEval hold-out.  Model choices are made on a small grid only; the temperature is fitted on a
held-out part of train, never on validation.

Needs scikit-learn and onnx (the ``train`` extra); nothing here is imported by the service.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import logging
import re
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
REPO = ROOT.parents[1]
sys.path.insert(0, str(ROOT))

from dengar_nlp.adapters.encoder import OnnxEncoder  # noqa: E402
from dengar_nlp.analyzer import prepare_text  # noqa: E402
from dengar_nlp.domain.aspects import (  # noqa: E402
    ASPECT_NAMES,
    TAXONOMY,
    default_lexicon,
    detect_aspects,
    plan_aspects,
    resolve_aspects,
)
from dengar_nlp.domain.hashed_features import sentiment_bag, sentiment_features  # noqa: E402
from dengar_nlp.domain.neardup import MinHasher  # noqa: E402
from dengar_nlp.results import EMOTION_LABELS, SENTIMENT_LABELS  # noqa: E402

logger = logging.getLogger("train_heads")

SEED = 13
NUSAX_LANGS = (
    "english",
    "indonesian",
    "javanese",
    "sundanese",
    "minangkabau",
    "balinese",
    "acehnese",
    "banjarese",
    "buginese",
    "madurese",
    "ngaju",
    "toba_batak",
)
# Near-duplicate threshold (estimated Jaccard of char 5-shingles) for the SmSA/NusaX de-duplication.
DUP_JACCARD = 0.5
FIXTURE = REPO / "tests" / "unit" / "nlp" / "fixtures" / "heads_parity.npz"
# Lexical sentiment model (hashed char 1-5-grams + word uni/bigrams, see
# dengar_nlp.domain.hashed_features): hashing space, L2 strength of its logistic regression, and that
# of the 6 -> 3 stacker that combines it with the embedding head.
LEX_BUCKETS = 1 << 18
LEX_C = 4.0
STACK_C = 1.0
EMOTION_SANITY = REPO / "tests" / "unit" / "nlp" / "fixtures" / "emotion_id_sanity.json"


# --- data ----------------------------------------------------------------------------------------


@dataclass
class Rows:
    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)  # data source / language, for weights and reports
    ids: list[str] = field(default_factory=list)

    def add(self, text: str, label: str, group: str, rid: str = "") -> None:
        self.texts.append(text)
        self.labels.append(label)
        self.groups.append(group)
        self.ids.append(rid)

    def extend(self, other: Rows) -> None:
        self.texts += other.texts
        self.labels += other.labels
        self.groups += other.groups
        self.ids += other.ids

    def subset(self, keep: Sequence[bool]) -> Rows:
        out = Rows()
        for i, k in enumerate(keep):
            if k:
                out.add(self.texts[i], self.labels[i], self.groups[i], self.ids[i])
        return out

    def __len__(self) -> int:
        return len(self.texts)


def load_tweeteval(path: Path, group: str = "tweeteval") -> Rows:
    rows = Rows()
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)
        for rec in reader:
            if len(rec) >= 2 and rec[1].strip():
                rows.add(rec[1], rec[0].strip(), group)
    return rows


def load_smsa(path: Path) -> Rows:
    rows = Rows()
    with path.open(encoding="utf-8", newline="") as f:
        for rec in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(rec) >= 2 and rec[0].strip():
                rows.add(rec[0], rec[1].strip(), "smsa")
    return rows


def load_nusax(data: Path, split: str) -> Rows:
    rows = Rows()
    for lang in NUSAX_LANGS:
        with (data / "nusax_senti" / lang / f"{split}.csv").open(encoding="utf-8", newline="") as f:
            for rec in csv.DictReader(f):
                rows.add(rec["text"], rec["label"].strip(), f"nusax-{lang}", rec["id"])
    return rows


@dataclass
class AbsaRow:
    text: str
    source: str
    # taxonomy aspect -> "positive" | "negative" | "neutral" | "conflict"
    aspects: dict[str, str]


# Which taxonomy aspects a source labels (its scored aspects in validation; in training any row without
# the gold label and without a keyword of the aspect is a negative).
COVERAGE: dict[str, frozenset[str]] = {
    "semeval-restaurants": frozenset({"product_quality", "price", "ambience", "customer_service"}),
    "semeval-laptops": frozenset({"product_quality", "price", "customer_service"}),
    "casa": frozenset({"product_quality", "price", "customer_service"}),
    "hoasa": frozenset({"facilities", "cleanliness", "customer_service"}),
}
CASA_MAP = {
    "fuel": "product_quality",
    "machine": "product_quality",
    "part": "product_quality",
    "price": "price",
    "service": "customer_service",
}
HOASA_MAP = {
    "ac": "facilities",
    "air_panas": "facilities",
    "tv": "facilities",
    "wifi": "facilities",
    "bau": "cleanliness",
    "kebersihan": "cleanliness",
    "linen": "cleanliness",
    "service": "customer_service",
    "sunrise_meal": "product_quality",
}
_STAFF_TERM = re.compile(
    r"\b(staff|waiter|waiters|waitress|waitresses|wait ?staff|server|servers|hostess|host|manager|"
    r"bartender|owner|owners|chef|cashier|employee|employees|tech guy|salesman|sales ?person|rep|"
    r"representative|agent|people)\b"
)
_STAFF_ID = re.compile(
    r"\b(staf|staff|karyawan|pegawai|petugas|resepsionis|receptionist|satpam|"
    r"pelayan|mbak|mas|bapak|ibu)\w*"
)
_LAPTOP_TERMS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("price", re.compile(r"\b(price|prices|priced|cost|costs|value|money|deal|expensive|cheap)\b")),
    ("payment", re.compile(r"\b(refund|rebate|payment|paid)\b")),
    ("delivery", re.compile(r"\b(shipping|delivery|shipped|ship)\b")),
    (
        "customer_service",
        re.compile(
            r"\b(service|support|warranty|warrenty|customer|repair|repairs|geek squad|help|call|return)\b"
        ),
    ),
)
_RESTAURANT_TERMS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("booking", re.compile(r"\b(reservation|reservations|booking|booked|order|ordering)\b")),
    ("delivery", re.compile(r"\b(delivery|delivered|deliver|take ?out|takeout)\b")),
)
_POL3 = {
    "positive": "positive",
    "negative": "negative",
    "neutral": "neutral",
    "conflict": "conflict",
    "pos": "positive",
    "neg": "negative",
    "neut": "neutral",
    "neg_pos": "conflict",
}


def _merge_pol(d: dict[str, str], aspect: str, pol: str) -> None:
    pol = _POL3[pol]
    prev = d.get(aspect)
    d[aspect] = pol if prev is None or prev == pol else "conflict"


def load_semeval(path: Path, source: str) -> list[AbsaRow]:
    out = []
    for s in ET.parse(path).getroot().iter("sentence"):
        text = (s.findtext("text") or "").strip()
        if not text:
            continue
        aspects: dict[str, str] = {}
        terms = [(t.get("term", "").lower(), t.get("polarity", "neutral")) for t in s.iter("aspectTerm")]
        if source == "semeval-restaurants":
            for c in s.iter("aspectCategory"):
                cat, pol = c.get("category", ""), c.get("polarity", "neutral")
                if cat == "food":
                    _merge_pol(aspects, "product_quality", pol)
                elif cat == "price":
                    _merge_pol(aspects, "price", pol)
                elif cat == "ambience":
                    _merge_pol(aspects, "ambience", pol)
                elif cat == "service":
                    staff = [(t, p) for t, p in terms if _STAFF_TERM.search(t)]
                    for _, p in staff:
                        _merge_pol(aspects, "staff", p)
                    if not staff or re.search(r"\bservice\b", text.lower()):
                        _merge_pol(aspects, "customer_service", pol)
            for t, p in terms:
                for name, rx in _RESTAURANT_TERMS:
                    if rx.search(t):
                        _merge_pol(aspects, name, p)
        else:
            for t, p in terms:
                target = "product_quality"
                if _STAFF_TERM.search(t):
                    target = "staff"
                else:
                    for name, rx in _LAPTOP_TERMS:
                        if rx.search(t):
                            target = name
                            break
                _merge_pol(aspects, target, p)
        out.append(AbsaRow(text, source, aspects))
    return out


def load_casa(path: Path) -> list[AbsaRow]:
    out = []
    with path.open(encoding="utf-8", newline="") as f:
        for rec in csv.DictReader(f):
            aspects: dict[str, str] = {}
            for col, target in CASA_MAP.items():
                if rec[col] != "neutral":  # CASA "neutral" = not mentioned
                    _merge_pol(aspects, target, rec[col])
            out.append(AbsaRow(rec["sentence"], "casa", aspects))
    return out


def load_hoasa(path: Path) -> list[AbsaRow]:
    out = []
    with path.open(encoding="utf-8", newline="") as f:
        for rec in csv.DictReader(f):
            text = rec["review"]
            aspects: dict[str, str] = {}
            for col, target in HOASA_MAP.items():
                if rec[col] == "neut":  # HoASA "neut" = not mentioned
                    continue
                if col == "service" and _STAFF_ID.search(text.lower()):
                    _merge_pol(aspects, "staff", rec[col])
                    if not re.search(r"\b(pelayanan|layanan|service|servis)", text.lower()):
                        continue
                _merge_pol(aspects, target, rec[col])
            out.append(AbsaRow(text, "hoasa", aspects))
    return out


# --- embeddings ----------------------------------------------------------------------------------


class EmbeddingCache:
    """Embeddings of prepared texts keyed by the SHA-1 of the text, as npz shards in one directory per
    encoder version, so that re-runs (and interrupted runs) never re-encode a text.

    Texts are encoded one at a time, exactly as the Analyzer does: the int8 encoder quantises
    activations per tensor, so an embedding computed inside a padded batch depends on its batch
    mates.  Encoding alone makes every embedding (and so the training run) reproducible from scratch
    and leaves no train/serve skew.
    """

    def __init__(self, root: Path, encoder: OnnxEncoder, prefix: str = "query: ") -> None:
        ident = f"{encoder.model_version}|{prefix}|{encoder.max_length}|bs1"
        self.dir = root / hashlib.sha256(ident.encode()).hexdigest()[:12]
        self.dir.mkdir(parents=True, exist_ok=True)
        self.encoder = encoder
        self.prefix = prefix
        self._index: dict[bytes, np.ndarray] = {}
        for shard in sorted(self.dir.glob("shard-*.npz")):
            with np.load(shard) as z:
                # Keys are stored as uint8 [n, 20]: a bytes ("S20") array would drop trailing NULs.
                for k, v in zip(z["keys"], z["emb"], strict=True):
                    self._index.setdefault(k.tobytes(), v)
        logger.info("embedding cache %s: %d vectors", self.dir, len(self._index))

    @staticmethod
    def _key(text: str) -> bytes:
        return hashlib.sha1(text.encode("utf-8")).digest()

    def embed(self, texts: Sequence[str], *, prepared: bool = False, chunk: int = 2048) -> np.ndarray:
        ready = list(texts) if prepared else [prepare_text(t) for t in texts]
        keys = [self._key(t) for t in ready]
        missing = {k: t for k, t in zip(keys, ready, strict=True) if k not in self._index}
        todo = list(missing.items())
        for start in range(0, len(todo), chunk):
            part = todo[start : start + chunk]
            emb = self.encoder.encode([t for _, t in part], prefix=self.prefix, batch_size=1)
            key_arr = np.frombuffer(b"".join(k for k, _ in part), dtype=np.uint8).reshape(len(part), 20)
            name = hashlib.sha1(key_arr.tobytes()).hexdigest()[:16]
            np.savez(self.dir / f"shard-{name}.npz", keys=key_arr, emb=emb)
            for (k, _), v in zip(part, emb, strict=True):
                self._index[k] = v
            logger.info("encoded %d/%d new texts", min(start + chunk, len(todo)), len(todo))
        if not keys:
            return np.zeros((0, self.encoder.dim), dtype=np.float32)
        return np.stack([self._index[k] for k in keys]).astype(np.float32)


# --- models --------------------------------------------------------------------------------------


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


# --- sentiment -----------------------------------------------------------------------------------


def dedup_sentiment(
    train_smsa: Rows, train_nusax: Rows, val_smsa: Rows, val_nusax: Rows
) -> tuple[Rows, Rows, dict]:
    mh = MinHasher()
    sig_train = mh.signatures(train_smsa.texts)

    def near(queries: Sequence[str], ref: np.ndarray) -> np.ndarray:
        """For each reference row: is it a near duplicate of any query?"""
        hit = np.zeros(len(ref), dtype=bool)
        for q in mh.signatures(list(queries)):
            if mh.is_empty(q):
                continue
            hit |= (ref == q).mean(axis=1) >= DUP_JACCARD
        return hit

    nusax_id_val = [
        t for t, g in zip(val_nusax.texts, val_nusax.groups, strict=True) if g == "nusax-indonesian"
    ]
    drop_smsa_nusax = near(nusax_id_val, sig_train)
    drop_smsa_smsa = near(val_smsa.texts, sig_train)
    keep_smsa = ~(drop_smsa_nusax | drop_smsa_smsa)
    id_rows = [
        (i, t)
        for i, (t, g) in enumerate(zip(train_nusax.texts, train_nusax.groups, strict=True))
        if g == "nusax-indonesian"
    ]
    sig_val_smsa = mh.signatures(val_smsa.texts)
    bad_ids = set()
    for i, t in id_rows:
        s = mh.signature(t)
        if not mh.is_empty(s) and ((sig_val_smsa == s).mean(axis=1) >= DUP_JACCARD).any():
            bad_ids.add(train_nusax.ids[i])
    keep_nusax = [rid not in bad_ids for rid in train_nusax.ids]
    report = {
        "smsa_train_rows_dropped_near_nusax_id_valid": int(drop_smsa_nusax.sum()),
        "smsa_train_rows_dropped_near_smsa_valid": int((drop_smsa_smsa & ~drop_smsa_nusax).sum()),
        "nusax_train_ids_dropped_near_smsa_valid": len(bad_ids),
        "near_duplicate_rule": f"estimated Jaccard of char 5-shingles >= {DUP_JACCARD} (MinHash, 128 perm)",
    }
    logger.info("dedup: %s", report)
    return train_smsa.subset(keep_smsa), train_nusax.subset(keep_nusax), report


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


def train_sentiment(data: Path, cache: EmbeddingCache, quick: bool) -> tuple[SentimentStack, dict]:
    lab = {name: i for i, name in enumerate(SENTIMENT_LABELS)}
    te_train = load_tweeteval(data / "tweeteval_sentiment" / "train.tsv")
    te_val = load_tweeteval(data / "tweeteval_sentiment" / "val.tsv")
    smsa_train = load_smsa(data / "indonlu_smsa" / "train_preprocess.tsv")
    smsa_val = load_smsa(data / "indonlu_smsa" / "valid_preprocess.tsv")
    nusax_train = load_nusax(data, "train")
    nusax_val = load_nusax(data, "valid")
    smsa_train, nusax_train, dedup = dedup_sentiment(smsa_train, nusax_train, smsa_val, nusax_val)
    train = Rows()
    for r in (te_train, smsa_train, nusax_train):
        train.extend(r)
    x = cache.embed(train.texts)
    y = np.array([lab[v] for v in train.labels])
    val: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    val_texts: dict[str, list[str]] = {}
    for rows in (te_val, smsa_val):
        val[rows.groups[0]] = (cache.embed(rows.texts), np.array([lab[v] for v in rows.labels]))
        val_texts[rows.groups[0]] = [prepare_text(t) for t in rows.texts]
    xv = cache.embed(nusax_val.texts)
    for lang in NUSAX_LANGS:
        m = np.array([g == f"nusax-{lang}" for g in nusax_val.groups])
        val[f"nusax-{lang}"] = (
            xv[m],
            np.array([lab[v] for v, k in zip(nusax_val.labels, m, strict=True) if k]),
        )
        val_texts[f"nusax-{lang}"] = [prepare_text(t) for t, k in zip(nusax_val.texts, m, strict=True) if k]

    # Temperature (and MLP early stopping) never see validation: 10% of train is held out for it.
    held = stratified_holdout([f"{g}|{v}" for g, v in zip(train.groups, train.labels, strict=True)], 0.10)
    fit_idx, cal_idx = np.flatnonzero(~held), np.flatnonzero(held)
    base = {"tweeteval": 0.4, "smsa": 0.25, "nusax": 0.35}
    nusax_heavy = {"tweeteval": 0.3, "smsa": 0.2, "nusax": 0.5}
    # (kind, params, class_power, family shares): a deliberately small grid.
    grid: list[tuple[str, dict[str, float], float, dict[str, float]]] = [
        ("lr", {"C": 1.0}, 1.0, base),
        ("lr", {"C": 1.0}, 0.5, base),
        ("mlp", {"hidden": 256, "alpha": 1e-3}, 1.0, base),
        ("mlp", {"hidden": 256, "alpha": 1e-3}, 0.5, base),
        ("mlp", {"hidden": 512, "alpha": 1e-2}, 0.5, base),
        ("mlp", {"hidden": 512, "alpha": 1e-2}, 0.5, nusax_heavy),
    ]
    if quick:
        grid = grid[:1]
    results = []
    best: tuple[float, SoftmaxHead, dict] | None = None
    for kind, params, cpow, shares in grid:
        t0 = time.time()
        w = sentiment_weights([train.groups[i] for i in fit_idx], y[fit_idx], shares, cpow)
        head = fit_softmax_head(x[fit_idx], y[fit_idx], w, kind, 3, **params)
        logits_cal = head.logits(x[cal_idx])
        head.temperature = fit_temperature(logits_cal, y[cal_idx])
        m = eval_sentiment(head, val)
        m["ece_heldout_before"] = ece(softmax(logits_cal), y[cal_idx])
        m["ece_heldout_after"] = ece(softmax(logits_cal / head.temperature), y[cal_idx])
        m["temperature"] = head.temperature
        cfg = {
            "kind": kind,
            **params,
            "class_power": cpow,
            "shares": shares,
            "seconds": round(time.time() - t0, 1),
        }
        results.append({"config": cfg, "metrics": {k: round(v, 4) for k, v in m.items()}})
        logger.info(
            "sentiment %s: TE rec %.4f  SmSA F1 %.4f  NusaX F1 %.4f  (T %.3f, %.0fs)",
            cfg,
            m["tweeteval_macro_recall"],
            m["smsa_macro_f1"],
            m["nusax_avg_macro_f1"],
            head.temperature,
            time.time() - t0,
        )
        if best is None or m["selection_score"] > best[0]:
            best = (m["selection_score"], head, {"config": cfg, "metrics": m})
    assert best is not None
    _, emb_head, emb_chosen = best
    # ECE on validation too (reported, not used for anything).
    xs = np.concatenate([v[0] for v in val.values()])
    ys = np.concatenate([v[1] for v in val.values()])
    emb_chosen["metrics"]["ece_val_before"] = ece(softmax(emb_head.logits(xs)), ys)
    emb_chosen["metrics"]["ece_val_after"] = ece(emb_head.proba(xs), ys)
    # The served model: the chosen embedding head stacked with the lexical model.
    head, chosen = fit_sentiment_stack(
        emb_head, emb_chosen["config"], x, y, [prepare_text(t) for t in train.texts], train.groups,
        fit_idx, cal_idx, val, val_texts,
    )
    info = {
        "chosen": chosen,
        "embedding_head": emb_chosen,
        "grid": results,
        "dedup": dedup,
        "train_rows": dict(Counter("nusax" if g.startswith("nusax-") else g for g in train.groups)),
        "calibration_rows": len(cal_idx),
    }
    return head, info


# --- emotion -------------------------------------------------------------------------------------


def train_emotion(data: Path, cache: EmbeddingCache, quick: bool) -> tuple[SoftmaxHead, dict]:
    lab = {name: i for i, name in enumerate(EMOTION_LABELS)}
    tr = load_tweeteval(data / "tweeteval_emotion" / "train.tsv", "emotion")
    va = load_tweeteval(data / "tweeteval_emotion" / "val.tsv", "emotion")
    x, y = cache.embed(tr.texts), np.array([lab[v] for v in tr.labels])
    xv, yv = cache.embed(va.texts), np.array([lab[v] for v in va.labels])
    held = stratified_holdout(tr.labels, 0.15)
    fit_idx, cal_idx = np.flatnonzero(~held), np.flatnonzero(held)
    counts = np.bincount(y[fit_idx], minlength=4).astype(np.float64)
    grid = [
        ("lr", {"C": 1.0}),
        ("lr", {"C": 4.0}),
        ("mlp", {"hidden": 256, "alpha": 1e-2}),
        ("mlp", {"hidden": 128, "alpha": 1e-1}),
    ]
    if quick:
        grid = grid[:1]
    results = []
    best: tuple[float, SoftmaxHead, dict] | None = None
    sanity = json.loads(EMOTION_SANITY.read_text(encoding="utf-8")) if EMOTION_SANITY.exists() else []
    xs = cache.embed([s["text"] for s in sanity]) if sanity else None
    for kind, params in grid:
        w = (1.0 / counts[y[fit_idx]]) * len(fit_idx) / 4
        head = fit_softmax_head(x[fit_idx], y[fit_idx], w, kind, 4, **params)
        logits_cal = head.logits(x[cal_idx])
        head.temperature = fit_temperature(logits_cal, y[cal_idx])
        pred = head.proba(xv).argmax(1)
        m = {
            "val_macro_f1": macro_f1(yv, pred, 4),
            "val_accuracy": float((pred == yv).mean()),
            "ece_heldout_before": ece(softmax(logits_cal), y[cal_idx]),
            "ece_heldout_after": ece(softmax(logits_cal / head.temperature), y[cal_idx]),
            "ece_val_before": ece(softmax(head.logits(xv)), yv),
            "ece_val_after": ece(head.proba(xv), yv),
            "temperature": head.temperature,
        }
        if xs is not None:
            sp = head.proba(xs).argmax(1)
            m["id_sanity_accuracy"] = float(
                np.mean([EMOTION_LABELS[p] == s["label"] for p, s in zip(sp, sanity, strict=True)])
            )
        cfg = {"kind": kind, **params}
        results.append({"config": cfg, "metrics": {k: round(v, 4) for k, v in m.items()}})
        logger.info("emotion %s: %s", cfg, {k: round(v, 4) for k, v in m.items()})
        if best is None or m["val_macro_f1"] > best[0]:
            best = (m["val_macro_f1"], head, {"config": cfg, "metrics": m})
    assert best is not None
    _, head, chosen = best
    return head, {
        "chosen": chosen,
        "grid": results,
        "train_rows": len(fit_idx),
        "calibration_rows": len(cal_idx),
        "id_sanity_n": len(sanity),
    }


# --- aspects -------------------------------------------------------------------------------------


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


def train_aspects(
    data: Path, cache: EmbeddingCache, sentiment: SentimentStack, quick: bool
) -> tuple[AspectHead, dict]:
    lex = default_lexicon()
    rest = load_semeval(data / "semeval2014_absa" / "Restaurants_Train_v2.xml", "semeval-restaurants")
    lap = load_semeval(data / "semeval2014_absa" / "Laptop_Train_v2.xml", "semeval-laptops")
    semeval = rest + lap
    hold = stratified_holdout([r.source for r in semeval], 0.15)
    train_rows = [r for r, h in zip(semeval, hold, strict=True) if not h]
    val_sets = {
        "semeval-restaurants": [
            r for r, h in zip(semeval, hold, strict=True) if h and r.source == "semeval-restaurants"
        ],
        "semeval-laptops": [
            r for r, h in zip(semeval, hold, strict=True) if h and r.source == "semeval-laptops"
        ],
        "casa": load_casa(data / "indonlu_casa" / "valid_preprocess.csv"),
        "hoasa": load_hoasa(data / "indonlu_hoasa" / "valid_preprocess.csv"),
    }
    train_rows += load_casa(data / "indonlu_casa" / "train_preprocess.csv")
    train_rows += load_hoasa(data / "indonlu_hoasa" / "train_preprocess.csv")
    # Seed phrases: positives for their aspect, unknown for the others' keywords, negatives otherwise.
    proto_rows = [AbsaRow(p, "prototype", {a.name: "positive"}) for a in TAXONOMY for p in a.prototypes]
    # Background: tweets and Indonesian news/comments with no aspect keyword at all.
    rng = np.random.default_rng(SEED)
    te = load_tweeteval(data / "tweeteval_sentiment" / "train.tsv")
    smsa = load_smsa(data / "indonlu_smsa" / "train_preprocess.tsv")
    bg = [
        t for t in (te.texts[i] for i in rng.permutation(len(te))[:6000]) if not lex.aspects(prepare_text(t))
    ][:4000]
    bg += [
        t
        for t, lab in zip(smsa.texts, smsa.labels, strict=True)
        if lab == "neutral" and not lex.aspects(prepare_text(t))
    ][:1000]
    bg_rows = [AbsaRow(t, "background", {}) for t in bg]
    all_rows = train_rows + proto_rows + bg_rows
    prepared = [prepare_text(r.text) for r in all_rows]
    kw = [lex.aspects(t) for t in prepared]
    y, mask = _aspect_matrix(all_rows, kw)
    x = cache.embed(prepared, prepared=True)
    src = np.array([r.source for r in all_rows])
    w_row = np.ones(len(all_rows))
    w_row[src == "prototype"] = 3.0
    w_row[src == "background"] = 0.5

    # Thresholds from 3-fold out-of-fold probabilities on train (never on validation).
    folds = rng.permutation(len(all_rows)) % 3
    c_reg = 4.0
    oof = np.zeros(y.shape, dtype=np.float64)
    for k in range(3):
        tr = folds != k
        w, b = fit_aspect_lr(x[tr], y[tr], mask[tr], w_row[tr], c_reg)
        oof[~tr] = 1 / (1 + np.exp(-(x[~tr] @ w + b)))
    thresholds = np.zeros(len(ASPECT_NAMES), dtype=np.float32)
    thr_info = {}
    for j, name in enumerate(ASPECT_NAMES):
        m = mask[:, j] & (src != "prototype")
        pos = int(y[m, j].sum())
        if pos >= 30:
            best_t, best_f = 0.5, -1.0
            for t in np.arange(0.2, 0.95, 0.025):
                pred = oof[m, j] >= t
                tp = int((pred & (y[m, j] == 1)).sum())
                f = 2 * tp / max(int(pred.sum()) + pos, 1)
                if f > best_f:
                    best_t, best_f = float(t), f
            thresholds[j] = best_t
            thr_info[name] = {
                "rule": "max out-of-fold F1 on train",
                "oof_f1": round(best_f, 4),
                "positives": pos,
            }
        else:
            # Seed phrases only (or nearly): fire only above what 99.5% of the negatives reach.
            neg = oof[m & (y[:, j] == 0), j]
            thresholds[j] = float(max(0.5, np.quantile(neg, 0.995)))
            thr_info[name] = {
                "rule": "max(0.5, 99.5th pct of out-of-fold negatives)",
                "positives": pos,
                "prototype_oof_recall": round(
                    float((oof[(src == "prototype") & (y[:, j] == 1), j] >= thresholds[j]).mean()), 4
                ),
            }
    w, b = fit_aspect_lr(x, y, mask, w_row, c_reg)
    head = AspectHead(w, b, thresholds)
    metrics = evaluate_aspects(head, sentiment, cache, val_sets)
    info = {
        "train_rows": dict(Counter(r.source for r in all_rows)),
        "positives_per_aspect": {n: int(y[:, j].sum()) for j, n in enumerate(ASPECT_NAMES)},
        "thresholds_by_name": {n: round(float(t), 4) for n, t in zip(ASPECT_NAMES, thresholds, strict=True)},
        "threshold_rule": thr_info,
        "C": c_reg,
        "validation": metrics,
        "mapping": {
            "casa": CASA_MAP,
            "hoasa": HOASA_MAP,
            "semeval-restaurants": "food->product_quality, price->price, ambience->ambience, "
            "service->customer_service (staff when the aspect terms are people), terms: "
            "reservation->booking, delivery/takeout->delivery",
            "semeval-laptops": "aspect terms: price/cost/value->price, warranty/support/service->"
            "customer_service, shipping->delivery, refund/rebate->payment, people->staff, "
            "everything else->product_quality",
        },
        "coverage": {k: sorted(v) for k, v in COVERAGE.items()},
    }
    return head, info


def evaluate_aspects(
    head: AspectHead, sentiment: SentimentStack, cache: EmbeddingCache, val_sets: dict[str, list[AbsaRow]]
) -> dict:
    """Detection P/R/F1 on the aspects each set covers, and polarity accuracy on gold aspects (the
    serving rule ``plan_aspects``/``resolve_aspects`` vs. clause-only and post-only polarity)."""
    lex = default_lexicon()
    names = list(ASPECT_NAMES)
    out: dict[str, dict] = {}
    for ds, rows in val_sets.items():
        prepared = [prepare_text(r.text) for r in rows]
        x = cache.embed(prepared, prepared=True)
        probs = head.proba(x)
        sent_post = sentiment.proba_texts(prepared, x)
        cov = sorted(COVERAGE[ds])
        counts = {mode: {a: [0, 0, 0] for a in cov} for mode in ("model", "keywords", "combined")}
        extra_fp: Counter[str] = Counter()  # uncovered aspects the model fires with no gold and no keyword
        n_pol: Counter[str] = Counter()
        pol_ok: Counter[tuple[str, str]] = Counter()
        for i, (r, text) in enumerate(zip(rows, prepared, strict=True)):
            kw = lex.aspects(text)
            modes = {
                "model": {n for j, n in enumerate(names) if probs[i, j] >= head.thresholds[j]},
                "keywords": kw,
                "combined": set(detect_aspects(probs[i], head.thresholds, names, kw)),
            }
            for mode, found in modes.items():
                for a in cov:
                    g, p = a in r.aspects, a in found
                    counts[mode][a][0] += g and p
                    counts[mode][a][1] += p and not g
                    counts[mode][a][2] += g and not p
            for a in modes["model"] - set(cov) - set(r.aspects) - kw:
                extra_fp[a] += 1
        # Polarity of gold aspects, with the serving rule; clause texts embedded in one batch.
        plans = []
        for i, (r, text) in enumerate(zip(rows, prepared, strict=True)):
            gold = {a: p for a, p in r.aspects.items() if p != "conflict"}
            if gold:
                plan = plan_aspects(
                    text, probs[i], head.thresholds, names, lex, detected=dict.fromkeys(gold, 1.0)
                )
                plans.append((i, gold, plan))
        cache.embed([plan.clauses[k].text for _, _, plan in plans for k in plan.encode], prepared=True)
        for i, gold, plan in plans:
            clause_texts = [plan.clauses[k].text for k in plan.encode]
            cs = sentiment.proba_texts(clause_texts, cache.embed(clause_texts, prepared=True))
            variants = {
                "served": resolve_aspects(plan, sent_post[i], cs, SENTIMENT_LABELS),
                "clause": resolve_aspects(plan, sent_post[i], cs, SENTIMENT_LABELS, clause_weight=1.0),
                "post": resolve_aspects(plan, sent_post[i], cs, SENTIMENT_LABELS, clause_weight=0.0),
            }
            for v, resolved in variants.items():
                for name, pol, _ in resolved:
                    pol_ok[(v, gold[name])] += pol == gold[name]
            for name in gold:
                n_pol[gold[name]] += 1
        res: dict[str, object] = {"n_sentences": len(rows)}
        for mode, c in counts.items():
            per = {a: prf(*v) for a, v in c.items()}
            tp, fp, fn = (sum(v[k] for v in c.values()) for k in range(3))
            res[mode] = {
                "micro": prf(tp, fp, fn),
                "macro_f1": round(float(np.mean([p["f1"] for p in per.values()])), 4),
                "per_aspect": per,
            }
        res["uncovered_model_fires_per_100"] = {
            a: round(100 * v / len(rows), 2) for a, v in sorted(extra_fp.items())
        }
        total = sum(n_pol.values())
        res["polarity"] = {"n": total, "gold": dict(n_pol)}
        for v in ("served", "clause", "post"):
            res["polarity"][f"accuracy_{v}"] = round(sum(pol_ok[(v, g)] for g in n_pol) / max(total, 1), 4)
        out[ds] = res
        logger.info(
            "aspects %s: combined micro %s macro %.4f | model micro %s | polarity %s",
            ds,
            res["combined"]["micro"],
            res["combined"]["macro_f1"],
            res["model"]["micro"],
            res["polarity"],
        )
    return out


# --- export --------------------------------------------------------------------------------------


def _mlp_nodes(layers: list[tuple[np.ndarray, np.ndarray]], *, temperature: float | None = None):
    """Initializers and MatMul/Add/Relu nodes of an MLP over the ``embedding`` input, and the name of
    its output (logits). ``temperature`` divides the last layer."""
    from onnx import helper, numpy_helper

    inits, nodes = [], []
    h = "embedding"
    for i, (w, b) in enumerate(layers):
        w = w.astype(np.float32)
        b = b.astype(np.float32)
        if i == len(layers) - 1 and temperature is not None:
            w = (w / np.float32(temperature)).astype(np.float32)
            b = (b / np.float32(temperature)).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"W{i}"), numpy_helper.from_array(b, f"b{i}")]
        nodes += [
            helper.make_node("MatMul", [h, f"W{i}"], [f"mm{i}"]),
            helper.make_node("Add", [f"mm{i}", f"b{i}"], [f"z{i}"]),
        ]
        h = f"z{i}"
        if i < len(layers) - 1:
            nodes.append(helper.make_node("Relu", [h], [f"r{i}"]))
            h = f"r{i}"
    return inits, nodes, h


def _checked_model(graph):
    import onnx
    from onnx import helper

    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="dengar-train_heads"
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def _onnx_graph(name: str, layers: list[tuple[np.ndarray, np.ndarray]], final: str, temperature: float = 1.0):
    from onnx import TensorProto, helper

    dim = layers[0][0].shape[0]
    n_out = layers[-1][0].shape[1]
    # Temperature folded into the last layer: softmax((xW + b) / T) = softmax(x(W/T) + b/T).
    inits, nodes, h = _mlp_nodes(layers, temperature=temperature if final == "softmax" else None)
    if final == "softmax":
        nodes.append(helper.make_node("Softmax", [h], ["probs"], axis=1))
    else:
        nodes.append(helper.make_node("Sigmoid", [h], ["probs"]))
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", dim])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", n_out])],
        inits,
    )
    return _checked_model(graph)


def _sentiment_graph(stack: SentimentStack):
    """``embedding`` [N, 384] + lexical ``ids`` int64 [N, L] / ``values`` float32 [N, L] -> ``probs``.

    The embedding head's logits, the lexical model's log-softmax (a float16 table gathered by bucket id,
    weighted by value and summed, as in ``langid.onnx``; row ``n_buckets`` is the zero padding row) and
    the stacker with the temperature folded in.
    """
    from onnx import TensorProto, helper, numpy_helper

    layers = stack.emb.layers
    dim = layers[0][0].shape[0]
    table = np.zeros((stack.n_buckets + 1, 3), dtype=np.float16)
    table[: stack.n_buckets] = stack.lex_w.astype(np.float16)
    t = np.float32(stack.temperature)
    inits = [
        numpy_helper.from_array(table, "LexW16"),
        numpy_helper.from_array(stack.lex_b.astype(np.float32), "lex_b"),
        numpy_helper.from_array(np.array([2], dtype=np.int64), "axis2"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
        numpy_helper.from_array((stack.stack_w / t).astype(np.float32), "StackW"),
        numpy_helper.from_array((stack.stack_b / t).astype(np.float32), "stack_b"),
    ]
    mlp_inits, nodes, h = _mlp_nodes(layers)
    inits += mlp_inits
    nodes += [
        # Products and sum in float64: a float32 ReduceSum rounds differently with the padded length L,
        # so a post's scores would move with the longest post of its batch.  fp16 x fp32 products are
        # exact in float64, and the float64 sum's order effects vanish when it is rounded to float32.
        helper.make_node("Gather", ["LexW16", "ids"], ["g16"], axis=0),
        helper.make_node("Cast", ["g16"], ["g"], to=TensorProto.DOUBLE),
        helper.make_node("Cast", ["values"], ["v64"], to=TensorProto.DOUBLE),
        helper.make_node("Unsqueeze", ["v64", "axis2"], ["v3"]),
        helper.make_node("Mul", ["g", "v3"], ["gv"]),
        helper.make_node("ReduceSum", ["gv", "axis1"], ["lz64"], keepdims=0),
        helper.make_node("Cast", ["lz64"], ["lz"], to=TensorProto.FLOAT),
        helper.make_node("Add", ["lz", "lex_b"], ["lex_logits"]),
        helper.make_node("LogSoftmax", ["lex_logits"], ["lex_logp"], axis=1),
        helper.make_node("Concat", [h, "lex_logp"], ["stack_in"], axis=1),
        helper.make_node("MatMul", ["stack_in", "StackW"], ["smm"]),
        helper.make_node("Add", ["smm", "stack_b"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "sentiment",
        [
            helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", dim]),
            helper.make_tensor_value_info("ids", TensorProto.INT64, ["N", "L"]),
            helper.make_tensor_value_info("values", TensorProto.FLOAT, ["N", "L"]),
        ],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 3])],
        inits,
    )
    return _checked_model(graph)


def export_head(out_dir: Path, name: str, model, meta: dict) -> str:
    import onnx

    path = out_dir / f"{name}.onnx"
    onnx.save_model(model, str(path))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    meta = {**meta, "file": path.name, "bytes": path.stat().st_size, "sha256": digest}
    (out_dir / f"{name}.json").write_text(
        json.dumps(_jsonable(meta), indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    logger.info("wrote %s (%d bytes, sha256 %s)", path, meta["bytes"], digest[:12])
    return digest


def _jsonable(o):
    if isinstance(o, dict):
        return {str(k): _jsonable(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_jsonable(v) for v in o]
    if isinstance(o, np.floating | float):
        return round(float(o), 6)
    if isinstance(o, np.integer):
        return int(o)
    return o


FIXTURE_SENTENCES = (
    "I love this phone, the camera is amazing",
    "worst airline ever, lost my bag and nobody cares",
    "the meeting has been moved to Thursday",
    "makanannya enak tapi pengirimannya telat banget",
    "aplikasinya error terus dari kemarin, kecewa",
    "harganya terjangkau dan pelayanannya ramah",
    "wis suwe ora mangan sate, enak tenan",
    "",
)


def write_fixture(
    encoder: OnnxEncoder, heads: dict[str, Callable[[np.ndarray], np.ndarray]], sentiment: SentimentStack
) -> None:
    """Rows 0-7: random unit vectors, rows 8-15: the sentences' embeddings; the sentiment model's
    lexical inputs are the sentences' features for both halves (so that random embeddings meet real
    n-grams too).  The sentences are stored, so the test also checks the featurizer."""
    rng = np.random.default_rng(SEED)
    rand = rng.normal(size=(8, encoder.dim)).astype(np.float32)
    rand /= np.linalg.norm(rand, axis=1, keepdims=True)
    prepared = [prepare_text(t) for t in FIXTURE_SENTENCES]
    texts = encoder.encode(prepared)
    x = np.concatenate([rand, texts]).astype(np.float32)
    ids, vals = sentiment_features(prepared + prepared, sentiment.n_buckets)
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        FIXTURE,
        embedding=x,
        sentences=np.array(FIXTURE_SENTENCES, dtype=np.str_),
        sentiment_ids=ids,
        sentiment_values=vals,
        sentiment_probs=sentiment.proba(x, ids, vals).astype(np.float32),
        **{f"{k}_probs": f(x).astype(np.float32) for k, f in heads.items()},
    )
    logger.info("wrote parity fixture %s", FIXTURE)


# --- report --------------------------------------------------------------------------------------


def _cfg(cfg: dict) -> dict:
    return {k: v for k, v in cfg.items() if k != "seconds"}


def write_metrics_md(out_dir: Path, sent: dict, emo: dict, asp: dict, encoder_version: str) -> None:
    m = sent["chosen"]["metrics"]
    lines = [
        "# Heads: validation metrics",
        "",
        f"Generated by `services/nlp/scripts/train_heads.py` (seed {SEED}) on frozen `{encoder_version}` "
        "embeddings. All numbers are on the **validation** splits (the test splits are held back by the "
        "maintainers); the SemEval-2014 hold-out is 15% of its sentences (seed 13). Model choices were made "
        "on a small grid by validation (see each head's JSON), so these numbers are slightly optimistic.",
        "",
        "## Sentiment (negative / neutral / positive)",
        "",
        "Served: a stack of the embedding head chosen on the grid below "
        f"(`{_cfg(sent['embedding_head']['config'])}`) and a lexical model (multinomial logistic regression, "
        f"C {sent['chosen']['config']['lexical']['C']}, on hashed char 1-5-grams + word uni/bigrams, "
        f"{sent['chosen']['config']['lexical']['n_buckets']} buckets, sqrt tf, L2-normalised, float16 "
        "weights; trained on the same train rows). A 6 -> 3 logistic regression on the embedding head's "
        "logits and the lexical model's log-probabilities combines them; it and the temperature "
        f"({m['temperature']:.3f}) are fitted on {sent['calibration_rows']} held-out train rows.",
        "",
        "| metric | value | maintainers' target (test) |",
        "|---|---|---|",
        f"| TweetEval macro-recall | {100 * m['tweeteval_macro_recall']:.1f} | >= 72 |",
        f"| SmSA macro-F1 | {100 * m['smsa_macro_f1']:.1f} | >= 90 |",
        f"| NusaX macro-F1, mean of 12 languages | {100 * m['nusax_avg_macro_f1']:.1f} | >= 80 |",
        "",
        "NusaX per language (macro-F1): "
        + ", ".join(f"{lang} {100 * m[f'nusax_{lang}_macro_f1']:.1f}" for lang in NUSAX_LANGS)
        + ".",
        "",
        f"Calibration (ECE, 15 bins, top label): held-out train {m['ece_heldout_before']:.4f} -> "
        f"{m['ece_heldout_after']:.4f}; validation (all sets pooled) {m['ece_val_before']:.4f} -> "
        f"{m['ece_val_after']:.4f}.",
        "",
        "De-duplication: " + ", ".join(f"{k} = {v}" for k, v in sent["dedup"].items()) + ".",
        "",
        "| config | TweetEval rec | SmSA F1 | NusaX F1 |",
        "|---|---|---|---|",
    ]
    rows = [(f"`{_cfg(r['config'])}`", r["metrics"]) for r in sent["grid"]]
    rows += [("lexical model alone", sent["chosen"]["lexical_only"]),
             ("**stack: chosen embedding head + lexical (served)**", m)]
    for name, mm in rows:
        lines.append(
            f"| {name} | {100 * mm['tweeteval_macro_recall']:.1f} | {100 * mm['smsa_macro_f1']:.1f} | "
            f"{100 * mm['nusax_avg_macro_f1']:.1f} |"
        )
    e = emo["chosen"]["metrics"]
    lines += [
        "",
        "## Emotion (anger / joy / optimism / sadness)",
        "",
        f"Chosen: `{emo['chosen']['config']}`; TweetEval emotion val macro-F1 {100 * e['val_macro_f1']:.1f}, "
        f"accuracy {100 * e['val_accuracy']:.1f}; "
        f"ECE val {e['ece_val_before']:.4f} -> {e['ece_val_after']:.4f} "
        f"(held-out train {e['ece_heldout_before']:.4f} -> {e['ece_heldout_after']:.4f}).",
        "",
        f"Indonesian sanity set ({emo['id_sanity_n']} self-written sentences, "
        "`tests/unit/nlp/fixtures/emotion_id_sanity.json`, never trained on): accuracy "
        f"{100 * e.get('id_sanity_accuracy', float('nan')):.1f}%. "
        "The model only ever saw English emotion labels; "
        "this is a cross-lingual transfer check, not a benchmark.",
        "",
        "| config | val macro-F1 | val acc | id sanity acc |",
        "|---|---|---|---|",
    ]
    for r in emo["grid"]:
        mm = r["metrics"]
        lines.append(
            f"| `{r['config']}` | {100 * mm['val_macro_f1']:.1f} | {100 * mm['val_accuracy']:.1f} | "
            f"{100 * mm.get('id_sanity_accuracy', float('nan')):.1f} |"
        )
    lines += [
        "",
        "## Aspects",
        "",
        "Detection = model probability >= per-aspect threshold OR keyword hit (what the Analyzer does). Each "
        "data set is scored only on the taxonomy aspects its labels map to (mapping in `aspects.json`); "
        "HoASA's facilities are only AC, hot water, TV and wifi, so bathroom/pool/parking mentions count as "
        "false positives there and its facilities precision is a lower bound. Polarity: for every gold "
        "(sentence, aspect) with a single polarity, `served` is the Analyzer's rule (mean of the sentiment "
        "of the clauses carrying the aspect's keywords, mixed 50/50 with the sentence's sentiment), "
        "`clause only` and `post only` are the two extremes. CASA/HoASA gold polarity is positive/negative "
        "only (their 'neutral' means 'not mentioned'), so a neutral prediction counts as wrong there; CASA's "
        "polarity labels are often comparative ('cheaper than X' = negative price) and the set is tiny.",
        "",
        "| data | aspects scored | combined micro-F1 | combined macro-F1 | model-only micro-F1 | "
        "keywords-only micro-F1 | polarity acc (served: clause+post mix) | (clause only) | (post only) | "
        "n polarity |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for ds, r in asp["validation"].items():
        lines.append(
            f"| {ds} | {', '.join(r['combined']['per_aspect'])} | {100 * r['combined']['micro']['f1']:.1f} | "
            f"{100 * r['combined']['macro_f1']:.1f} | {100 * r['model']['micro']['f1']:.1f} | "
            f"{100 * r['keywords']['micro']['f1']:.1f} | {100 * r['polarity']['accuracy_served']:.1f} | "
            f"{100 * r['polarity']['accuracy_clause']:.1f} | {100 * r['polarity']['accuracy_post']:.1f} | "
            f"{r['polarity']['n']} |"
        )
    lines += ["", "Per aspect (combined detection, F1 / support):", ""]
    for ds, r in asp["validation"].items():
        lines.append(
            f"- {ds}: "
            + ", ".join(
                f"{a} {100 * v['f1']:.1f} / {v['support']}" for a, v in r["combined"]["per_aspect"].items()
            )
        )
    lines += [
        "",
        "Aspects without (or with very little) labelled data - delivery, booking, app, availability, safety, "
        "payment, and staff outside SemEval - rest on the seed phrases and the keyword lexicon; their "
        "threshold is max(0.5, 99.5th percentile of out-of-fold negatives). "
        "How often the model fires such an "
        "uncovered aspect (no gold, no keyword) per 100 validation sentences: "
        + "; ".join(
            f"{ds}: "
            + (", ".join(f"{a} {v}" for a, v in r["uncovered_model_fires_per_100"].items()) or "none")
            for ds, r in asp["validation"].items()
        )
        + ". Their precision is NOT measured.",
        "",
        "Thresholds: " + ", ".join(f"{k} {v}" for k, v in asp["thresholds_by_name"].items()) + ".",
        "",
    ]
    (out_dir / "METRICS.md").write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=ROOT / "models" / "heads")
    ap.add_argument("--cache", type=Path, default=REPO / ".cache" / "emb")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="smallest grid (for trying things out)")
    ap.add_argument("--no-fixture", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    import os

    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    except ImportError:
        pass
    np.random.seed(SEED)
    enc = OnnxEncoder(ROOT / "models" / "encoder", threads=args.threads)
    cache = EmbeddingCache(args.cache, enc)
    args.out.mkdir(parents=True, exist_ok=True)

    sent_head, sent_info = train_sentiment(args.data, cache, args.quick)
    emo_head, emo_info = train_emotion(args.data, cache, args.quick)
    asp_head, asp_info = train_aspects(args.data, cache, sent_head, args.quick)

    common = {
        "encoder": enc.model_version,
        "input": "embedding float32 [N, 384] (L2-normalised e5 'query: ' "
        "embedding of dengar_nlp.analyzer.prepare_text(text))",
        "output": "probs float32 [N, C]",
        "seed": SEED,
    }
    export_head(
        args.out,
        "sentiment",
        _sentiment_graph(sent_head),
        {
            **common,
            "name": "sentiment",
            "labels": list(SENTIMENT_LABELS),
            "kind": sent_head.kind,
            "temperature": sent_head.temperature,
            "inputs": {
                "embedding": "float32 [N, 384], as for every head",
                "ids": "int64 [N, L], dengar_nlp.domain.hashed_features.sentiment_features(prepared "
                "texts, n_buckets); padding id n_buckets",
                "values": "float32 [N, L], the matching values (0 for padding)",
            },
            "lexical": {"n_buckets": sent_head.n_buckets, "featurizer": "sentiment_features v1"},
            "training": {k: v for k, v in sent_info.items() if k != "chosen"},
            "config": sent_info["chosen"]["config"],
            "validation": sent_info["chosen"]["metrics"],
            "data": ("TweetEval sentiment train, IndoNLU SmSA train, NusaX train (12 languages), "
                     "de-duplicated"),
        },
    )
    export_head(
        args.out,
        "emotion",
        _onnx_graph("emotion", emo_head.layers, "softmax", emo_head.temperature),
        {
            **common,
            "name": "emotion",
            "labels": list(EMOTION_LABELS),
            "kind": emo_head.kind,
            "temperature": emo_head.temperature,
            "training": {k: v for k, v in emo_info.items() if k != "chosen"},
            "config": emo_info["chosen"]["config"],
            "validation": emo_info["chosen"]["metrics"],
            "data": "TweetEval emotion train (English only)",
        },
    )
    export_head(
        args.out,
        "aspects",
        _onnx_graph("aspects", [(asp_head.w, asp_head.b)], "sigmoid"),
        {
            **common,
            "name": "aspects",
            "labels": list(ASPECT_NAMES),
            "kind": "one-vs-rest logistic regression",
            "thresholds": [round(float(t), 4) for t in asp_head.thresholds],
            "taxonomy": {a.name: {"en": a.label_en, "id": a.label_id} for a in TAXONOMY},
            "data": "SemEval-2014 restaurants+laptops (85%), CASA train, HoASA train, taxonomy seed phrases, "
            "background tweets/SmSA-neutral without aspect keywords",
            **asp_info,
        },
    )
    write_metrics_md(args.out, sent_info, emo_info, asp_info, enc.model_version)
    if not args.no_fixture:
        write_fixture(
            enc, {"emotion": emo_head.proba, "aspects": asp_head.proba}, sent_head
        )


if __name__ == "__main__":
    main()
