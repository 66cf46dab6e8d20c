"""The Analyzer: everything Dengar says about a text, from one encoder pass per post.

Pipeline for a batch of posts (all models are ONNX on onnxruntime CPU, loaded once):

1. ``prepare_text`` - URLs -> ``http``, @mentions -> ``@user`` (as in TweetEval), HTML entities
   unescaped, lone surrogates / U+FFFD / control characters dropped, cut to ``MAX_ENCODER_CHARS``.
2. language (hashed n-gram model + rules, ``dengar_nlp.domain.langid``) on the raw text;
3. one e5 encoder pass per non-empty post -> 384-d embedding;
4. the three heads (``models/heads``: sentiment, emotion, aspects) on all embeddings of the batch,
   one call each; the sentiment model also reads hashed char/word n-grams of the prepared text
   (``dengar_nlp.domain.hashed_features``) and stacks a lexical model on the embedding head;
5. aspects = head probability >= threshold, or a keyword hit (``dengar_nlp.domain.aspects``); in a
   post with more than one clause, the clauses carrying a detected aspect's keyword are encoded too
   (one extra encoder call for the whole batch) and the aspect's polarity mixes the sentiment of
   those clauses with the post's;
6. signals, entities and MinHash band keys are pure Python on the raw text.

Posts are encoded one at a time by default (``encoder_batch_size=1``): the int8 encoder quantises
activations per tensor, so in a padded batch a post's embedding (cosine ~0.997 to its solo
embedding) and, near a decision boundary, its labels would depend on which posts happened to share
its batch - a post would not get the same analysis twice.  Encoder alone on an idle 2-core box that
costs ~30% (320 vs 465 tweets/s); the whole pipeline on the shared box measured the same either way
(~230 posts/s), and padded batches raised peak RSS from ~165 to ~460 MB.  ``encoder_batch_size``
makes batching available anyway.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from dengar_nlp.domain.aspects import ASPECT_NAMES, AspectLexicon, plan_aspects, resolve_aspects
from dengar_nlp.domain.entities import EntityMatcher, EntitySpec
from dengar_nlp.domain.hashed_features import sentiment_features
from dengar_nlp.domain.langid import LanguageIdentifier
from dengar_nlp.domain.neardup import MinHasher
from dengar_nlp.domain.signals import extract_signals
from dengar_nlp.results import (
    EMOTION_LABELS,
    SENTIMENT_LABELS,
    Analysis,
    Aspect,
    Emotion,
    Entity,
    Sentiment,
    Signals,
)

logger = logging.getLogger(__name__)

HEADS_DIR = "heads"
ENCODER_DIR = "encoder"
LANGID_DIR = "langid"
HEAD_NAMES: tuple[str, ...] = ("sentiment", "emotion", "aspects")

_URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION_RE = re.compile(r"(?<![\w@])@\w+")
# Lone surrogates (from surrogateescape), U+FFFD and C0 controls carry nothing, and lone surrogates
# cannot even be encoded to UTF-8 for the tokenizer.
_NOISE_RE = re.compile("[\ud800-\udfff\ufffd\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACE_RE = re.compile(r"\s+")
# The encoder reads at most 128 tokens (~500-700 characters); more text only costs tokenizer time.
MAX_ENCODER_CHARS = 1000


def prepare_text(text: str) -> str:
    """The text the encoder sees, at training and at serving time alike.

    @mentions become ``@user`` and URLs ``http`` (TweetEval's convention; handles and link shorteners
    carry no sentiment and would only fragment into rare word pieces).
    """
    text = text[: MAX_ENCODER_CHARS * 4]
    text = _NOISE_RE.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    text = _URL_RE.sub("http", text)
    text = _MENTION_RE.sub("@user", text)
    return _SPACE_RE.sub(" ", text).strip()[:MAX_ENCODER_CHARS]


class OnnxHead:
    """A head model: ``embedding`` float32 [N, dim] -> ``probs`` float32 [N, C], plus its metadata.

    A head may take lexical inputs too (``ids`` int64 [N, L] / ``values`` float32 [N, L] from
    ``hashed_features.sentiment_features``, hashing space in its metadata's ``lexical.n_buckets``).
    """

    def __init__(self, onnx_path: Path, threads: int = 1) -> None:
        import onnxruntime as ort

        meta_path = onnx_path.with_suffix(".json")
        self.meta: dict = json.loads(meta_path.read_text(encoding="utf-8"))
        self.labels: tuple[str, ...] = tuple(self.meta["labels"])
        data = onnx_path.read_bytes()
        self.sha256 = hashlib.sha256(data).hexdigest()
        if self.meta.get("sha256") and self.meta["sha256"] != self.sha256:
            logger.warning("%s: sha256 differs from %s (model replaced without its metadata?)",
                           onnx_path, meta_path.name)
        opts = ort.SessionOptions()
        # A [N, 384] x [384, C] product: extra threads only add contention with the encoder.
        opts.intra_op_num_threads = max(1, threads)
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(data, sess_options=opts, providers=["CPUExecutionProvider"])
        shape = self._session.get_inputs()[0].shape
        self.dim = int(shape[1]) if isinstance(shape[1], int) else 0
        self.input_names: tuple[str, ...] = tuple(i.name for i in self._session.get_inputs())
        self.lexical_buckets = int(self.meta.get("lexical", {}).get("n_buckets", 0))
        if ("ids" in self.input_names) != (self.lexical_buckets > 0):
            raise ValueError(f"{onnx_path}: lexical inputs and metadata 'lexical.n_buckets' disagree")

    def __call__(self, x: np.ndarray, texts: Sequence[str] | None = None) -> np.ndarray:
        """Probabilities for embeddings ``x``; a lexical head also needs the prepared ``texts``."""
        if x.shape[0] == 0:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        feeds = {"embedding": np.ascontiguousarray(x, dtype=np.float32)}
        if self.lexical_buckets:
            if texts is None or len(texts) != x.shape[0]:
                raise ValueError("this head needs the prepared texts of its embeddings")
            feeds["ids"], feeds["values"] = sentiment_features(texts, self.lexical_buckets)
        return self._session.run(["probs"], feeds)[0]


class Encoder(Protocol):
    """What the Analyzer needs of ``dengar_nlp.adapters.encoder.OnnxEncoder``."""

    dim: int

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, prefix: str = "query: "
    ) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class _Post:
    index: int
    prepared: str


def load_entities(path: Path) -> list[EntitySpec]:
    """Entity specs from a JSON list of ``{id, kind, name, aliases}``."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(raw, list):
        raise ValueError(f"{path}: expected a JSON list of entities")
    specs = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not {"id", "kind", "name"} <= item.keys():
            raise ValueError(f"{path}: entity #{i} needs id, kind and name")
        aliases = item.get("aliases") or []
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise ValueError(f"{path}: entity {item['id']!r}: aliases must be a list of strings")
        specs.append(EntitySpec(str(item["id"]), str(item["kind"]), str(item["name"]), tuple(aliases)))
    return specs


class Analyzer:
    """Implements ``dengar_nlp.ports.TextAnalyzer``.  Thread-safe for concurrent ``analyze`` calls."""

    def __init__(
        self,
        *,
        encoder: Encoder,
        language_identifier: LanguageIdentifier,
        heads: dict[str, OnnxHead],
        entity_matcher: EntityMatcher | None = None,
        model_version: str = "",
        lexicon: AspectLexicon | None = None,
        minhasher: MinHasher | None = None,
        encoder_batch_size: int = 1,
    ) -> None:
        missing = [h for h in HEAD_NAMES if h not in heads]
        if missing:
            raise ValueError(f"missing heads: {missing}")
        if heads["sentiment"].labels != SENTIMENT_LABELS or heads["emotion"].labels != EMOTION_LABELS:
            raise ValueError("sentiment/emotion head labels do not match dengar_nlp.results")
        self._encoder = encoder
        self._langid = language_identifier
        self._sentiment = heads["sentiment"]
        self._emotion = heads["emotion"]
        self._aspects = heads["aspects"]
        self._aspect_names: tuple[str, ...] = self._aspects.labels
        unknown = set(self._aspect_names) - set(ASPECT_NAMES)
        if unknown:
            raise ValueError(f"aspect head has labels outside the taxonomy: {sorted(unknown)}")
        self._thresholds = np.asarray(self._aspects.meta["thresholds"], dtype=np.float32)
        self._entities = entity_matcher
        self._lexicon = lexicon or AspectLexicon()
        self._minhash = minhasher or MinHasher()
        self._dim = int(encoder.dim)
        for name, head in heads.items():
            if head.dim and head.dim != self._dim:
                raise ValueError(
                    f"{name} head expects {head.dim}-d embeddings, the encoder gives {self._dim}")
        if encoder_batch_size < 1:
            raise ValueError(f"encoder_batch_size must be >= 1, got {encoder_batch_size}")
        self._encoder_batch_size = encoder_batch_size
        self.model_version = model_version

    @classmethod
    def load(
        cls,
        models_dir: Path,
        *,
        threads: int = 2,
        entities_file: Path | None = None,
        encoder_batch_size: int = 1,
    ) -> Analyzer:
        """Load every model under ``models_dir`` (``encoder/``, ``langid/``, ``heads/``) once.

        ``threads`` is the encoder's intra-op thread count (the small models use one thread).
        ``encoder_batch_size`` > 1 pads posts into batches (faster encoder on an idle machine, more
        memory), but a post's scores then move (~1e-3) with the other posts in its batch; 1 keeps
        every post's result independent of its batch.
        """
        from dengar_nlp.adapters.encoder import OnnxEncoder
        from dengar_nlp.adapters.langid_onnx import load_language_identifier

        models_dir = Path(models_dir)
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        encoder = OnnxEncoder(models_dir / ENCODER_DIR, threads=threads)
        langid = load_language_identifier(models_dir / LANGID_DIR, threads=1)
        heads = {name: OnnxHead(models_dir / HEADS_DIR / f"{name}.onnx", threads=1) for name in HEAD_NAMES}
        matcher = EntityMatcher(load_entities(entities_file)) if entities_file is not None else None
        digest = hashlib.sha256()
        for rel in ("encoder/model.onnx", "encoder/tokenizer.json", "langid/langid.onnx"):
            digest.update(_file_sha256(models_dir / rel).encode())
        for name in HEAD_NAMES:
            digest.update(heads[name].sha256.encode())
        version = f"dengar-nlp-{digest.hexdigest()[:12]}"
        logger.info("analyzer %s loaded from %s (threads %d, %d entity aliases)", version, models_dir,
                    threads, matcher.alias_count if matcher else 0)
        return cls(encoder=encoder, language_identifier=langid, heads=heads, entity_matcher=matcher,
                   model_version=version, encoder_batch_size=encoder_batch_size)

    # --- public ------------------------------------------------------------------------------

    def analyze(self, texts: Sequence[str], *, include_embedding: bool = False) -> list[Analysis]:
        """One ``Analysis`` per text, in order.  Raises ``TypeError`` only for non-str input."""
        if isinstance(texts, str | bytes) or not isinstance(texts, Sequence):
            raise TypeError("analyze() takes a sequence of str, not a single string or "
                            f"{type(texts).__name__}")
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"texts[{i}] is {type(t).__name__}, not str (decode bytes first)")
        texts = list(texts)
        if not texts:
            return []
        prepared = [prepare_text(t) for t in texts]
        posts = [_Post(i, p) for i, p in enumerate(prepared) if p]
        emb = self._encode([p.prepared for p in posts])
        sent = self._sentiment(emb, [p.prepared for p in posts])
        emo = self._emotion(emb)
        asp = self._aspects(emb)
        aspects = self._aspect_results(posts, asp, sent)
        languages = self._langid.identify_many(texts)

        row_of = {p.index: r for r, p in enumerate(posts)}
        out = []
        for i, text in enumerate(texts):
            r = row_of.get(i)
            lang = languages[i]
            if r is None:
                sentiment = Sentiment("neutral", {k: 1.0 / 3 for k in SENTIMENT_LABELS})
                # No label: the gateway shows "no emotion" for an empty label.
                emotion = Emotion("", {k: 1.0 / len(EMOTION_LABELS) for k in EMOTION_LABELS})
                post_aspects: tuple[Aspect, ...] = ()
                vector = np.zeros(self._dim, dtype=np.float32) if include_embedding else None
            else:
                sentiment = _sentiment(sent[r])
                emotion = Emotion(EMOTION_LABELS[int(np.argmax(emo[r]))],
                                  {k: float(v) for k, v in zip(EMOTION_LABELS, emo[r], strict=True)})
                post_aspects = aspects[r]
                vector = emb[r].copy() if include_embedding else None
            out.append(Analysis(
                language=lang.language,
                language_confidence=float(lang.confidence),
                sentiment=sentiment,
                emotion=emotion,
                aspects=post_aspects,
                signals=_signals(text),
                entities=self._find_entities(text),
                neardup_keys=tuple(self._minhash.keys_for_text(text)),
                embedding=vector,
                model_version=self.model_version,
            ))
        return out

    # --- internals ---------------------------------------------------------------------------

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        # Default batch_size=1: batch-composition-independent embeddings (see the module docstring).
        return self._encoder.encode(texts, batch_size=self._encoder_batch_size)

    def _aspect_results(
        self, posts: list[_Post], probs: np.ndarray, sent: np.ndarray
    ) -> list[tuple[Aspect, ...]]:
        plans = [plan_aspects(p.prepared, probs[r], self._thresholds, self._aspect_names, self._lexicon)
                 for r, p in enumerate(posts)]
        # All clauses that need their own sentiment, for the whole batch: one encoder call, one head call.
        clause_texts = [plan.clauses[k].text for plan in plans for k in plan.encode]
        clause_sent = self._sentiment(self._encode(clause_texts), clause_texts)
        out: list[tuple[Aspect, ...]] = []
        start = 0
        for r, plan in enumerate(plans):
            n = len(plan.encode)
            resolved = resolve_aspects(plan, sent[r], clause_sent[start : start + n], SENTIMENT_LABELS)
            start += n
            out.append(tuple(Aspect(name, pol, conf) for name, pol, conf in resolved))
        return out

    def _find_entities(self, text: str) -> tuple[Entity, ...]:
        if self._entities is None:
            return ()
        matches = self._entities.find(text)
        return tuple(Entity(m.entity_id, m.kind, m.surface, m.start, m.end) for m in matches)


def _sentiment(p: np.ndarray) -> Sentiment:
    return Sentiment(SENTIMENT_LABELS[int(np.argmax(p))],
                     {k: float(v) for k, v in zip(SENTIMENT_LABELS, p, strict=True)})


def _signals(text: str) -> Signals:
    s = extract_signals(text)
    return Signals(hashtags=s.hashtags, mentions=s.mentions, urls=s.urls, domains=s.domains,
                   cashtags=s.cashtags, emojis=s.emojis)


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
