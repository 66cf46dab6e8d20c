"""Emerging topics of a window: sampling, growth against the previous window, stable topic ids.

Pure functions around ``topics.discover_topics`` (clustering and labels); the use case that reads
the windows and keeps the registry is ``service_layer/topics.py``.

* **Sampling** - a window with more than ``cap`` embedded mentions is clustered on a sample: the
  ``cap`` mentions whose ``blake2b(mention id)`` is smallest (bottom-k by hash). The same window
  always gives the same sample, and a mention in two overlapping windows is kept or dropped alike.
  Volumes are then the sample counts scaled by ``total / cap`` and marked as estimates.
* **Growth** - the previous window of the same length is clustered too, and a current topic
  continues a previous one when they have a *mutual majority* (``match_windows``: most of each
  one's posts are nearest to the other's centroid). A current topic that continues none is
  ``new``; a previous topic that none continues (big before, nothing like it now) is reported as
  ``fading`` with volume 0. Continued topics are ``growing``, ``fading`` or ``stable`` by
  ``status`` (+-50% and at least ``MIN_CHANGE`` mentions).
* **Stable ids** (``identify``) - the previous window's topics are matched against the tenant's
  registry for the scope (ids with their int8 centroids, ``RegistryEntry``), one-to-one, greedy
  by *centred* centroid cosine >= ``MATCH_THRESHOLD``; a current topic that continues a previous
  one takes its id, any other is matched to the entries left; otherwise a new id is minted from
  the tenant, scope and quantised centroid (the same input mints the same id). Entries follow
  their topic: they take its latest centroid and keywords.

**Threshold** (``MATCH_THRESHOLD`` = 0.65, on *centred* cosines): e5 vectors share a large common
direction and centroids, as averages, share it more. On the 14,485 airline tweets
(``bench/topics_airlines.py --calibrate``: random halves of a 3-day window, and consecutive 3-day
windows tenant-wide and per airline, each part clustered, two seeds; "the same topic" = two
clusters with a mutual majority when each part's posts are assigned to the other's centroids),
raw centroid cosines were 0.996-1.0 for the 49 same-topic pairs and 0.969-0.998 for a topic's
best *different* match: no threshold separates them. After removing the posts' mean direction
(``center``) the same pairs had median 0.94 (5th percentile 0.71) and the best different ones
median 0.25 (95th percentile 0.87). Greedy one-to-one matching recovered 94% of the same-topic
pairs at 0.60-0.65 with 92% precision, 90% at 0.70, 76% at 0.80, 67% at 0.90 (100% precision);
the few "wrong" matches left at 0.65-0.85 are a topic that one clustering split in two (no
mutual majority), which is a fair continuation. A missed match only mints a new id (the topic
looks new); 0.65 keeps most ids.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt

from dengar_common.embedding import quantize
from dengar_insights.domain.insight.topics import DEFAULT_K_CANDIDATES, Topic

NEW, GROWING, STABLE, FADING = "new", "growing", "stable", "fading"
STATUSES = (NEW, GROWING, STABLE, FADING)

MATCH_THRESHOLD = 0.65
# Relative change that makes a matched topic growing (>= +50%) or fading (<= -50%), when the
# absolute change is at least ``MIN_CHANGE`` mentions too (small topics jitter by a few posts).
GROWTH = 0.5
MIN_CHANGE = 5
SNIPPET_CHARS = 280
# Entries of a registry beyond this many, least recently seen first, are forgotten.
REGISTRY_MAX = 500

Vector = npt.NDArray[np.float32]


@dataclass(frozen=True)
class TopicPost:
    """What clustering and a topic's summary need of one stored mention."""

    id: str
    created_at: datetime
    text: str
    sentiment: str
    aspects: tuple[str, ...]
    embedding: bytes
    author: str = ""
    engagement: int = 0


@dataclass(frozen=True)
class RegistryEntry:
    """One registered topic of a tenant and scope: its id, last centroid (unit) and keywords."""

    id: str
    centroid: Vector
    keywords: tuple[str, ...]
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True)
class Representative:
    id: str
    snippet: str


@dataclass(frozen=True)
class TopicSummary:
    """One reported topic. Counts are estimates (sample counts scaled) when ``estimated``."""

    id: str
    keywords: tuple[str, ...]
    volume: int
    share: float
    sentiment: dict[str, int]
    aspects: tuple[tuple[str, int], ...]
    representatives: tuple[Representative, ...]
    previous_volume: int
    change: int
    relative_change: float | None
    status: str
    cohesion: float
    centroid: Vector = field(repr=False, compare=False)


# One topic per this many mentions at least (2-20): see ``k_candidates``.
MENTIONS_PER_TOPIC_FLOOR = 500
MAX_K_FLOOR = 20


def k_candidates(n: int) -> tuple[int, ...]:
    """The numbers of topics the silhouette may choose from for ``n`` mentions.

    On e5 vectors the cosine silhouette is low everywhere (0.04-0.11 on 10,000 airline tweets)
    and peaks at 4-6 clusters, which are broad moods ("flight delayed", "thanks") rather than
    stories. A floor of one topic per ``MENTIONS_PER_TOPIC_FLOOR`` mentions (between 2 and 20)
    surfaces the stories a listener wants (on those tweets: "fleet's on fleek", the Imagine Dragons
    tickets, the Wall Street CEO letter), while small windows keep the silhouette's choice."""
    floor = min(max(2, n // MENTIONS_PER_TOPIC_FLOOR), MAX_K_FLOOR)
    return tuple(k for k in DEFAULT_K_CANDIDATES if k >= floor)


# -- sampling --------------------------------------------------------------------------------------


def sample_key(mention_id: str) -> bytes:
    """The sampling order of a mention: a hash of its id, the same in every window."""
    return hashlib.blake2b(mention_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()


def sample_ids(ids: Sequence[str], cap: int) -> list[str]:
    """The ``cap`` ids with the smallest hash (all of them when there are at most ``cap``), in
    hash order."""
    unique = list(dict.fromkeys(ids))
    if len(unique) <= cap:
        return unique
    return sorted(unique, key=lambda i: (sample_key(i), i))[:cap]


def scale(count: int, total: int, sampled: int) -> int:
    """A sample count as an estimate for the whole window."""
    if sampled <= 0 or total <= sampled:
        return count
    return round(count * total / sampled)


# -- matching --------------------------------------------------------------------------------------


def center(x: Vector, background: Vector | None) -> npt.NDArray[np.float64]:
    """Rows of ``x`` without their component along ``background`` (a unit vector), re-normalised.

    e5 vectors share a large common direction, and centroids (averages) share it more: raw
    centroid cosines of different topics are 0.97-0.997 on the airline tweets, so no threshold
    separates them. Removing the direction of the posts' mean leaves what distinguishes topics."""
    x64: npt.NDArray[np.float64] = np.asarray(x, dtype=np.float64)
    if background is None or x64.shape[0] == 0:
        return x64
    mu = np.asarray(background, dtype=np.float64)
    out = x64 - np.outer(x64 @ mu, mu)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    centered: npt.NDArray[np.float64] = np.divide(out, norms, out=np.zeros_like(out),
                                                   where=norms > 1e-12)
    return centered


def match(a: Vector, b: Vector, threshold: float = MATCH_THRESHOLD,
          background: Vector | None = None) -> dict[int, int]:
    """One-to-one greedy matching of the rows of ``a`` to the rows of ``b`` (unit vectors): the
    most similar pair first, each row at most once, only pairs with cosine >= ``threshold`` after
    both are ``center``ed on ``background``. Returns {row of a: row of b}; ties break on the lower
    indices, so the result is deterministic."""
    if a.shape[0] == 0 or b.shape[0] == 0 or a.shape[1] != b.shape[1]:
        return {}
    sims = center(a, background) @ center(b, background).T
    rows, cols = np.nonzero(sims >= threshold)
    order = np.lexsort((cols, rows, -sims[rows, cols]))
    out: dict[int, int] = {}
    used: set[int] = set()
    for k in order:
        i, j = int(rows[k]), int(cols[k])
        if i in out or j in used:
            continue
        out[i] = j
        used.add(j)
    return out


def background_of(*xs: Vector) -> Vector | None:
    """The unit mean direction of all rows of ``xs`` (None when there are none)."""
    rows = [x for x in xs if x.ndim == 2 and x.shape[0]]
    if not rows or len({x.shape[1] for x in rows}) != 1:
        return None
    total = np.sum([x.sum(axis=0, dtype=np.float64) for x in rows], axis=0)
    n = float(np.linalg.norm(total))
    return (total / n).astype(np.float32) if n > 0 else None


def mint_id(tenant_id: str, scope: str, centroid: Vector, taken: set[str]) -> str:
    """A new topic id from the tenant, scope and quantised centroid (deterministic), avoiding
    ``taken``."""
    base = hashlib.blake2b(f"{tenant_id}\x00{scope}\x00".encode() + quantize(centroid),
                           digest_size=6).hexdigest()
    out, n = f"tp_{base}", 1
    while out in taken:
        n += 1
        out = f"tp_{base}{n}"
    return out


# -- growth ----------------------------------------------------------------------------------------


def status(volume: int, previous: int) -> str:
    """new, growing, stable or fading: see the module docstring."""
    if previous == 0:
        return NEW if volume > 0 else STABLE
    if volume == 0:
        return FADING
    change = volume - previous
    if change >= MIN_CHANGE and change >= GROWTH * previous:
        return GROWING
    if -change >= MIN_CHANGE and -change >= GROWTH * previous:
        return FADING
    return STABLE


def centroids_of(topics: Sequence[Topic], labels: npt.NDArray[np.int64], x: Vector) -> Vector:
    """Unit centroids of ``topics`` from the rows of ``x`` they were found on."""
    out = np.zeros((len(topics), x.shape[1]), dtype=np.float32)
    for k, t in enumerate(topics):
        c = x[labels == t.topic_id].sum(axis=0)
        n = float(np.linalg.norm(c))
        out[k] = c / n if n > 0 else c
    return out


@dataclass(frozen=True)
class Clustered:
    """A window's topics as clustering found them on (a sample of) its posts."""

    posts: Sequence[TopicPost]
    topics: tuple[Topic, ...]
    labels: npt.NDArray[np.int64]
    centroids: Vector
    total: int  # embedded mentions in the window (the sample is ``len(posts)`` of them)
    # The unit vectors the posts were clustered on (row i is posts[i]).
    vectors: Vector | None = None


def match_windows(current: Clustered, previous: Clustered,
                  threshold: float = MATCH_THRESHOLD) -> dict[int, int]:
    """{current topic: previous topic it continues}, one-to-one.

    First the pairs with a *mutual majority* (most of the current topic's posts are nearest to
    the previous topic's centroid and most of the previous topic's posts nearest to the current
    one's; a majority is unique, so these are one-to-one): both windows' posts are at hand, and
    with a few broad topics the centred centroids of one story can point apart. Then, among the
    topics left, the registry's rule (``match``: greedy by centred centroid cosine >=
    ``threshold``), which catches a topic whose posts spread over several fine neighbours."""
    if not current.topics or not previous.topics or current.vectors is None \
            or previous.vectors is None:
        return {}
    c_share = _majority(current.vectors, current.labels, len(current.topics), previous.centroids)
    p_share = _majority(previous.vectors, previous.labels, len(previous.topics), current.centroids)
    pairs = {i: j for i, (j, _) in c_share.items() if p_share.get(j, (-1, 0.0))[0] == i}
    cur_left = [i for i in range(len(current.topics)) if i not in pairs]
    prev_left = [j for j in range(len(previous.topics)) if j not in set(pairs.values())]
    if cur_left and prev_left:
        found = match(current.centroids[cur_left], previous.centroids[prev_left], threshold,
                      window_background(current, previous))
        pairs.update({cur_left[a]: prev_left[b] for a, b in found.items()})
    return pairs


def _majority(x: Vector, labels: npt.NDArray[np.int64], k: int,
              other: Vector) -> dict[int, tuple[int, float]]:
    """For each topic 0..k-1 of ``x``: the row of ``other`` most of its posts are nearest to, if
    more than half of them are."""
    nearest = np.argmax(x @ other.T, axis=1)
    out: dict[int, tuple[int, float]] = {}
    for t in range(k):
        members = nearest[labels == t]
        if members.size == 0:
            continue
        counts = np.bincount(members, minlength=other.shape[0])
        best = int(np.argmax(counts))
        share = float(counts[best] / members.size)
        if share > 0.5:
            out[t] = (best, share)
    return out


def identify(tenant_id: str, scope: str, current: Clustered, previous: Clustered,
             pairs: dict[int, int], registry: Sequence[RegistryEntry], seen: datetime,
             threshold: float = MATCH_THRESHOLD) -> tuple[list[str], list[RegistryEntry]]:
    """Ids of the reported topics (the current ones, then the previous ones without a match, in
    ``summarise``'s order) and the registry updated with them.

    Previous topics are matched to the registry first (centred centroid cosine, one-to-one); a
    current topic that continues a previous one (``pairs``) takes its id, so growth and identity
    agree; any other current topic is matched to the entries left, and an unmatched topic gets a
    new id (``mint_id``). Reported topics' entries take their latest centroid and keywords (a topic
    may drift slowly and keep its id). At most ``REGISTRY_MAX`` entries are kept, the least
    recently seen dropped first."""
    background = window_background(current, previous)
    entries = list(registry)
    dim = current.centroids.shape[1] if current.topics else previous.centroids.shape[1] \
        if previous.topics else 0
    # Entries of another vector size (an older encoder) cannot match; they age out.
    comparable = [k for k, e in enumerate(entries) if e.centroid.shape == (dim,)]
    reg = np.stack([entries[k].centroid for k in comparable]) if comparable else \
        np.zeros((0, dim), dtype=np.float32)
    taken = {e.id for e in entries}
    by_id = {e.id: k for k, e in enumerate(entries)}

    def fresh(centroid: Vector) -> str:
        new_id = mint_id(tenant_id, scope, centroid, taken)
        taken.add(new_id)
        return new_id

    prev_found = match(previous.centroids, reg, threshold, background) if previous.topics else {}
    prev_ids = [entries[comparable[prev_found[j]]].id if j in prev_found
                else fresh(previous.centroids[j]) for j in range(len(previous.topics))]
    left = [r for r in range(len(comparable)) if r not in set(prev_found.values())]
    alone = [i for i in range(len(current.topics)) if i not in pairs]
    cur_found: dict[int, int] = {}
    if alone and left:
        found = match(current.centroids[alone], reg[left], threshold, background)
        cur_found = {alone[a]: left[r] for a, r in found.items()}
    ids: list[str] = []
    reported: list[tuple[str, Vector, tuple[str, ...]]] = []
    for i, t in enumerate(current.topics):
        if i in pairs:
            topic_id = prev_ids[pairs[i]]
        elif i in cur_found:
            topic_id = entries[comparable[cur_found[i]]].id
        else:
            topic_id = fresh(current.centroids[i])
        ids.append(topic_id)
        reported.append((topic_id, current.centroids[i], t.keywords))
    for j in gone_topics(previous, pairs):
        ids.append(prev_ids[j])
        reported.append((prev_ids[j], previous.centroids[j], previous.topics[j].keywords))
    for topic_id, centroid, keywords in reported:
        k = by_id.get(topic_id)
        if k is None:
            by_id[topic_id] = len(entries)
            entries.append(RegistryEntry(topic_id, centroid, keywords, seen, seen))
        else:
            old = entries[k]
            entries[k] = RegistryEntry(topic_id, centroid, keywords, min(old.first_seen, seen),
                                       max(old.last_seen, seen))
    if len(entries) > REGISTRY_MAX:
        entries = sorted(entries, key=lambda e: (e.last_seen, e.id), reverse=True)[:REGISTRY_MAX]
    return ids, entries


def gone_topics(previous: Clustered, pairs: dict[int, int]) -> list[int]:
    """Previous topics that no current topic continues (reported as fading)."""
    continued = set(pairs.values())
    return [j for j in range(len(previous.topics)) if j not in continued]


@dataclass(frozen=True)
class Described:
    """A topic's counts in one window (scaled to the window when it was sampled)."""

    volume: int
    share: float
    sentiment: dict[str, int]
    aspects: tuple[tuple[str, int], ...]
    representatives: tuple[Representative, ...]


def describe(c: Clustered, k: int, *, representatives: int = 3) -> Described:
    """Scaled counts, sentiment, top aspects and representatives of topic ``k`` of ``c``."""
    t = c.topics[k]
    members = [c.posts[i] for i in np.nonzero(c.labels == t.topic_id)[0]]
    n = len(c.posts)
    sentiment = Counter(p.sentiment for p in members)
    aspects = Counter(a for p in members for a in dict.fromkeys(p.aspects))
    return Described(
        volume=scale(t.size, c.total, n),
        share=round(t.size / n, 6) if n else 0.0,
        sentiment={s: scale(sentiment.get(s, 0), c.total, n)
                   for s in ("negative", "neutral", "positive")},
        aspects=tuple((a, scale(m, c.total, n))
                      for a, m in sorted(aspects.items(), key=lambda kv: (-kv[1], kv[0]))[:3]),
        representatives=tuple(Representative(c.posts[i].id, _snippet(c.posts[i].text))
                              for i in t.representatives[:representatives]))


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET_CHARS else flat[:SNIPPET_CHARS - 1].rstrip() + "…"


def window_background(current: Clustered, previous: Clustered) -> Vector | None:
    """The direction the two windows' posts share, which registry matching removes (``center``)."""
    return background_of(*(c.vectors for c in (current, previous) if c.vectors is not None))


def summarise(current: Clustered, previous: Clustered, pairs: dict[int, int],
              ids: Sequence[str]) -> list[TopicSummary]:
    """Every topic of ``current`` with its growth against ``previous`` (``pairs``: see
    ``match_windows``), then the previous topics that none continues (fading, volume 0).

    ``ids`` names them in that order (``identify``). Ranked by the larger of current and previous
    volume."""
    out: list[TopicSummary] = []
    for k, t in enumerate(current.topics):
        d = describe(current, k)
        prev = describe(previous, pairs[k]).volume if k in pairs else 0
        out.append(_summary(ids[k], t, d, prev, current.centroids[k]))
    for n, j in enumerate(gone_topics(previous, pairs)):
        d = describe(previous, j)
        now = Described(0, 0.0, {"negative": 0, "neutral": 0, "positive": 0}, (), d.representatives)
        out.append(_summary(ids[len(current.topics) + n], previous.topics[j], now, d.volume,
                            previous.centroids[j]))
    out.sort(key=lambda s: (-max(s.volume, s.previous_volume), s.status == FADING, s.id))
    return out


def _summary(topic_id: str, t: Topic, d: Described, previous: int, centroid: Vector
             ) -> TopicSummary:
    change = d.volume - previous
    return TopicSummary(
        id=topic_id, keywords=t.keywords, volume=d.volume, share=d.share, sentiment=d.sentiment,
        aspects=d.aspects, representatives=d.representatives, previous_volume=previous,
        change=change, relative_change=round(change / previous, 4) if previous else None,
        status=status(d.volume, previous), cohesion=t.cohesion, centroid=centroid)
