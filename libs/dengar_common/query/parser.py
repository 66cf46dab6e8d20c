"""Query syntax tree, recursive-descent parser and the normalised rendering of a tree.

Grammar (operators are upper-case; precedence from loosest to tightest: OR, AND, NOT, NEAR)::

    query    := or_expr EOF
    or_expr  := and_expr ("OR" and_expr)*
    and_expr := unary (["AND"] unary)*             adjacent operands are ANDed
    unary    := ("NOT" | "-") unary | near
    near     := primary [("NEAR/n" | "ONEAR/n") primary]
    primary  := TERM | PHRASE | FIELD | "(" or_expr ")"

A NEAR operand must be a term, phrase or wildcard, or a parenthesised OR of them:
``(late OR telat) NEAR/3 deliv*``. NEAR does not chain (``a NEAR/2 b NEAR/2 c`` is ambiguous): AND
two NEARs instead.

The tree keeps the user's grouping (``a AND (b AND c)`` stays nested) so that rendering and parsing
are exact inverses; the compiler flattens what it can. Every node remembers the character position it
started at, for error messages; positions do not take part in equality.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .lexer import (
    MAX_QUERY_CHARS,
    OPERATORS,
    Atom,
    Kind,
    QuerySyntaxError,
    Token,
    lex,
)

# Deeper nesting is never written by a person; the bound keeps every recursive walk of the tree safe.
MAX_DEPTH = 32
_OPERAND_START = frozenset({Kind.TERM, Kind.PHRASE, Kind.FIELD, Kind.LPAREN, Kind.NOT, Kind.MINUS})
_OPERAND = 'a term or "("'
_NEAR_OPERAND = "a word, phrase or wildcard"


@dataclass(frozen=True, slots=True)
class Seq:
    """Words that must appear one after the other: a term (one atom), a phrase, a wildcard."""

    atoms: tuple[Atom, ...]
    pos: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Field:
    """A filter on post metadata: ``lang:id``, ``platform:x``, ``author:gocepat``, ``has:link``."""

    name: str
    value: str
    pos: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Near:
    """Some alternative of ``left`` and some alternative of ``right``, with at most ``distance`` words
    between them (and ``left`` first when ``ordered``). The two occurrences may not overlap."""

    left: tuple[Seq, ...]
    right: tuple[Seq, ...]
    distance: int
    ordered: bool = False
    pos: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Not:
    child: Node
    pos: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]
    pos: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]
    pos: int = field(default=0, compare=False, repr=False)


Node = Seq | Field | Near | Not | And | Or


def parse_query(query: str) -> Node:
    """The syntax tree of ``query``; raises ``QuerySyntaxError`` with the position of the problem."""
    if len(query) > MAX_QUERY_CHARS:
        raise QuerySyntaxError(
            f"The query is too long: {len(query)} characters, at most {MAX_QUERY_CHARS} "
            f"(position {MAX_QUERY_CHARS} is past the limit); split it into several queries",
            query=query, position=MAX_QUERY_CHARS, expected=f"at most {MAX_QUERY_CHARS} characters")
    if not query.strip():
        raise QuerySyntaxError("The query is empty: expected a term at position 0", query=query,
                               position=0, expected="a term")
    return _Parser(query, lex(query)).parse()


class _Parser:
    def __init__(self, query: str, tokens: list[Token]) -> None:
        self.query = query
        self.tokens = tokens
        self.i = 0

    # --- helpers ------------------------------------------------------------------------------------

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def error(self, reason: str, pos: int, expected: str) -> QuerySyntaxError:
        return QuerySyntaxError(reason, query=self.query, position=pos, expected=expected)

    def expected(self, what: str) -> QuerySyntaxError:
        """'Expected <what> after <previous token> at position N, found <token>'."""
        tok = self.peek()
        after = f" after {self.tokens[self.i - 1].describe()}" if self.i > 0 else ""
        found = "" if tok.kind is Kind.EOF else f", found {tok.describe()}"
        return self.error(f"Expected {what}{after} at position {tok.pos}{found}", tok.pos, what)

    def check_depth(self, depth: int, tok: Token) -> None:
        if depth > MAX_DEPTH:
            raise self.error(
                f"The query is nested too deeply at position {tok.pos}: at most {MAX_DEPTH} levels of "
                "parentheses and NOT", tok.pos, f"at most {MAX_DEPTH} levels of nesting")

    # --- grammar ------------------------------------------------------------------------------------

    def parse(self) -> Node:
        node = self.or_expr(0)
        tok = self.peek()
        if tok.kind is Kind.RPAREN:
            raise self.error(f'Unexpected ")" at position {tok.pos}: there is no "(" to close',
                             tok.pos, "an operator, a term or the end of the query")
        assert tok.kind is Kind.EOF, tok  # and_expr consumes every operand start
        return node

    def or_expr(self, depth: int) -> Node:
        start = self.peek().pos
        children = [self.and_expr(depth)]
        while self.peek().kind is Kind.OR:
            self.take()
            children.append(self.and_expr(depth))
        return children[0] if len(children) == 1 else Or(tuple(children), start)

    def and_expr(self, depth: int) -> Node:
        start = self.peek().pos
        children = [self.unary(depth)]
        while True:
            kind = self.peek().kind
            if kind is Kind.AND:
                self.take()
            elif kind not in _OPERAND_START:
                break
            children.append(self.unary(depth))
        return children[0] if len(children) == 1 else And(tuple(children), start)

    def unary(self, depth: int) -> Node:
        tok = self.peek()
        if tok.kind in (Kind.NOT, Kind.MINUS):
            self.take()
            self.check_depth(depth + 1, tok)
            return Not(self.unary(depth + 1), tok.pos)
        return self.near(depth)

    def near(self, depth: int) -> Node:
        start = self.peek().pos
        left = self.primary(depth)
        op = self.peek()
        if op.kind is not Kind.NEAR:
            return left
        self.take()
        left_alts = self.near_operand(left, start, op)
        if self.peek().kind not in (Kind.TERM, Kind.PHRASE, Kind.LPAREN):
            raise self.expected(_NEAR_OPERAND)
        right_start = self.peek().pos
        right_alts = self.near_operand(self.primary(depth), right_start, op)
        distance, ordered = op.near
        nxt = self.peek()
        if nxt.kind is Kind.NEAR:
            raise self.error(
                f"{op.text} cannot be followed by {nxt.text} at position {nxt.pos}: proximity does not "
                "chain; combine two NEAR expressions with AND", nxt.pos, "AND, OR or the end of the query")
        return Near(left_alts, right_alts, distance, ordered, start)

    def near_operand(self, node: Node, pos: int, op: Token) -> tuple[Seq, ...]:
        if isinstance(node, Seq):
            return (node,)
        alts = _or_of_seqs(node)
        if alts is None:
            raise self.error(
                f"{op.text} works on words, phrases and wildcards, or an OR of them in parentheses; "
                f"the operand at position {pos} is not one", pos, _NEAR_OPERAND)
        return alts

    def primary(self, depth: int) -> Node:
        tok = self.peek()
        if tok.kind in (Kind.TERM, Kind.PHRASE):
            self.take()
            return Seq(tok.atoms, tok.pos)
        if tok.kind is Kind.FIELD:
            self.take()
            return Field(tok.field[0], tok.field[1], tok.pos)
        if tok.kind is Kind.LPAREN:
            self.take()
            self.check_depth(depth + 1, tok)
            node = self.or_expr(depth + 1)
            if self.peek().kind is not Kind.RPAREN:
                raise self.error(f'Unclosed "(" at position {tok.pos}: expected ")" before '
                                 f"{self.peek().describe()}", tok.pos, '")"')
            self.take()
            return node
        raise self.expected(_OPERAND)


def _or_of_seqs(node: Node) -> tuple[Seq, ...] | None:
    if isinstance(node, Seq):
        return (node,)
    if not isinstance(node, Or):
        return None
    out: list[Seq] = []
    for child in node.children:
        alts = _or_of_seqs(child)
        if alts is None:
            return None
        out.extend(alts)
    return tuple(out)


# --- rendering --------------------------------------------------------------------------------------


def render(node: Node) -> str:
    """Normalised query text: operators in capitals, explicit AND, folded words, canonical field
    values, ``-x`` as ``NOT x``. ``parse_query(render(t)) == t`` for every tree the parser builds."""
    if isinstance(node, Seq):
        return _render_seq(node)
    if isinstance(node, Field):
        return f"{node.name}:{node.value}"
    if isinstance(node, Near):
        op = "ONEAR" if node.ordered else "NEAR"
        return f"{_render_alts(node.left)} {op}/{node.distance} {_render_alts(node.right)}"
    if isinstance(node, Not):
        return "NOT " + _render_child(node.child)
    joiner = " AND " if isinstance(node, And) else " OR "
    return joiner.join(_render_child(c) for c in node.children)


def _render_child(node: Node) -> str:
    # Every And/Or below the root is parenthesised, even where precedence would not need it: the
    # reader does not have to know the precedence, and the tree's grouping survives a round trip.
    text = render(node)
    return f"({text})" if isinstance(node, And | Or) else text


def _render_seq(seq: Seq) -> str:
    text = " ".join(str(a) for a in seq.atoms)
    # A lone lower-case "or" would be rejected as a misspelt operator; quoting searches the word.
    if len(seq.atoms) > 1 or seq.atoms[0].word in OPERATORS:
        return f'"{text}"'
    return text


def _render_alts(alts: tuple[Seq, ...]) -> str:
    if len(alts) == 1:
        return _render_seq(alts[0])
    return "(" + " OR ".join(_render_seq(a) for a in alts) + ")"
