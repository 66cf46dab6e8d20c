"""The analysis use case: everything Dengar says about a text, from one encoder pass per post.

Pipeline for a batch of posts (the models are ports; in the service they are ONNX on onnxruntime
CPU, loaded once by ``dengar_nlp.adapters.onnx_models``):

1. ``domain.text.prepare_text`` - URLs -> ``http``, @mentions -> ``@user`` (as in TweetEval), HTML entities
   unescaped, lone surrogates / U+FFFD / control characters dropped, cut to ``MAX_ENCODER_CHARS``.
2. language (hashed n-gram model + rules, ``dengar_nlp.domain.langid``) on the raw text;
3. one e5 encoder pass per non-empty post -> 384-d embedding (stored, searched) and the heads'
   384-d features (the embedding itself, or a fine-tuned encoder's task branch);
4. the three heads (``models/heads``: sentiment, emotion, aspects) on all features of the batch,
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

With ``workers`` > 1 a batch is cut into that many contiguous chunks that are analysed at the same
time on the analyzer's own threads (onnxruntime releases the GIL while a model runs).  With an
encoder on one intra-op thread per call this keeps both cores of a small machine busy on posts of
tweet length, where a second intra-op thread inside each short call adds little (issue 13:
~1.3-1.5x on the 2-core bench).  Each post is still encoded alone and the heads score rows
independently, so the result of a post does not depend on the chunking.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from dengar_nlp.domain.aspects import ASPECT_NAMES, AspectLexicon, plan_aspects, resolve_aspects
from dengar_nlp.domain.entities import EntityMatcher
from dengar_nlp.domain.neardup import MinHasher
from dengar_nlp.domain.results import (
    EMOTION_LABELS,
    SENTIMENT_LABELS,
    Analysis,
    Aspect,
    Emotion,
    Entity,
    Sentiment,
)
from dengar_nlp.domain.signals import extract_signals
from dengar_nlp.domain.text import prepare_text
from dengar_nlp.service_layer.ports import (
    HEAD_NAMES,
    Encoder,
    HeadModel,
    LanguageIdentifierPort,
    Matrix,
)


def even_chunks(n: int, parts: int) -> list[tuple[int, int]]:
    """``[start, end)`` of at most ``parts`` contiguous, near-equal slices of ``range(n)`` (none empty;
    one ``(0, 0)`` for ``n == 0``)."""
    k = max(1, min(parts, n))
    bounds = [round(i * n / k) for i in range(k + 1)]
    return list(itertools.pairwise(bounds))


@dataclass(frozen=True, slots=True)
class _Post:
    index: int
    prepared: str


class Analyzer:
    """Implements ``TextAnalyzer``.  Thread-safe for concurrent ``analyze`` calls if its models are."""

    def __init__(
        self,
        *,
        encoder: Encoder,
        language_identifier: LanguageIdentifierPort,
        heads: Mapping[str, HeadModel],
        entity_matcher: EntityMatcher | None = None,
        model_version: str = "",
        lexicon: AspectLexicon | None = None,
        minhasher: MinHasher | None = None,
        encoder_batch_size: int = 1,
        workers: int = 1,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        missing = [h for h in HEAD_NAMES if h not in heads]
        if missing:
            raise ValueError(f"missing heads: {missing}")
        if heads["sentiment"].labels != SENTIMENT_LABELS or heads["emotion"].labels != EMOTION_LABELS:
            raise ValueError("sentiment/emotion head labels do not match dengar_nlp.domain.results")
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
        self.workers = workers
        # Created on the first batch big enough to split, so an analyzer that never splits (or a test
        # that builds many) starts no threads.
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self.model_version = model_version

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
        chunks = even_chunks(len(texts), self.workers)
        if len(chunks) == 1:
            return self._analyze(texts, include_embedding)
        pool = self._executor()
        # The calling thread takes the first chunk itself: one thread hop fewer per batch.
        futures = [pool.submit(self._analyze, texts[a:b], include_embedding) for a, b in chunks[1:]]
        a, b = chunks[0]
        out = self._analyze(texts[a:b], include_embedding)
        for f in futures:
            out.extend(f.result())
        return out

    def close(self) -> None:
        """Stop the worker threads (idempotent); a later ``analyze`` starts them again."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    # --- internals ---------------------------------------------------------------------------

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.workers - 1,
                                                thread_name_prefix="analyzer")
            return self._pool

    def _analyze(self, texts: list[str], include_embedding: bool) -> list[Analysis]:
        prepared = [prepare_text(t) for t in texts]
        posts = [_Post(i, p) for i, p in enumerate(prepared) if p]
        emb, features = self._encode([p.prepared for p in posts])
        sent = self._sentiment(features, [p.prepared for p in posts])
        emo = self._emotion(features)
        asp = self._aspects(features)
        aspects = self._aspect_results(posts, asp, sent)
        languages = self._langid.identify_many(texts)

        row_of = {p.index: r for r, p in enumerate(posts)}
        out: list[Analysis] = []
        for i, text in enumerate(texts):
            r = row_of.get(i)
            lang = languages[i]
            if r is None:
                sentiment = Sentiment.undetermined()
                emotion = Emotion.undetermined()
                post_aspects: tuple[Aspect, ...] = ()
                vector = np.zeros(self._dim, dtype=np.float32) if include_embedding else None
            else:
                sentiment = Sentiment.from_probs(sent[r])
                emotion = Emotion.from_probs(emo[r])
                post_aspects = aspects[r]
                vector = emb[r].copy() if include_embedding else None
            out.append(Analysis(
                language=lang.language,
                language_confidence=float(lang.confidence),
                sentiment=sentiment,
                emotion=emotion,
                aspects=post_aspects,
                signals=extract_signals(text),
                entities=self._find_entities(text),
                neardup_keys=tuple(self._minhash.keys_for_text(text)),
                embedding=vector,
                model_version=self.model_version,
            ))
        return out

    def _encode(self, texts: list[str]) -> tuple[Matrix, Matrix]:
        """``(embeddings, head features)``."""
        if not texts:
            empty = np.zeros((0, self._dim), dtype=np.float32)
            return empty, empty
        # Default batch_size=1: batch-composition-independent embeddings (see the module docstring).
        return self._encoder.encode_both(texts, batch_size=self._encoder_batch_size)

    def _aspect_results(
        self, posts: list[_Post], probs: Matrix, sent: Matrix
    ) -> list[tuple[Aspect, ...]]:
        plans = [plan_aspects(p.prepared, probs[r], self._thresholds, self._aspect_names, self._lexicon)
                 for r, p in enumerate(posts)]
        # All clauses that need their own sentiment, for the whole batch: one encoder call, one head call.
        clause_texts = [plan.clauses[k].text for plan in plans for k in plan.encode]
        clause_sent = self._sentiment(self._encode(clause_texts)[1], clause_texts)
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
