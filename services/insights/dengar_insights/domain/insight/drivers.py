"""What drove a change: the values that grew most between a baseline window and a spike window.

Kinds (``KINDS``): ``aspect`` (value ``<aspect>:<polarity>``), ``term`` (a content word or a
two-word phrase, see stopwords.py), ``hashtag``, ``platform``, ``language``, ``author``, ``entity``
``neardup`` (a near-duplicate cluster key) and ``category`` (the id of one of the tenant's
categories, domain/categories.py: "Refunds" grew). Counts are per mention: a value counts once per
mention that has it, so a post repeating "telat" five times weighs like one that says it once.

Scoring is the log-odds ratio with an informative Dirichlet prior of Monroe, Colaresi & Quinn
(2008, "Fightin' Words"), per kind. With window counts y_w, baseline counts y_b, their kind totals
n_w and n_b, prior counts a_i (by default the pooled counts y_w,i + y_b,i times ``prior_strength``)
and a0 = sum of a_i:

    delta_i = log((y_w,i + a_i) / (n_w + a0 - y_w,i - a_i))
              - log((y_b,i + a_i) / (n_b + a0 - y_b,i - a_i))
    z_i     = delta_i / sqrt(1 / (y_w,i + a_i) + 1 / (y_b,i + a_i))

The prior pulls rare values towards "no change", and the variance term makes a value seen 0 -> 3
times far less significant than one seen 40 -> 120: small counts are damped without a hard cut.
A driver must also have grown in share, occur at least ``min_count`` (3) times in the window, and
have z >= ``min_score`` (1.96). ``lift`` is the plain growth count / baseline_count (None when the
baseline is 0), which is what narratives quote.

Evidence: up to 3 window mentions that are the most typical of the driver: the cosine similarity
of each mention's term set to the centroid of the term sets of all window mentions that carry the
driver, highest first, skipping texts already chosen (near-identical copies add nothing), ties by
engagement then id.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from dengar_insights.domain import neardup
from dengar_insights.domain.insight.stopwords import is_content_word, is_stopword
from dengar_insights.domain.rollups import Totals
from dengar_insights.domain.terms import tokens

ASPECT = "aspect"
TERM = "term"
HASHTAG = "hashtag"
PLATFORM = "platform"
LANGUAGE = "language"
AUTHOR = "author"
ENTITY = "entity"
NEARDUP = "neardup"
CATEGORY = "category"
KINDS = (ASPECT, TERM, HASHTAG, PLATFORM, LANGUAGE, AUTHOR, ENTITY, NEARDUP, CATEGORY)
# A mention in none of the tenant's categories counts under this value, which is never a driver:
# most mentions have no category, and without it one category would be 100% of its kind in both
# windows, so its growth could not show.
NO_CATEGORY = "-"

# Kind -> value -> number of mentions with it.
FeatureCounts = Mapping[str, Mapping[str, int]]


@dataclass(frozen=True)
class MentionFeatures:
    """What the insight engine reads of one stored mention."""

    id: str
    created_at: datetime
    text: str = ""
    sentiment: str = "neutral"
    aspects: tuple[tuple[str, str], ...] = ()
    hashtags: tuple[str, ...] = ()
    platform: str = ""
    language: str = "und"
    author: str = ""
    entities: tuple[str, ...] = ()
    neardup_keys: tuple[str, ...] = ()
    query_ids: tuple[str, ...] = ()
    engagement: int = 0
    category_ids: tuple[str, ...] = ()

    def terms(self) -> tuple[str, ...]:
        """Content words and two-word phrases of the text, distinct, in order of appearance."""
        return text_terms(self.text)

    def values(self, kind: str) -> tuple[str, ...]:
        """This mention's distinct values of one driver kind."""
        if kind == ASPECT:
            return tuple(dict.fromkeys(f"{a}:{p}" for a, p in self.aspects))
        if kind == TERM:
            return self.terms()
        if kind == HASHTAG:
            return tuple(dict.fromkeys(h.lstrip("#").casefold() for h in self.hashtags if h.strip("#")))
        if kind == PLATFORM:
            return (self.platform,) if self.platform else ()
        if kind == LANGUAGE:
            return (self.language,) if self.language else ()
        if kind == AUTHOR:
            return (self.author,) if self.author else ()
        if kind == ENTITY:
            return tuple(dict.fromkeys(self.entities))
        if kind == NEARDUP:
            return tuple(dict.fromkeys(self.neardup_keys)) or (text_key(self.text),)
        if kind == CATEGORY:
            return tuple(dict.fromkeys(self.category_ids)) or (NO_CATEGORY,)
        raise ValueError(f"unknown driver kind {kind!r}")


def text_terms(text: str) -> tuple[str, ...]:
    """Content words and adjacent two-word phrases (neither word a stop word) of ``text``."""
    toks = [t for t in tokens(text) if t.isalnum() or "_" in t]
    out: dict[str, None] = {}
    for i, t in enumerate(toks):
        if is_content_word(t):
            out[t] = None
        if i + 1 < len(toks):
            u = toks[i + 1]
            if not is_stopword(t) and not is_stopword(u) and len(t) > 1 and len(u) > 1 \
                    and not (t.isdigit() or u.isdigit()) and t != u:
                out[f"{t} {u}"] = None
    return tuple(out)


def text_key(text: str) -> str:
    """A near-duplicate key from the text alone, for mentions enriched without LSH keys."""
    words = [t for t in tokens(text) if t.isalnum()]
    if len(" ".join(words)) < 16:
        return ""
    return "txt-" + hashlib.blake2b(" ".join(words).encode(), digest_size=8).hexdigest()


def features_from_doc(doc: Mapping[str, Any]) -> MentionFeatures:
    """MentionFeatures of a stored mention document (see domain/mention.py for its fields)."""
    author = doc.get("author") or {}
    created = doc.get("created_at")
    if not isinstance(created, datetime):
        created = datetime(1970, 1, 1, tzinfo=UTC)
    elif created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    text = " ".join(x for x in (doc.get("title") or "", doc.get("text") or "") if x)
    return MentionFeatures(
        id=str(doc.get("_id", "")), created_at=created, text=text,
        sentiment=str((doc.get("sentiment") or {}).get("label") or "neutral"),
        aspects=tuple((str(a.get("name", "")), str(a.get("polarity", "neutral")))
                      for a in doc.get("aspects") or () if a.get("name")),
        hashtags=tuple(str(h) for h in doc.get("hashtags") or ()),
        platform=str(doc.get("platform") or ""), language=str(doc.get("language") or "und"),
        author=str(author.get("handle") or author.get("id") or ""),
        entities=tuple(str(e.get("id") or e.get("surface") or "") for e in doc.get("entities") or ()
                       if e.get("id") or e.get("surface")),
        neardup_keys=tuple(neardup.keys_of(doc)),
        query_ids=tuple(str(q) for q in doc.get("query_ids") or ()),
        engagement=int(doc.get("engagement_score") or 0),
        category_ids=tuple(str(c) for c in doc.get("category_ids") or ()))


def feature_counts(mentions: Iterable[MentionFeatures],
                   kinds: Sequence[str] = KINDS) -> dict[str, Counter[str]]:
    """Per kind, how many mentions have each value (empty values are skipped)."""
    out: dict[str, Counter[str]] = {k: Counter() for k in kinds}
    for m in mentions:
        for k in kinds:
            out[k].update(v for v in m.values(k) if v)
    return out


def rollup_feature_counts(totals: Totals) -> dict[str, Counter[str]]:
    """The exact aspect, platform and language counts of a window, from its rollups."""
    aspects: Counter[str] = Counter()
    for name, pols in totals.aspects.items():
        for pol, n in pols.items():
            if n:
                aspects[f"{name}:{pol}"] += n
    return {ASPECT: aspects, PLATFORM: Counter(totals.platforms),
            LANGUAGE: Counter(totals.languages)}


@dataclass(frozen=True)
class DriverParams:
    """Driver ranking parameters (see the module docstring)."""

    prior_strength: float = 0.1
    min_count: int = 3
    min_score: float = 1.96
    per_kind: int = 5
    evidence: int = 3


DEFAULT_DRIVER_PARAMS = DriverParams()


@dataclass(frozen=True)
class Driver:
    """One value that grew from the baseline window to the spike window."""

    kind: str
    value: str
    count: int
    baseline_count: int
    lift: float | None
    score: float
    share: float
    baseline_share: float
    evidence_ids: tuple[str, ...] = field(default=())
    # For non-term drivers: the terms that rose most among the driver's own mentions.
    terms: tuple[str, ...] = field(default=())


def log_odds_z(y_w: Mapping[str, int], y_b: Mapping[str, int],
               prior: Mapping[str, float] | None = None,
               prior_strength: float = 0.1) -> dict[str, float]:
    """Fightin' Words z-scores (window vs baseline) of every value in either count table.

    ``prior``: background counts (default: the pooled counts), scaled by ``prior_strength``.
    """
    keys = set(y_w) | set(y_b)
    if prior is None:
        prior = {k: float(y_w.get(k, 0) + y_b.get(k, 0)) for k in keys}
    alpha = {k: max(prior_strength * prior.get(k, 0.0), 0.01) for k in keys}
    a0 = sum(alpha.values())
    n_w, n_b = sum(y_w.values()), sum(y_b.values())
    out = {}
    for k in keys:
        a, w, b = alpha[k], y_w.get(k, 0), y_b.get(k, 0)
        delta = (math.log((w + a) / max(n_w + a0 - w - a, 1e-9))
                 - math.log((b + a) / max(n_b + a0 - b - a, 1e-9)))
        out[k] = delta / math.sqrt(1.0 / (w + a) + 1.0 / (b + a))
    return out


def rank_drivers(window: FeatureCounts, baseline: FeatureCounts, *,
                 window_mentions: int | None = None, baseline_mentions: int | None = None,
                 baseline_scale: float = 1.0,
                 params: DriverParams = DEFAULT_DRIVER_PARAMS) -> list[Driver]:
    """Per kind, the values that grew most (best ``per_kind`` of each), highest score first.

    ``baseline_scale``: window length / baseline length, when the baseline is longer than the
    window; ``baseline_count`` and ``lift`` are then per window length (the z-score compares shares
    and needs no scaling).

    ``window_mentions``/``baseline_mentions``: the number of mentions counted, for the shares
    (default: the kind's largest count, a lower bound).
    """
    out: list[Driver] = []
    for kind in KINDS:
        y_w = {k: int(v) for k, v in (window.get(kind) or {}).items() if v > 0 and k}
        y_b = {k: int(v) for k, v in (baseline.get(kind) or {}).items() if v > 0 and k}
        if not y_w:
            continue
        z = log_odds_z(y_w, y_b, prior_strength=params.prior_strength)
        n_w = window_mentions or max(y_w.values())
        n_b = baseline_mentions or max(y_b.values(), default=0)
        tot_w, tot_b = sum(y_w.values()), sum(y_b.values())
        found = []
        for value, count in y_w.items():
            if kind == CATEGORY and value == NO_CATEGORY:
                continue
            raw_base = y_b.get(value, 0)
            grew = tot_b == 0 or count / tot_w > raw_base / tot_b
            base = round(raw_base * baseline_scale)
            if count < params.min_count or z[value] < params.min_score or not grew:
                continue
            found.append(Driver(kind=kind, value=value, count=count, baseline_count=base,
                                lift=count / (raw_base * baseline_scale) if raw_base else None,
                                score=z[value], share=count / n_w if n_w else 0.0,
                                baseline_share=raw_base / n_b if n_b else 0.0))
        found.sort(key=lambda d: (-d.score, -d.count, d.value))
        if kind == TERM:
            found = _drop_subsumed(found, y_w, n_w)
        out.extend(found[:params.per_kind])
    out.sort(key=lambda d: (-d.score, -d.count, d.kind, d.value))
    return out


def _drop_subsumed(found: list[Driver], y_w: Mapping[str, int], n_w: int) -> list[Driver]:
    """Fold phrases and words that say the same thing.

    A phrase with a word that is in most window mentions (the brand: "kirimin telat") says no more
    than its other word, so it goes; a word that is mostly one phrase found with it goes in favour
    of the phrase ("hilang" under "paket hilang").
    """
    everywhere = {w for w, c in y_w.items() if " " not in w and n_w and c >= 0.5 * n_w}
    phrases = [d for d in found if " " in d.value
               and not any(w in everywhere for w in d.value.split())]
    keep = []
    for d in found:
        if " " in d.value:
            if d in phrases:
                keep.append(d)
            continue
        if any(d.value in p.value.split() and p.count >= 0.8 * d.count for p in phrases):
            continue
        keep.append(d)
    return keep


def _cosine_to_centroid(term_sets: Sequence[frozenset[str]]) -> list[float]:
    centroid: Counter[str] = Counter()
    for ts in term_sets:
        centroid.update(ts)
    norm_c = math.sqrt(sum(v * v for v in centroid.values())) or 1.0
    return [sum(centroid[t] for t in ts) / (norm_c * math.sqrt(len(ts))) if ts else 0.0
            for ts in term_sets]


def typical_mentions(mentions: Sequence[MentionFeatures], k: int = 3) -> tuple[str, ...]:
    """Ids of the ``k`` mentions closest to the centroid of their term sets, distinct texts."""
    sets = [frozenset(m.terms()) for m in mentions]
    sims = _cosine_to_centroid(sets)
    order = sorted(range(len(mentions)),
                   key=lambda i: (-round(sims[i], 9), -mentions[i].engagement, mentions[i].id))
    chosen: list[str] = []
    seen: set[str] = set()
    for i in order:
        key = text_key(mentions[i].text) or mentions[i].text.strip().casefold()
        if key in seen:
            continue
        seen.add(key)
        chosen.append(mentions[i].id)
        if len(chosen) == k:
            break
    return tuple(chosen)


def driver_terms(having: Sequence[MentionFeatures], baseline: Sequence[MentionFeatures],
                 n: int = 3, params: DriverParams = DEFAULT_DRIVER_PARAMS) -> tuple[str, ...]:
    """The terms that rose most among ``having`` (a driver's mentions) against ``baseline``."""
    w = feature_counts(having, (TERM,))
    b = feature_counts(baseline, (TERM,))
    found = rank_drivers(w, b, params=replace(params, per_kind=n, min_score=0.0))
    return tuple(d.value for d in found[:n])


def attach_evidence(drivers: Sequence[Driver], window_mentions: Sequence[MentionFeatures],
                    k: int = 3, baseline_mentions: Sequence[MentionFeatures] | None = None,
                    sentiment: str | None = None) -> list[Driver]:
    """The drivers with up to ``k`` typical window mentions each as evidence.

    With ``baseline_mentions``, non-term drivers also get the terms that characterise them.
    Evidence is taken only from the driver's mentions whose overall sentiment is the aspect's
    polarity (aspect drivers) or ``sentiment`` (the others, e.g. a negative spike's): a card lists
    its evidence through ``GET /v1/mentions`` filtered by that sentiment (a driver without such a
    mention has no evidence, and a card does not lead with it).
    """
    out = []
    for d in drivers:
        having = [m for m in window_mentions if d.value in m.values(d.kind)]
        terms = d.terms
        if baseline_mentions is not None and d.kind != TERM:
            terms = driver_terms(having, baseline_mentions)
        pol = d.value.partition(":")[2] if d.kind == ASPECT else sentiment
        toned = [m for m in having if m.sentiment == pol] if pol else having
        out.append(replace(d, evidence_ids=typical_mentions(toned, k), terms=terms))
    return out


def explain(window_mentions: Sequence[MentionFeatures], baseline_mentions: Sequence[MentionFeatures],
            *, exact_window: FeatureCounts | None = None, exact_baseline: FeatureCounts | None = None,
            window_volume: int | None = None, baseline_volume: int | None = None,
            baseline_scale: float = 1.0, sentiment: str | None = None,
            params: DriverParams = DEFAULT_DRIVER_PARAMS) -> list[Driver]:
    """Ranked drivers with evidence, from (samples of) the two windows' mentions.

    ``sentiment``: the overall sentiment evidence should have where it can (see attach_evidence).

    ``exact_window``/``exact_baseline``: counts known exactly (from the rollups, e.g.
    rollup_feature_counts) that replace the sample's counts for their kinds; their shares refer
    to ``window_volume``/``baseline_volume`` (the windows' true mention counts). The other kinds'
    counts and shares are those of the samples. ``baseline_scale``: see rank_drivers.
    """
    exact_kinds = set(exact_window or ()) if exact_baseline is not None else set()
    sampled = [k for k in KINDS if k not in exact_kinds]
    drivers = rank_drivers(feature_counts(window_mentions, sampled),
                           feature_counts(baseline_mentions, sampled),
                           window_mentions=len(window_mentions) or None,
                           baseline_mentions=len(baseline_mentions) or None,
                           baseline_scale=baseline_scale, params=params)
    if exact_kinds and exact_window is not None and exact_baseline is not None:
        drivers += rank_drivers({k: exact_window[k] for k in exact_kinds},
                                {k: exact_baseline.get(k) or {} for k in exact_kinds},
                                window_mentions=window_volume, baseline_mentions=baseline_volume,
                                baseline_scale=baseline_scale, params=params)
        drivers.sort(key=lambda d: (-d.score, -d.count, d.kind, d.value))
    return attach_evidence(drivers, window_mentions, params.evidence, baseline_mentions, sentiment)


def top_terms(mentions: Iterable[MentionFeatures], n: int = 10) -> list[tuple[str, int]]:
    """The ``n`` most frequent terms (mentions containing them), ties by term."""
    c: Counter[str] = Counter()
    for m in mentions:
        c.update(m.terms())
    return sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
