"""Compile a query tree into a matching function and an anchor set.

The matching function is a tree of closures over ``MatchDoc``. Set operations do most of the work in
C: the exact single-word terms of an AND become one ``frozenset <=`` test, those of an OR one
``isdisjoint`` test, and the wildcards of an OR one prefix test. Positional checks (phrases, NEAR)
run only after a set test has shown that their words occur at all.

**Cost on long posts (one tenant must not be able to stall matching for everyone).** Every check
costs at most linear time in the post's length:

* positions come from a per-document index (word -> sorted positions), built once per post and
  shared by every query of every tenant; wildcards find their words by bisecting the sorted keys;
* ``NEAR``/``ONEAR`` merge the sorted start and end positions of the two sides (a two-pointer sweep),
  never comparing every left occurrence with every right one;
* duplicate branches (``aa OR aa OR ...``, the same NEAR alternative twice) are removed at compile
  time, so a long query cannot multiply the work of one term;
* the cap, ``MAX_TERM_POSITIONS`` occurrences per alternative: a NEAR whose alternatives occur more
  often than that first looks for a pair among the first ``MAX_TERM_POSITIONS`` occurrences of each,
  and a phrase reads the occurrences of its first word in chunks of that size, stopping at the first
  hit. So a word repeated thousands of times costs little when a pair comes early (the usual case,
  and the attack). Only when the first occurrences do not decide are the others read, paid from the
  budget like everything else: **the cap never changes an answer** (no false negative); only the
  budget can stop a check, and then the answer is reported as unknown, never as "no";
* all positional work is paid for in advance from a ``MatchBudget`` (work units: positions indexed,
  visited or compared; keys scanned). ``QuerySet`` gives each post one budget for all of its
  tenant's queries. When it runs out, the query being evaluated is reported as over budget and not
  matched (and so is any later query of the post that needs more positional work); queries decided
  by set tests alone never need the budget. Work never exceeds the budget: units are spent before the work
  they pay for is done. An answer the budget cannot pay for is never guessed: under a NOT it would
  turn into a false match, so the whole query is reported instead.

Anchors: a set of atoms and filters at least one of which holds for every post the query matches, or
``None`` when there is no such set (only negations, e.g. ``NOT (NOT gojek)``). ``QuerySet`` indexes
queries by their anchors. Filters are poor anchors (half the stream is ``lang:id``) and are chosen only
when a query has no word to anchor on, except ``author:`` which is as selective as a rare word.
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import chain

from .document import EMPTY_DOC, MatchDoc
from .lexer import Atom, QuerySyntaxError
from .parser import And, Field, Near, Node, Not, Or, Seq, parse_query, render

logger = logging.getLogger(__name__)

Anchor = Atom | Field

# Occurrences of one alternative (word, phrase, wildcard) that a phrase or NEAR check reads before
# the rest; see the module docstring (the cap bounds the usual cost and never changes an answer).
MAX_TERM_POSITIONS = 2_000
# Work units one post may spend on positional checks, across all the queries of its tenant. A unit
# is roughly one position handled in Python (~0.1 us): the default allows ~25 NEAR checks over two
# sides of 2,000 occurrences each, which no real post needs, and bounds the worst post to tens of
# milliseconds. A tweet-sized post spends well under 100.
DEFAULT_MATCH_BUDGET = 200_000

# Anchor costs: a rare exact word is the best anchor; a wildcard costs a bucket scan; a very common
# word makes the query a candidate for most posts.
_COMMON_WORDS = frozenset(
    "a an and are at be but by for from i in is it my of on or that the this to was we with you "
    "ada aja aku dan dari di dengan ga gak ini itu jadi juga ke kok lagi mau nya saya sih sudah "
    "tidak udah untuk yang".split())
# Documents with more distinct keys than this find wildcard words by bisecting their sorted keys
# (built once per document) instead of scanning every key.
_SORTED_KEYS_FROM = 48
# Documents of at most this many tokens find a word's positions by scanning instead of indexing.
_SCAN_UP_TO = 64


class MatchBudgetExceeded(Exception):
    """A post needed more positional work than its ``MatchBudget`` allows. The query's answer is
    unknown; callers count it as not matched and report it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MatchBudget:
    """Work units one post may still spend on positional checks (see the module docstring).

    Not thread-safe: one budget belongs to one post being matched by one thread."""

    __slots__ = ("left", "limit")

    def __init__(self, limit: int = DEFAULT_MATCH_BUDGET) -> None:
        self.limit = limit
        self.left = limit

    @property
    def used(self) -> int:
        """Units spent so far (never more than ``limit``)."""
        return self.limit - self.left

    def spend(self, units: int) -> None:
        """Pay for ``units`` of work before doing it; raises ``MatchBudgetExceeded`` (spending
        nothing) when fewer are left."""
        if units > self.left:
            raise MatchBudgetExceeded(f"matching budget of {self.limit} work units exhausted")
        self.left -= units


Matcher = Callable[[MatchDoc, MatchBudget], bool]


@dataclass(frozen=True, eq=False)
class CompiledQuery:
    """A parsed and compiled query. ``matches`` is safe to call from many threads."""

    expression: str
    ast: Node
    anchors: frozenset[Anchor] | None
    _fn: Matcher = field(repr=False)

    def matches(self, doc: MatchDoc, budget: MatchBudget | None = None) -> bool:
        """Whether ``doc`` matches. A check that runs out of ``budget`` (a fresh default one when
        None) counts as no match, and is logged."""
        try:
            return self._fn(doc, budget if budget is not None else MatchBudget())
        except MatchBudgetExceeded as exc:
            logger.warning("query %r not matched: %s on a post of %d words", self.expression[:80],
                           exc.reason, len(doc.words))
            return False

    def evaluate(self, doc: MatchDoc, budget: MatchBudget) -> bool:
        """Whether ``doc`` matches; raises ``MatchBudgetExceeded`` when the answer is not known."""
        return self._fn(doc, budget)

    @property
    def predicate(self) -> Matcher:
        """The bare matching function (saves a method call per query in hot loops)."""
        return self._fn

    def describe(self) -> str:
        """The normalised query text (capitals, explicit AND, folded words), e.g. for the UI."""
        return render(self.ast)

    def __str__(self) -> str:
        return self.describe()


def compile_query(expression: str) -> CompiledQuery:
    """Parse and compile ``expression``; raises ``QuerySyntaxError`` with the position of a problem."""
    ast = parse_query(expression)
    fn = compile_node(ast)
    # A query that matches a post with no words and no metadata asks for nothing, it only excludes:
    # "NOT promo", "gojek OR NOT grab", "NOT lang:en". It would flood the tenant with everything.
    if fn(EMPTY_DOC, MatchBudget()):
        pos = max(_first_not(ast), 0)
        raise QuerySyntaxError(
            f"This query only excludes posts (NOT at position {pos}), so it would match almost every "
            'post: add a word to look for, e.g. "gojek NOT promo"', query=expression, position=pos,
            expected="a term to look for")
    return CompiledQuery(expression, ast, anchors(ast), fn)


def _first_not(node: Node) -> int:
    if isinstance(node, Not):
        return node.pos
    if isinstance(node, And | Or):
        found = [_first_not(c) for c in node.children]
        return min((p for p in found if p >= 0), default=-1)
    return -1


# --- matching functions --------------------------------------------------------------------------


def compile_node(node: Node) -> Matcher:
    """The matching function of a tree (no pure-negation check; see ``compile_query``)."""
    if isinstance(node, Seq):
        return _compile_seq(node.atoms)
    if isinstance(node, Field):
        return _compile_field(node)
    if isinstance(node, Near):
        return _compile_near(node)
    if isinstance(node, Not):
        inner = compile_node(node.child)
        return lambda d, b: not inner(d, b)
    if isinstance(node, And):
        return _compile_and(_flatten(node, And))
    return _compile_or(_flatten(node, Or))


def _flatten(node: And | Or, kind: type[And] | type[Or]) -> list[Node]:
    """The children of nested nodes of one kind, each distinct child once (``a OR a`` is ``a``;
    node equality ignores positions)."""
    out: list[Node] = []
    for child in node.children:
        if isinstance(child, kind):
            out.extend(_flatten(child, kind))
        else:
            out.append(child)
    return list(dict.fromkeys(out))


def _single(node: Node) -> Atom | None:
    if isinstance(node, Seq) and len(node.atoms) == 1:
        return node.atoms[0]
    return None


def _compile_and(children: list[Node]) -> Matcher:
    keys = frozenset(a.key for c in children if (a := _single(c)) is not None and not a.prefix)
    checks: list[Matcher] = []
    if keys:
        checks.append(lambda d, b: keys <= d.keys)
    # Cheap before expensive: filters, then single wildcards, then positional checks and negations.
    rest = [c for c in children if not ((a := _single(c)) is not None and not a.prefix)]
    rest.sort(key=_cost)
    checks.extend(compile_node(c) for c in rest)
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda d, b: first(d, b) and second(d, b)

    def all_of(d: MatchDoc, b: MatchBudget) -> bool:
        for check in checks:
            if not check(d, b):
                return False
        return True

    return all_of


def _compile_or(children: list[Node]) -> Matcher:
    keys = frozenset(a.key for c in children if (a := _single(c)) is not None and not a.prefix)
    prefixes = tuple(dict.fromkeys(a.key for c in children if (a := _single(c)) is not None and a.prefix))
    checks: list[Matcher] = []
    if keys:
        checks.append(lambda d, b: not keys.isdisjoint(d.keys))
    if prefixes:
        checks.append(_prefix_check(prefixes))
    rest = sorted((c for c in children if _single(c) is None), key=_cost)
    checks.extend(compile_node(c) for c in rest)
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda d, b: first(d, b) or second(d, b)

    def any_of(d: MatchDoc, b: MatchBudget) -> bool:
        for check in checks:
            if check(d, b):
                return True
        return False

    return any_of


def _cost(node: Node) -> int:
    if isinstance(node, Field):
        return 0
    if isinstance(node, Seq):
        return 1 if len(node.atoms) == 1 else 3
    if isinstance(node, Not):
        return _cost(node.child) + 1
    if isinstance(node, Near):
        return 5
    return 4


# --- what a document gives positional checks (computed once per document, kept in doc.cache) ------

_INDEX = "positions"
_SORTED = "sorted-keys"


def _index(d: MatchDoc, b: MatchBudget) -> dict[str, list[int]]:
    """Key -> ascending positions, for bare words and sigil tokens alike (a "#mudik" token is under
    "mudik" and "#mudik"; title/text gap tokens are under "", which no atom has)."""
    index: dict[str, list[int]] | None = d.cache.get(_INDEX)
    if index is None:
        words, raw = d.words, d.raw
        b.spend(len(words) + (len(raw) if raw is not words else 0) + 1)
        index = {}
        for i, w in enumerate(words):
            hit = index.get(w)
            if hit is None:
                index[w] = [i]
            else:
                hit.append(i)
        if raw is not words:
            for i, (w, r) in enumerate(zip(words, raw, strict=True)):
                if r is not w and r != w:
                    index.setdefault(r, []).append(i)
        d.cache[_INDEX] = index
    return index


def _keys_with_prefix(d: MatchDoc, b: MatchBudget, prefix: str) -> list[str]:
    """The document's keys that start with ``prefix`` (a key with a sigil only starts with a prefix
    that has the sigil too, so one sorted list answers both kinds of wildcard)."""
    keys = d.keys
    if len(keys) <= _SORTED_KEYS_FROM:
        b.spend(len(keys) + 1)
        return [k for k in keys if k.startswith(prefix)]
    ordered: list[str] | None = d.cache.get(_SORTED)
    if ordered is None:
        b.spend(len(keys))
        ordered = sorted(keys)
        d.cache[_SORTED] = ordered
    b.spend(1)
    i = bisect_left(ordered, prefix)
    out: list[str] = []
    while i < len(ordered) and ordered[i].startswith(prefix):
        b.spend(1)
        out.append(ordered[i])
        i += 1
    return out


def _prefix_check(prefixes: tuple[str, ...]) -> Matcher:
    def any_prefix(d: MatchDoc, b: MatchBudget) -> bool:
        keys = d.keys
        if len(keys) <= _SORTED_KEYS_FROM:
            # Short posts (almost all): one pass over a handful of keys beats sorting them.
            for key in keys:
                if key.startswith(prefixes):
                    return True
            return False
        for prefix in prefixes:
            if _keys_with_prefix(d, b, prefix)[:1]:
                return True
        return False

    return any_prefix


Alternatives = tuple[tuple[tuple[Atom, ...], frozenset[str], str], ...]
_NONE: list[int] = []


def _atom_positions(d: MatchDoc, b: MatchBudget, atom: Atom) -> list[int]:
    """Ascending positions of the tokens ``atom`` matches."""
    if len(d.words) <= _SCAN_UP_TO:
        # A tweet: scanning its few tokens beats building the index.
        tokens = d.raw if atom.sigil else d.words
        key = atom.key
        if atom.prefix:
            b.spend(len(tokens) + 1)
            return [i for i, token in enumerate(tokens) if token.startswith(key)]
        count = tokens.count(key)
        b.spend(count + 1)
        out: list[int] = []
        i = -1
        for _ in range(count):
            i = tokens.index(key, i + 1)
            out.append(i)
        return out
    index = _index(d, b)
    if not atom.prefix:
        return index.get(atom.key, _NONE)
    hits = _keys_with_prefix(d, b, atom.key)
    if not hits:
        return _NONE
    if len(hits) == 1:
        return index[hits[0]]
    lists = [index[k] for k in hits]
    b.spend(sum(map(len, lists)))
    # Sorting concatenated ascending runs is a merge (Timsort finds the runs).
    return sorted(chain.from_iterable(lists))


def _phrase_starts(d: MatchDoc, b: MatchBudget, atoms: tuple[Atom, ...], candidates: list[int],
                   first_only: bool) -> list[int]:
    """The candidates (ascending starts of the first atom) where the other atoms follow. Read in
    chunks of ``MAX_TERM_POSITIONS``, each paid for before it is read, so that finding a first
    occurrence early costs little however often the first word repeats."""
    words, raw = d.words, d.raw
    last = len(words) - len(atoms)
    rest = [(offset, raw if a.sigil else words, a.key, a.prefix) for offset, a in enumerate(atoms[1:], 1)]
    out: list[int] = []
    whole = len(candidates) <= MAX_TERM_POSITIONS
    for lo in range(0, len(candidates), MAX_TERM_POSITIONS):
        chunk = candidates if whole else candidates[lo:lo + MAX_TERM_POSITIONS]
        b.spend(len(chunk) * len(rest))
        for p in chunk:
            if p > last:
                return out
            for offset, tokens, key, prefix in rest:
                token = tokens[p + offset]
                if not (token.startswith(key) if prefix else token == key):
                    break
            else:
                out.append(p)
                if first_only:
                    return out
    return out


def _cache_key(atoms: tuple[Atom, ...]) -> str:
    # A string (its hash is computed once) that no other cache entry uses.
    return "seq:" + " ".join(str(a) for a in atoms)


def _seq_starts(d: MatchDoc, b: MatchBudget, atoms: tuple[Atom, ...], required: frozenset[str],
                key: str) -> list[int]:
    """Ascending start positions of every occurrence of ``atoms`` one after the other (kept in the
    document's cache under ``key``: other queries of the post reuse them)."""
    if not required <= d.keys:
        return _NONE
    cached: list[int] | None = d.cache.get(key)
    if cached is None:
        cached = _atom_positions(d, b, atoms[0])
        if len(atoms) > 1 and cached:
            cached = _phrase_starts(d, b, atoms, cached, first_only=False)
        d.cache[key] = cached
    return cached


def _compile_seq(atoms: tuple[Atom, ...]) -> Matcher:
    if len(atoms) == 1:
        atom = atoms[0]
        if atom.prefix:
            return _prefix_check((atom.key,))
        key = atom.key
        return lambda d, b: key in d.keys
    required = frozenset(a.key for a in atoms if not a.prefix)
    cache_key = _cache_key(atoms)

    def phrase(d: MatchDoc, b: MatchBudget) -> bool:
        if not required <= d.keys:
            return False
        cached: list[int] | None = d.cache.get(cache_key)
        if cached is not None:
            return bool(cached)
        candidates = _atom_positions(d, b, atoms[0])
        return bool(candidates) and bool(_phrase_starts(d, b, atoms, candidates, first_only=True))

    return phrase


def _spans(b: MatchBudget, found: list[tuple[list[int], int]], cap: int | None
           ) -> tuple[list[int], list[int]]:
    """Ascending starts and ascending ends (last positions) of the occurrences of the alternatives
    ``found`` (their starts and their length - 1), at most ``cap`` of each."""
    starts: list[int] = []
    ends: list[int] = []
    for positions, width in found:
        if cap is not None and len(positions) > cap:
            positions = positions[:cap]
        b.spend(len(positions))
        starts.extend(positions)
        ends.extend([p + width for p in positions] if width else positions)
    if len(found) > 1:
        b.spend(2 * len(starts))
        starts.sort()
        ends.sort()
    return starts, ends


def _before(ends: list[int], starts: list[int], distance: int, b: MatchBudget) -> bool:
    """Whether some span ends with at most ``distance`` words before some span starts (both lists
    ascending): a two-pointer sweep, linear in the two lengths."""
    b.spend(len(ends) + len(starts))
    i, n = 0, len(ends)
    for s in starts:
        low = s - distance - 1
        while i < n and ends[i] < low:
            i += 1
        if i == n:
            return False
        if ends[i] < s:
            return True
    return False


def _compile_near(node: Near) -> Matcher:
    def prepared(alts: tuple[Seq, ...]) -> Alternatives:
        unique = dict.fromkeys(s.atoms for s in alts)
        return tuple((atoms, frozenset(a.key for a in atoms if not a.prefix), _cache_key(atoms))
                     for atoms in unique)

    left, right = prepared(node.left), prepared(node.right)
    distance, ordered = node.distance, node.ordered

    def occurrences(d: MatchDoc, b: MatchBudget, alts: Alternatives) -> list[tuple[list[int], int]]:
        found = ((_seq_starts(d, b, atoms, required, key), len(atoms) - 1) for atoms, required, key in alts)
        return [(positions, width) for positions, width in found if positions]

    def pair(b: MatchBudget, found_l: list[tuple[list[int], int]], found_r: list[tuple[list[int], int]],
             cap: int | None) -> bool:
        starts_l, ends_l = _spans(b, found_l, cap)
        starts_r, ends_r = _spans(b, found_r, cap)
        # Words strictly between the two spans: 0..distance, and they may not overlap.
        return _before(ends_l, starts_r, distance, b) or (
            not ordered and _before(ends_r, starts_l, distance, b))

    right_required = tuple(required for _, required, _ in right)

    def near(d: MatchDoc, b: MatchBudget) -> bool:
        keys = d.keys
        # Most posts lack the right side's words (a set test): no positions needed at all.
        for required in right_required:
            if required <= keys:
                break
        else:
            return False
        found_l = occurrences(d, b, left)
        if not found_l:
            return False
        found_r = occurrences(d, b, right)
        if not found_r:
            return False
        if any(len(p) > MAX_TERM_POSITIONS for p, _ in chain(found_l, found_r)):
            # The first occurrences first: a pair among them (the common case, and the attack of
            # one word repeated thousands of times) is found at a bounded cost. Only when they do
            # not decide are all occurrences read, so the cap never changes an answer.
            if pair(b, found_l, found_r, MAX_TERM_POSITIONS):
                return True
        return pair(b, found_l, found_r, None)

    return near


def _compile_field(node: Field) -> Matcher:
    value = node.value
    if node.name == "lang":
        if "-" in value:
            return lambda d, b: d.lang == value
        return lambda d, b: d.lang_primary == value
    if node.name == "platform":
        return lambda d, b: d.platform == value
    if node.name == "author":
        return lambda d, b: d.author == value
    if node.name == "has" and value == "link":
        return lambda d, b: d.has_link
    raise ValueError(f"cannot compile field {node.name}:{value}")  # the lexer rejects these


# --- anchors -------------------------------------------------------------------------------------


def _atom_cost(atom: Anchor) -> float:
    if isinstance(atom, Field):
        return 1.5 if atom.name == "author" else 20.0
    cost = 2.0 if atom.prefix else 1.0
    if atom.word in _COMMON_WORDS:
        cost += 8.0
    elif len(atom.word) <= 2:
        cost += 2.0
    return cost


def _set_cost(atoms: frozenset[Anchor]) -> float:
    return sum(_atom_cost(a) for a in atoms)


def anchors(node: Node) -> frozenset[Anchor] | None:
    """Atoms or filters one of which holds for every post ``node`` matches (the cheapest such set
    found), or None."""
    if isinstance(node, Seq):
        return frozenset({min(node.atoms, key=_atom_cost)})
    if isinstance(node, Field):
        return frozenset({node})
    if isinstance(node, Not):
        return None
    if isinstance(node, Near):
        return _cheapest([_alts_anchors(node.left), _alts_anchors(node.right)])
    child_sets = [anchors(c) for c in node.children]
    if isinstance(node, Or):
        if any(s is None for s in child_sets):
            return None
        return frozenset().union(*(s for s in child_sets if s is not None))
    return _cheapest(child_sets)


def _alts_anchors(alts: tuple[Seq, ...]) -> frozenset[Anchor]:
    return frozenset(min(s.atoms, key=_atom_cost) for s in alts)


def _cheapest(sets: list[frozenset[Anchor] | None]) -> frozenset[Anchor] | None:
    candidates = [s for s in sets if s is not None]
    return min(candidates, key=_set_cost) if candidates else None
