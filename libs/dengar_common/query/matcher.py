"""A tenant's set of queries (``QuerySet``), matched against documents (``document.MatchDoc``).

``QuerySet.match`` avoids evaluating most queries: each compiled query carries an
*anchor* set (atoms or filters of which at least one holds for any post it matches, see
``compiler.anchors``), and the set keeps an inverted index from those anchors to queries. A post only
evaluates the queries anchored on one of its tokens or metadata values (``author:gocepat_id``,
``lang:id``), plus the rare queries with no positive anchor at all (``NOT (NOT gojek)``), which are
always evaluated.

Each post gets one ``MatchBudget`` for all of the set's queries (see ``compiler``): a query whose
positional checks run out of it is not matched and is reported in ``MatchReport.over_budget`` (and
logged by ``match``), so an abusive query or post costs bounded time and is visible, and the post is
still tagged with every other query it matches.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal, get_args

from .compiler import (
    CompiledQuery,
    MatchBudget,
    MatchBudgetExceeded,
    compile_query,
)
from .document import MatchDoc
from .lexer import MIN_WILDCARD_CHARS, Atom

logger = logging.getLogger(__name__)

QueryRole = Literal["brand", "competitor", "topic"]
ROLES: tuple[str, ...] = get_args(QueryRole)
@dataclass(frozen=True, slots=True)
class ListeningQuery:
    """One of a tenant's listening queries."""

    id: str
    query: CompiledQuery
    role: QueryRole = "brand"


@dataclass(frozen=True, slots=True)
class MatchReport:
    """What matching one post found: the ids of the queries it matches, those whose answer is not
    known because the post's budget ran out (counted as not matched), and the work units spent."""

    ids: list[str]
    over_budget: tuple[str, ...] = ()
    work: int = 0


class QuerySet:
    """A tenant's listening queries, indexed for matching many posts. Immutable: build a new one when
    the tenant edits its queries (compiling and indexing 200 queries takes ~20 ms)."""

    def __init__(self, queries: Iterable[ListeningQuery]) -> None:
        self._queries: tuple[ListeningQuery, ...] = tuple(queries)
        seen: set[str] = set()
        for q in self._queries:
            if q.id in seen:
                raise ValueError(f"duplicate query id {q.id!r}")
            if q.role not in ROLES:
                raise ValueError(f"query {q.id!r}: role must be one of {', '.join(ROLES)}, not {q.role!r}")
            seen.add(q.id)
        exact: dict[str, list[int]] = {}
        # Wildcards are bucketed by their first MIN_WILDCARD_CHARS letters, so a post looks up one
        # bucket per word instead of testing every wildcard.
        prefix: dict[str, dict[str, list[int]]] = {}
        facets: dict[tuple[str, str], list[int]] = {}
        always: list[int] = []
        for index, q in enumerate(self._queries):
            anchors = q.query.anchors
            if anchors is None:
                always.append(index)
                continue
            for atom in anchors:
                if not isinstance(atom, Atom):
                    facets.setdefault((atom.name, atom.value), []).append(index)
                elif atom.prefix:
                    # The bare word is indexed even for "#mud*": every hashtag token also carries its
                    # bare word, so this can only add candidates, never lose one.
                    bucket = prefix.setdefault(atom.word[:MIN_WILDCARD_CHARS], {})
                    bucket.setdefault(atom.word, []).append(index)
                else:
                    exact.setdefault(atom.key, []).append(index)
        self._exact = {k: tuple(v) for k, v in exact.items()}
        self._exact_keys = frozenset(self._exact)
        self._prefix = {stem: tuple((p, tuple(ix)) for p, ix in b.items()) for stem, b in prefix.items()}
        self._facets = {k: tuple(v) for k, v in facets.items()}
        self._always = frozenset(always)
        self._ids = tuple(q.id for q in self._queries)
        self._roles: dict[str, QueryRole] = {q.id: q.role for q in self._queries}
        self._fns = tuple(q.query.predicate for q in self._queries)
        if len(always) > 20:
            logger.info("%d of %d queries have nothing to index and are evaluated on every post",
                        len(always), len(self._queries))

    @classmethod
    def from_expressions(cls, queries: Mapping[str, tuple[str, QueryRole]]) -> QuerySet:
        """Compile ``{id: (expression, role)}``; raises ``QuerySyntaxError`` for the first bad one."""
        return cls(ListeningQuery(qid, compile_query(expr), role) for qid, (expr, role) in queries.items())

    def __len__(self) -> int:
        return len(self._queries)

    def __iter__(self) -> Iterator[ListeningQuery]:
        return iter(self._queries)

    def candidates(self, doc: MatchDoc) -> list[int]:
        """Indices of the queries that may match ``doc`` (a superset of those that do), in order."""
        found = set(self._always)
        exact = self._exact
        for key in doc.keys & self._exact_keys:
            found.update(exact[key])
        if self._prefix:
            buckets = self._prefix
            for key in doc.keys:
                bucket = buckets.get(key[:MIN_WILDCARD_CHARS])
                if bucket:
                    for p, ix in bucket:
                        if key.startswith(p):
                            found.update(ix)
        if self._facets:
            facets = self._facets
            # The metadata values a filter anchor can be satisfied by (see compiler._compile_field).
            for facet in (("lang", doc.lang_primary), ("lang", doc.lang), ("platform", doc.platform),
                          ("author", doc.author), ("has", "link" if doc.has_link else "")):
                hits = facets.get(facet)
                if hits:
                    found.update(hits)
        return sorted(found)

    def match(self, doc: MatchDoc, budget: MatchBudget | None = None) -> list[str]:
        """Ids of the queries ``doc`` matches, in the order the queries were given. Queries that ran
        out of the post's budget (a fresh ``DEFAULT_MATCH_BUDGET`` when None) are not among them and
        are logged; ``match_report`` returns them."""
        # The hot path of tagging: the same loop as match_report, without building a report.
        fns, ids = self._fns, self._ids
        b = budget if budget is not None else MatchBudget()
        found: list[str] = []
        over: list[str] | None = None
        for i in self.candidates(doc):
            try:
                if fns[i](doc, b):
                    found.append(ids[i])
            except MatchBudgetExceeded:
                if over is None:
                    over = []
                over.append(ids[i])
        if over:
            logger.warning("%d queries not matched on a post of %d words: its matching budget of %d "
                           "work units ran out (queries %s)", len(over), len(doc.words), b.limit,
                           ", ".join(over[:10]))
        return found

    def match_report(self, doc: MatchDoc, budget: MatchBudget | None = None) -> MatchReport:
        """``match`` with the queries that ran out of ``budget`` and the work spent."""
        fns, ids = self._fns, self._ids
        b = budget if budget is not None else MatchBudget()
        found: list[str] = []
        over: list[str] = []
        for i in self.candidates(doc):
            try:
                if fns[i](doc, b):
                    found.append(ids[i])
            except MatchBudgetExceeded:
                over.append(ids[i])
        return MatchReport(found, tuple(over), b.used)

    def match_all(self, doc: MatchDoc) -> list[str]:
        """``match`` without the index: every query evaluated. For tests and benchmarks."""
        b = MatchBudget()
        return [q.id for q in self._queries if q.query.matches(doc, b)]

    def role(self, query_id: str) -> QueryRole:
        """The role of a query; ``KeyError`` for an unknown id."""
        return self._roles[query_id]
