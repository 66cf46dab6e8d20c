"""Compile a query tree into a matching function and an anchor set.

The matching function is a tree of closures over ``MatchDoc``. Set operations do most of the work in
C: the exact single-word terms of an AND become one ``frozenset <=`` test, those of an OR one
``isdisjoint`` test, and the wildcards of an OR one ``str.startswith(tuple)`` scan. Positional checks
(phrases, NEAR) run only after a set test has shown that their words occur at all.

Anchors: a set of atoms and filters at least one of which holds for every post the query matches, or
``None`` when there is no such set (only negations, e.g. ``NOT (NOT gojek)``). ``QuerySet`` indexes
queries by their anchors. Filters are poor anchors (half the stream is ``lang:id``) and are chosen only
when a query has no word to anchor on, except ``author:`` which is as selective as a rare word.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .document import EMPTY_DOC, MatchDoc
from .lexer import Atom, QuerySyntaxError
from .parser import And, Field, Near, Node, Not, Or, Seq, parse_query, render

Matcher = Callable[[MatchDoc], bool]
Anchor = Atom | Field

# Anchor costs: a rare exact word is the best anchor; a wildcard costs a bucket scan; a very common
# word makes the query a candidate for most posts.
_COMMON_WORDS = frozenset(
    "a an and are at be but by for from i in is it my of on or that the this to was we with you "
    "ada aja aku dan dari di dengan ga gak ini itu jadi juga ke kok lagi mau nya saya sih sudah "
    "tidak udah untuk yang".split())


@dataclass(frozen=True, eq=False)
class CompiledQuery:
    """A parsed and compiled query. ``matches`` is safe to call from many threads."""

    expression: str
    ast: Node
    anchors: frozenset[Anchor] | None
    _fn: Matcher = field(repr=False)

    def matches(self, doc: MatchDoc) -> bool:
        return self._fn(doc)

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
    if fn(EMPTY_DOC):
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
        return lambda d: not inner(d)
    if isinstance(node, And):
        return _compile_and(_flatten(node, And))
    return _compile_or(_flatten(node, Or))


def _flatten(node: And | Or, kind: type[And] | type[Or]) -> list[Node]:
    out: list[Node] = []
    for child in node.children:
        if isinstance(child, kind):
            out.extend(_flatten(child, kind))
        else:
            out.append(child)
    return out


def _single(node: Node) -> Atom | None:
    if isinstance(node, Seq) and len(node.atoms) == 1:
        return node.atoms[0]
    return None


def _compile_and(children: list[Node]) -> Matcher:
    keys = frozenset(a.key for c in children if (a := _single(c)) is not None and not a.prefix)
    checks: list[Matcher] = []
    if keys:
        checks.append(lambda d: keys <= d.keys)
    # Cheap before expensive: filters, then single wildcards, then positional checks and negations.
    rest = [c for c in children if not ((a := _single(c)) is not None and not a.prefix)]
    rest.sort(key=_cost)
    checks.extend(compile_node(c) for c in rest)
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda d: first(d) and second(d)

    def all_of(d: MatchDoc) -> bool:
        for check in checks:
            if not check(d):
                return False
        return True

    return all_of


def _compile_or(children: list[Node]) -> Matcher:
    keys = frozenset(a.key for c in children if (a := _single(c)) is not None and not a.prefix)
    prefixes = tuple(a.key for c in children if (a := _single(c)) is not None and a.prefix)
    checks: list[Matcher] = []
    if keys:
        checks.append(lambda d: not keys.isdisjoint(d.keys))
    if prefixes:
        checks.append(_prefix_check(prefixes))
    rest = sorted((c for c in children if _single(c) is None), key=_cost)
    checks.extend(compile_node(c) for c in rest)
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda d: first(d) or second(d)

    def any_of(d: MatchDoc) -> bool:
        for check in checks:
            if check(d):
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


def _prefix_check(prefixes: tuple[str, ...]) -> Matcher:
    # A key with a sigil ("#mudik") only starts with a prefix that has the sigil too, and a bare key
    # only with a bare prefix, so the key set answers both kinds of wildcard.
    def any_prefix(d: MatchDoc) -> bool:
        for key in d.keys:
            if key.startswith(prefixes):
                return True
        return False

    return any_prefix


def _compile_seq(atoms: tuple[Atom, ...]) -> Matcher:
    if len(atoms) == 1:
        atom = atoms[0]
        if atom.prefix:
            return _prefix_check((atom.key,))
        key = atom.key
        return lambda d: key in d.keys
    starts = _starts_fn(atoms)
    return lambda d: bool(starts(d, True))


def _starts_fn(atoms: tuple[Atom, ...]) -> Callable[[MatchDoc, bool], list[int]]:
    """A function giving the positions where ``atoms`` occur one after the other (only the first
    one when asked for ``first_only``)."""
    required = frozenset(a.key for a in atoms if not a.prefix)
    first, rest = atoms[0], tuple(enumerate(atoms[1:], 1))
    length = len(atoms)

    def starts(d: MatchDoc, first_only: bool) -> list[int]:
        if not required <= d.keys:
            return []
        words, raw = d.words, d.raw
        head = raw if first.sigil else words
        last = len(words) - length
        if first.prefix:
            # Distinct keys are fewer than positions, and usually none of them has the prefix.
            hits = [k for k in d.keys if k.startswith(first.key)]
            if not hits:
                return []
            candidates = sorted(p for k in hits for p in _positions(head, k, last))
        else:
            candidates = _positions(head, first.key, last)
        out: list[int] = []
        for p in candidates:
            for offset, atom in rest:
                token = (raw if atom.sigil else words)[p + offset]
                if not (token.startswith(atom.key) if atom.prefix else token == atom.key):
                    break
            else:
                out.append(p)
                if first_only:
                    break
        return out

    return starts


def _positions(tokens: tuple[str, ...], key: str, last: int) -> list[int]:
    """Positions <= ``last`` of ``key`` in ``tokens`` (tuple.index runs in C)."""
    out: list[int] = []
    i = -1
    for _ in range(tokens.count(key)):
        i = tokens.index(key, i + 1)
        if i > last:
            break
        out.append(i)
    return out


def _compile_near(node: Near) -> Matcher:
    left = [(_starts_fn(s.atoms), len(s.atoms)) for s in node.left]
    right = [(_starts_fn(s.atoms), len(s.atoms)) for s in node.right]
    distance, ordered = node.distance, node.ordered

    def near(d: MatchDoc) -> bool:
        spans_l = [(p, n) for starts, n in left for p in starts(d, False)]
        if not spans_l:
            return False
        spans_r = [(p, n) for starts, n in right for p in starts(d, False)]
        for a, la in spans_l:
            for b, lb in spans_r:
                # Words strictly between the two spans; negative when they overlap.
                if 0 <= b - a - la <= distance:
                    return True
                if not ordered and 0 <= a - b - lb <= distance:
                    return True
        return False

    return near


def _compile_field(node: Field) -> Matcher:
    value = node.value
    if node.name == "lang":
        if "-" in value:
            return lambda d: d.lang == value
        return lambda d: d.lang_primary == value
    if node.name == "platform":
        return lambda d: d.platform == value
    if node.name == "author":
        return lambda d: d.author == value
    if node.name == "has" and value == "link":
        return lambda d: d.has_link
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
