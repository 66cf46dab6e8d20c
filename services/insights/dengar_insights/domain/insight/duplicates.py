"""Coordinated near-duplicates: several distinct authors posting near-identical text in a short span.

Mentions are clustered by their near-duplicate keys (the nlp service's MinHash LSH band keys; two
mentions sharing any key are in one cluster, transitively, by union-find); a mention without keys
falls back to a hash of its normalised words (drivers.text_key), and a text too short for either is
never clustered ("thanks!" from a thousand people is no campaign). LSH keys link candidates only:
chained transitively they join texts that merely share a template or a few phrases with a third
one, so each linked group is split again into near-identical sub-clusters, each mention joining the
first (earliest) one whose leading text has a word-set Jaccard similarity of at least
``min_similarity`` (0.5) with it. A cluster is *coordinated* when,
within some span of at most ``max_span`` (3 hours), it holds at least ``min_posts`` (5) mentions
from at least ``min_authors`` (5) distinct authors. The reported span is the densest such one (most
distinct authors, then most posts, then earliest).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from dengar_insights.domain.insight.drivers import MentionFeatures, text_key
from dengar_insights.domain.terms import tokens


@dataclass(frozen=True)
class DuplicateParams:
    min_authors: int = 5
    min_posts: int = 5
    max_span: timedelta = timedelta(hours=3)
    min_similarity: float = 0.5


DEFAULT_DUPLICATE_PARAMS = DuplicateParams()


@dataclass(frozen=True)
class DuplicateCluster:
    """The densest coordinated span of one near-duplicate cluster."""

    key: str
    start: datetime
    end: datetime
    posts: int
    authors: int
    mention_ids: tuple[str, ...]
    sample_text: str
    common_terms: tuple[str, ...]
    # Copies that carry all common_terms, so the card's q filter lists them; first ones first.
    evidence_ids: tuple[str, ...]
    query_ids: tuple[str, ...]
    platforms: tuple[str, ...]


def _keys(m: MentionFeatures) -> tuple[str, ...]:
    if m.neardup_keys:
        return m.neardup_keys
    k = text_key(m.text)
    return (k,) if k else ()


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def _near_identical(group: Sequence[MentionFeatures], min_similarity: float
                    ) -> list[list[MentionFeatures]]:
    """``group`` split into sub-clusters of texts similar to each one's leader (its first text)."""
    leaders: list[tuple[frozenset[str], list[MentionFeatures]]] = []
    for m in group:
        words = frozenset(tokens(m.text))
        for lead, members in leaders:
            if _jaccard(words, lead) >= min_similarity:
                members.append(m)
                break
        else:
            leaders.append((words, [m]))
    return [members for _, members in leaders]


def clusters_of(mentions: Sequence[MentionFeatures],
                min_similarity: float = DEFAULT_DUPLICATE_PARAMS.min_similarity
                ) -> list[list[MentionFeatures]]:
    """Groups of near-identical mentions linked by a shared near-duplicate key (singletons left
    out); ``min_similarity``: see the module docstring."""
    parent = list(range(len(mentions)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i, m in enumerate(mentions):
        for k in _keys(m):
            if k in owner:
                ra, rb = find(owner[k]), find(i)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
            else:
                owner[k] = i
    groups: dict[int, list[MentionFeatures]] = {}
    for i, m in enumerate(mentions):
        if _keys(m):
            groups.setdefault(find(i), []).append(m)
    out = []
    for g in groups.values():
        if len(g) > 1:
            ordered = sorted(g, key=lambda m: (m.created_at, m.id))
            out += [s for s in _near_identical(ordered, min_similarity) if len(s) > 1]
    return out


def _common_terms(group: Sequence[MentionFeatures], n: int = 4) -> tuple[str, ...]:
    """Words that most copies share (for a ``q`` filter that finds them), in text order.

    They are all words of the group's first text, so at least that copy carries every one."""
    counts: Counter[str] = Counter()
    for m in group:
        counts.update(t for t in m.terms() if " " not in t)
    need = max(2, int(0.8 * len(group)))
    first = group[0].terms()
    return tuple(t for t in first if " " not in t and counts[t] >= need)[:n]


def _carrying(group: Sequence[MentionFeatures], terms: Sequence[str]) -> tuple[str, ...]:
    """Ids of the copies that carry every one of ``terms``: the ones a ``q`` filter lists."""
    need = set(terms)
    return tuple(m.id for m in group if need <= set(m.terms()))


def coordinated_duplicates(mentions: Sequence[MentionFeatures],
                           params: DuplicateParams = DEFAULT_DUPLICATE_PARAMS
                           ) -> list[DuplicateCluster]:
    """Coordinated clusters among ``mentions``, most distinct authors first."""
    found = []
    for group in clusters_of(mentions, params.min_similarity):
        group = sorted(group, key=lambda m: (m.created_at, m.id))
        best: tuple[int, int, int, int] | None = None  # (authors, posts, -i, j)
        j = 0
        for i in range(len(group)):
            j = max(j, i)
            while j + 1 < len(group) and group[j + 1].created_at - group[i].created_at <= params.max_span:
                j += 1
            span = group[i:j + 1]
            authors = len({m.author or m.id for m in span})
            cand = (authors, len(span), -i, j)
            if best is None or cand[:3] > best[:3]:
                best = cand
        if best is None:
            continue
        authors, posts, neg_i, j = best
        if authors < params.min_authors or posts < params.min_posts:
            continue
        span = group[-neg_i:j + 1]
        key = min(k for m in span for k in _keys(m))
        found.append(DuplicateCluster(
            key=key, start=span[0].created_at, end=span[-1].created_at, posts=posts,
            authors=authors, mention_ids=tuple(m.id for m in span), sample_text=span[0].text,
            common_terms=(common := _common_terms(span)),
            evidence_ids=_carrying(span, common)[:3],
            query_ids=tuple(sorted({q for m in span for q in m.query_ids})),
            platforms=tuple(sorted({m.platform for m in span if m.platform}))))
    found.sort(key=lambda c: (-c.authors, -c.posts, c.start, c.key))
    return found
