"""Data: TSV/CSV/XML loaders of the training sets, the SmSA/NusaX de-duplication, and the
embedding cache."""

from __future__ import annotations

import csv
import hashlib
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dengar_nlp.adapters.encoder import OnnxEncoder
from dengar_nlp.domain.neardup import MinHasher
from dengar_nlp.domain.text import prepare_text
from dengar_nlp.service_layer.analyzer import even_chunks

from . import DUP_JACCARD, NUSAX_LANGS, SEED

logger = logging.getLogger(__name__)


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


# --- smoke-run limits ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """Row caps for quick runs (``train_heads.py --train-limit/--val-limit``); 0 = no cap.

    A cap applies per group (data source, or NusaX language), so every metric keeps all of its
    parts, e.g. each of NusaX's 12 languages keeps at most ``val`` validation rows.
    """

    train: int = 0
    val: int = 0

    @property
    def active(self) -> bool:
        return bool(self.train or self.val)


def _keep_per_group(groups: Sequence[str], n: int) -> list[bool]:
    """At most ``n`` rows of each group, a seeded sample in the original order (all when n <= 0)."""
    if n <= 0:
        return [True] * len(groups)
    rng = np.random.default_rng(SEED)
    keep = [False] * len(groups)
    by_group: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        by_group.setdefault(g, []).append(i)
    for _, idx in sorted(by_group.items()):
        chosen = idx if len(idx) <= n else [idx[j] for j in rng.permutation(len(idx))[:n]]
        for i in chosen:
            keep[i] = True
    return keep


def cap_rows(rows: Rows, n: int) -> Rows:
    return rows if n <= 0 else rows.subset(_keep_per_group(rows.groups, n))


def cap_absa(rows: list[AbsaRow], n: int) -> list[AbsaRow]:
    if n <= 0:
        return rows
    keep = _keep_per_group([r.source for r in rows], n)
    return [r for r, k in zip(rows, keep, strict=True) if k]


# --- embeddings ----------------------------------------------------------------------------------


class EmbeddingCache:
    """What the heads read (``OnnxEncoder.encode_features``: the embedding, or a fine-tuned encoder's
    task features) for prepared texts, keyed by the SHA-1 of the text, as npz shards in one directory per
    encoder version, so that re-runs (and interrupted runs) never re-encode a text.

    Texts are encoded one at a time, exactly as the Analyzer does: the int8 encoder quantises
    activations per tensor, so an embedding computed inside a padded batch depends on its batch
    mates.  Encoding alone makes every embedding (and so the training run) reproducible from scratch
    and leaves no train/serve skew.  ``workers`` encode that many slices of a chunk at once (give the
    encoder one thread then, as the service's ``parallelism="posts"`` does): a single short post is
    too small a call to split over threads, and the embeddings do not depend on the thread count.
    """

    def __init__(self, root: Path, encoder: OnnxEncoder, prefix: str = "query: ", workers: int = 1) -> None:
        ident = f"{encoder.model_version}|{prefix}|{encoder.max_length}|bs1"
        if encoder.has_features:
            ident += "|features"
        self.dir = root / hashlib.sha256(ident.encode()).hexdigest()[:12]
        self.dir.mkdir(parents=True, exist_ok=True)
        self.encoder = encoder
        self.prefix = prefix
        self.workers = max(1, workers)
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
            emb = self._encode([t for _, t in part])
            key_arr = np.frombuffer(b"".join(k for k, _ in part), dtype=np.uint8).reshape(len(part), 20)
            name = hashlib.sha1(key_arr.tobytes()).hexdigest()[:16]
            np.savez(self.dir / f"shard-{name}.npz", keys=key_arr, emb=emb)
            for (k, _), v in zip(part, emb, strict=True):
                self._index[k] = v
            logger.info("encoded %d/%d new texts", min(start + chunk, len(todo)), len(todo))
        if not keys:
            return np.zeros((0, self.encoder.dim), dtype=np.float32)
        return np.stack([self._index[k] for k in keys]).astype(np.float32)

    def _encode(self, texts: list[str]) -> np.ndarray:
        chunks = even_chunks(len(texts), self.workers)
        if len(chunks) == 1:
            return self.encoder.encode_features(texts, prefix=self.prefix, batch_size=1)
        with ThreadPoolExecutor(max_workers=len(chunks)) as pool:
            parts = pool.map(lambda ab: self.encoder.encode_features(texts[ab[0]:ab[1]], prefix=self.prefix,
                                                                     batch_size=1), chunks)
            return np.concatenate(list(parts))


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
