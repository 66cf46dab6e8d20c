"""Tenant categories (custom aspects): definitions, validation, threshold calibration and matching.

A category ("Flight delays", "Refunds") is defined by a listening-query-language ``expression``,
by 3-20 ``examples`` (posts that belong to it), or by both. A mention belongs to a category when
the expression matches it OR its sentence embedding is similar enough to the examples:

    score(x) = cosine(x, centroid of the example embeddings)        (all unit vectors)
    member  <=> score(x) >= threshold

The centroid beat the nearest example (max over examples) and the mean of the two nearest on the
measurement below: one stray example drags the max-score's reach across the whole corpus, while
the centroid averages it out.

Calibration (``calibrate``). Two samples are scored against the examples:

* *members*: each example scored leave-one-out against the centroid of the others: how close a
  new member phrased like the examples can be expected to be;
* *background*: the tenant's recent stored mentions (up to ``BACKGROUND_SAMPLE``): mostly
  non-members, with the category's own share of members in their upper tail.

    threshold = max((median(members) + p95(background)) / 2, p90(background))

i.e. half-way between a typical member and the top 5% of the background, but never below the
background's top 10%: with few examples the members' scores are noisy, and this keeps one
category from claiming much more than a tenth of a tenant's traffic by similarity alone. (Capping
it at the weakest example's score, so that every example would match, was tried and dropped: with
diverse examples it sank the threshold to where a quarter of all tweets matched.) Without a
background (a new tenant: fewer than ``MIN_BACKGROUND`` stored mentions with an embedding) the
threshold is ``FALLBACK_THRESHOLD``.

Measured on 14.5k real airline tweets (``shared/data/airline_tweets``; multilingual-e5-small through
the committed NLP encoder, int8 vectors as stored; ``services/insights/scripts/measure_categories.py``
reproduces it). The dataset has no complaint-reason labels, so classes were labelled by keywords
("late flight|delay", "cancelled flight", lost/missing near bag/luggage, "refund", "customer
service|on hold|call back|hung up"); each category was defined by N random example tweets of its
class, against a background of 500 random tweets, 8 draws each. Precision and recall are against
the keyword labels, which miss paraphrases ("still sitting on the tarmac"), so precision is a
lower bound. With N = 8:

    category          share  threshold  precision  recall  matched
    flight delays      9.3%    0.930      0.49      0.38    7.4%
    cancellations      6.9%    0.933      0.78      0.60    5.3%
    lost luggage       1.4%    0.928      0.18      0.56    4.8%
    refunds            1.2%    0.927      0.21      0.61    4.6%
    customer service   8.0%    0.931      0.36      0.39    8.8%

With 3 examples precision is 0.10-0.61 and recall 0.32-0.70 (the p90 floor is what keeps it
usable: without it 3-example categories matched 7-19% of all tweets); with 15, precision rises a
little (delays 0.54, cancellations 0.82). The centroid beat the nearest example (max) and the mean
of the two nearest: with 8 examples their best rule reached precision 0.50/0.67 on cancellations
against the centroid's ~0.8, at equal recall. The fixed 0.93 fallback scores like the calibrated
threshold at 8-15 examples (delays 0.49/0.40, cancellations 0.72/0.66) but is too strict for 3
(recall 0.07-0.25). e5 similarities are compressed (unrelated tweets ~0.90 against a centroid,
members ~0.93), which is why the background matters. Small classes (refunds, lost luggage) come
out imprecise: similarity finds the gist ("my bag", "money back") and mixes in neighbours; for
exact terms an expression is the better tool, and the two combine with OR.

Everything here is pure (numpy only) so that the ingest path, the CRUD use case and a backfill of
stored mentions decide membership with the same code (``belongs``).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from dengar_common.embedding import dequantize, stack
from dengar_common.errors import AlreadyExists, InvalidArgument, NotFound, ResourceExhausted
from dengar_common.post_contract import MAX_TEXT_CHARS
from dengar_common.query import CompiledQuery, ListeningQuery, MatchDoc, QuerySet, compile_query

MAX_NAME_CHARS = 200
MIN_EXAMPLES = 3
MAX_EXAMPLES = 20
MAX_EXAMPLE_CHARS = MAX_TEXT_CHARS
DEFAULT_MAX_PER_TENANT = 50
# How many recent mentions calibration scores as the background, and how few make one.
BACKGROUND_SAMPLE = 500
MIN_BACKGROUND = 50
# Threshold for a tenant without enough stored mentions (see the module docstring).
FALLBACK_THRESHOLD = 0.93

_ID_RE = re.compile(r"^c_[0-9a-f]{16}$")

FloatMatrix = npt.NDArray[np.float32]


class CategoryNotFound(NotFound):
    def __init__(self, category_id: str) -> None:
        super().__init__(f"category {category_id} not found")


class CategoryNameTaken(AlreadyExists):
    def __init__(self, name: str) -> None:
        super().__init__(f"a category named {name} already exists", field="name", reason="name-taken")


class CategoryLimit(ResourceExhausted):
    def __init__(self, limit: int, current: int | None = None) -> None:
        super().__init__(f"a tenant may have at most {limit} categories", reason="category-limit",
                         limit=limit, current=current)


# -- records -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Calibration:
    """How a category's similarity threshold was chosen (kept on the category, shown to users)."""

    threshold: float
    # Median and minimum leave-one-out score of the examples.
    member_median: float
    member_min: float
    # 90th and 95th percentile of the background's scores; 0 without a background.
    background_p90: float = 0.0
    background_p95: float = 0.0
    background_size: int = 0


@dataclass(frozen=True)
class Category:
    id: str
    tenant_id: str
    name: str
    expression: str = ""
    examples: tuple[str, ...] = ()
    # int8 embeddings of the examples (dengar_common.embedding), in the order of ``examples``.
    example_vectors: tuple[bytes, ...] = ()
    calibration: Calibration | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def threshold(self) -> float | None:
        return self.calibration.threshold if self.calibration is not None else None


@dataclass(frozen=True)
class CategoryChanges:
    """An update: None leaves a member as it is; "" / () clears an expression / the examples."""

    name: str | None = None
    expression: str | None = None
    examples: tuple[str, ...] | None = None

    def is_empty(self) -> bool:
        return self.name is None and self.expression is None and self.examples is None


# -- validation ----------------------------------------------------------------------------------------


def new_category_id() -> str:
    return "c_" + secrets.token_hex(8)


def is_category_id(value: str) -> bool:
    return bool(_ID_RE.match(value))


def name_key(name: str) -> str:
    """Names are unique per tenant regardless of case."""
    return name.casefold()


def clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise InvalidArgument("name is required", field="name")
    if len(cleaned) > MAX_NAME_CHARS:
        raise InvalidArgument(f"name longer than {MAX_NAME_CHARS} characters", field="name")
    return cleaned


def check_expression(expression: str) -> CompiledQuery | None:
    """The compiled expression (None when empty); a QuerySyntaxError (field ``expression``,
    with the position) when it does not compile."""
    if not expression.strip():
        return None
    return compile_query(expression)


def clean_examples(examples: Sequence[str]) -> tuple[str, ...]:
    """0 or 3-20 non-blank examples, each at most the post text limit, without repeats."""
    out: list[str] = []
    seen: set[str] = set()
    for i, text in enumerate(examples):
        stripped = text.strip()
        if not stripped:
            raise InvalidArgument(f"examples[{i}] is blank", field=f"examples[{i}]")
        if len(stripped) > MAX_EXAMPLE_CHARS:
            raise InvalidArgument(f"examples[{i}] is longer than {MAX_EXAMPLE_CHARS} characters",
                                  field=f"examples[{i}]")
        if stripped.casefold() in seen:
            raise InvalidArgument(f"examples[{i}] repeats an earlier example", field=f"examples[{i}]")
        seen.add(stripped.casefold())
        out.append(stripped)
    if out and not MIN_EXAMPLES <= len(out) <= MAX_EXAMPLES:
        raise InvalidArgument(f"examples: give none or {MIN_EXAMPLES}-{MAX_EXAMPLES}, got {len(out)}",
                              field="examples")
    return tuple(out)


def check_definition(expression: str, examples: Sequence[str]) -> None:
    """A category needs something to match with."""
    if not expression.strip() and not examples:
        raise InvalidArgument("a category needs an expression, examples, or both", field="expression")


# -- similarity and calibration ----------------------------------------------------------------------


def centroid(examples: FloatMatrix) -> npt.NDArray[np.float32]:
    """The unit mean direction of the example vectors (rows are unit vectors)."""
    c: npt.NDArray[np.float32] = examples.mean(axis=0, dtype=np.float32)
    norm = float(np.linalg.norm(c))
    if norm == 0.0:
        raise ValueError("the examples cancel out; no centroid")
    out: npt.NDArray[np.float32] = (c / norm).astype(np.float32)
    return out


def scores(vectors: FloatMatrix, examples: FloatMatrix) -> npt.NDArray[np.float32]:
    """Each row's similarity to the examples (cosine to their centroid)."""
    if vectors.shape[0] == 0:
        return np.zeros(0, dtype=np.float32)
    return (vectors @ centroid(examples)).astype(np.float32)


def member_scores(examples: FloatMatrix) -> npt.NDArray[np.float32]:
    """Leave-one-out: each example's score against the centroid of the others."""
    n = examples.shape[0]
    if n < 2:
        raise ValueError("leave-one-out needs at least two examples")
    return np.array([float(scores(examples[i:i + 1], np.delete(examples, i, axis=0))[0])
                     for i in range(n)], dtype=np.float32)


def calibrate(examples: FloatMatrix, background: FloatMatrix | None = None) -> Calibration:
    """The similarity threshold of a category with these example vectors (see the module docstring).

    ``background``: embeddings of the tenant's recent mentions (rows, unit vectors); fewer than
    ``MIN_BACKGROUND`` rows count as none.
    """
    members = member_scores(examples)
    m_med, m_min = float(np.median(members)), float(members.min())
    if background is None or background.shape[0] < MIN_BACKGROUND:
        return Calibration(threshold=FALLBACK_THRESHOLD, member_median=m_med, member_min=m_min)
    bg = scores(background, examples)
    p90, p95 = float(np.quantile(bg, 0.90)), float(np.quantile(bg, 0.95))
    threshold = max((m_med + p95) / 2, p90)
    return Calibration(threshold=round(threshold, 6), member_median=m_med, member_min=m_min,
                       background_p90=p90, background_p95=p95, background_size=int(bg.shape[0]))


def example_matrix(vectors: Sequence[bytes]) -> FloatMatrix:
    """The usable example vectors as unit rows (empty or foreign-sized ones are skipped)."""
    matrix, _ = stack(list(vectors))
    return matrix


# -- matching ------------------------------------------------------------------------------------------


def mention_match_doc(doc: Mapping[str, Any], *, detected_language: bool = True) -> MatchDoc:
    """A stored mention document (domain/mention.py fields) as the query language's MatchDoc.

    ``lang:`` reads the platform's language hint, and the detected language where there is no
    hint (``detected_language``): categories are Dengar's own rules and may use what NLP found,
    while listening queries must agree with the collector, which only has the hint."""
    author = doc.get("author") or {}
    lang = doc.get("lang_hint") or (doc.get("language") if detected_language else "") or ""
    return MatchDoc.build(str(doc.get("text") or ""), title=str(doc.get("title") or ""),
                          platform=str(doc.get("platform") or ""), lang=str(lang),
                          author=str(author.get("handle") or ""), url=str(doc.get("url") or ""))


@dataclass(frozen=True)
class _Similar:
    id: str
    direction: npt.NDArray[np.float32]
    threshold: float


@dataclass(frozen=True)
class CategorySet:
    """A tenant's categories, ready to tag many mentions (build one per change of the categories)."""

    expressions: QuerySet = field(default_factory=lambda: QuerySet(()))
    similar: tuple[_Similar, ...] = ()
    # Every category id, in the tenant's order.
    ids: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.ids)

    def match(self, doc: MatchDoc, embedding: bytes = b"") -> tuple[str, ...]:
        """Ids of the categories a mention belongs to (expression OR similarity), in set order."""
        if not self.ids:
            return ()
        found = set(self.expressions.match(doc)) if len(self.expressions) else set()
        if self.similar and embedding:
            try:
                x = dequantize(embedding)
            except ValueError:
                x = None
            if x is not None:
                for s in self.similar:
                    if s.direction.shape == x.shape and float(x @ s.direction) >= s.threshold:
                        found.add(s.id)
        return tuple(i for i in self.ids if i in found)

    def match_document(self, doc: Mapping[str, Any]) -> tuple[str, ...]:
        """The same for a stored mention document (its ``embedding`` field, if any)."""
        return self.match(mention_match_doc(doc), bytes(doc.get("embedding") or b""))


EMPTY_SET = CategorySet()


def build_set(categories: Iterable[Category],
              compiled: MutableMapping[str, CompiledQuery] | None = None) -> CategorySet:
    """The matching form of ``categories``. ``compiled``: a cache of compiled expressions, read
    and filled in.

    A stored expression that no longer compiles (a language change) only disables its own
    expression side; raises nothing.
    """
    known: MutableMapping[str, CompiledQuery] = compiled if compiled is not None else {}
    queries: list[ListeningQuery] = []
    similar: list[_Similar] = []
    ids: list[str] = []
    for c in categories:
        ids.append(c.id)
        if c.expression.strip():
            q = known.get(c.expression)
            if q is None:
                try:
                    q = compile_query(c.expression)
                except InvalidArgument:
                    q = None
            if q is not None:
                known[c.expression] = q
                queries.append(ListeningQuery(c.id, q, "topic"))
        if c.example_vectors and c.threshold is not None:
            matrix = example_matrix(c.example_vectors)
            if matrix.shape[0]:
                similar.append(_Similar(c.id, centroid(matrix), c.threshold))
    return CategorySet(QuerySet(queries), tuple(similar), tuple(ids))


def belongs(doc: Mapping[str, Any], category: Category) -> bool:
    """Whether one stored mention document belongs to ``category`` (expression or similarity).

    For re-tagging stored mentions (a backfill after a category is created or edited): the same
    rule the ingest applies to new mentions. For many documents build the set once (``build_set``)
    and use ``CategorySet.match_document``.
    """
    return bool(build_set([category]).match_document(doc))


def check_category_id(value: str, field_name: str = "category_id") -> str:
    """A category id from a request; InvalidArgument when it cannot be one."""
    if not is_category_id(value):
        raise InvalidArgument(f"{field_name} is not a category id", field=field_name)
    return value

