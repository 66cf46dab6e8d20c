"""Tokens of a listening query, and the error every stage of the query pipeline raises.

The lexer already does everything that only needs one token: it splits terms into normalised words
(the same way posts are split), recognises wildcards, operators and ``field:value`` filters, and
validates field values. So the parser only deals with structure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from dengar_common.enums import PLATFORM_ALIASES, PLATFORMS, platform_from_name
from dengar_common.errors import InvalidArgument

from .text import URL_RE, fold, normalise_handle, normalise_lang, split_sigil, tokens

MAX_QUERY_CHARS = 4_000
# Proximity beyond 50 words is "anywhere in the post" for everything we collect except articles, and a
# bound keeps the title/text gap in MatchDoc finite.
MAX_NEAR_DISTANCE = 50
# A wildcard with fewer letters matches a large share of all words and makes the query useless (and
# the candidate index with it).
MIN_WILDCARD_CHARS = 3
FIELDS: tuple[str, ...] = ("author", "has", "lang", "platform")
HAS_VALUES: tuple[str, ...] = ("link",)
OPERATORS: frozenset[str] = frozenset({"and", "or", "not"})
# Phones and word processors turn " into curly quotes; a query pasted from a brief must still parse.
QUOTES = "\"\u201c\u201d\u201e"
_EXCERPT_CHARS = 70
_LANG_RE = re.compile(r"[a-z]{2,3}(-[a-z0-9]{1,8})*")
# Handles: letters, digits, "_", "." (Bluesky) and "-", and one "@instance" part (Mastodon).
_HANDLE_RE = re.compile(r"[\w.\-]+(@[\w.\-]+)?")
_NEAR_RE = re.compile(r"(O?NEAR)(/.*)?", re.DOTALL)
_NEAR_ANYCASE_RE = re.compile(r"o?near/.*", re.IGNORECASE | re.DOTALL)
_FIELD_RE = re.compile(r"([A-Za-z_]+):")


class QuerySyntaxError(InvalidArgument):
    """A query that cannot be compiled, with the 0-based character ``position`` of the problem.

    ``problem`` is one line ("Expected a term or "(" after AND at position 14"); ``str()`` adds the
    query (or an excerpt of a long one) with a caret under ``position``, for monospaced display.
    ``expected`` says what would have been valid there, for UIs that build their own message.
    ``message`` (what an API caller reads) names both.
    """

    position: int
    expected: str

    def __init__(self, problem: str, *, query: str, position: int, expected: str) -> None:
        super().__init__(f"invalid expression at position {position} (expected {expected}): {problem}",
                         field="expression", position=position, expected=expected,
                         reason="query-syntax")
        self.problem = problem
        self.query = query

    def __str__(self) -> str:
        return f"{self.problem}\n{caret_excerpt(self.query, self.position)}"


def caret_excerpt(query: str, position: int) -> str:
    """Two lines: the query around ``position`` (on one line) and a caret under that position."""
    start = max(0, position - _EXCERPT_CHARS // 2)
    end = min(len(query), start + _EXCERPT_CHARS)
    prefix = "..." if start > 0 else ""
    suffix = "..." if end < len(query) else ""
    # Tabs and newlines would break the column alignment of the caret.
    line = "".join(" " if ch.isspace() else ch for ch in query[start:end])
    return f"  {prefix}{line}{suffix}\n  {' ' * (len(prefix) + position - start)}^"


class Kind(Enum):
    TERM = "term"
    PHRASE = "phrase"
    FIELD = "field"
    AND = "AND"
    OR = "OR"
    NOT = "NOT"
    MINUS = "-"
    NEAR = "NEAR"
    LPAREN = "("
    RPAREN = ")"
    EOF = "end of the query"


@dataclass(frozen=True, slots=True)
class Atom:
    """One word pattern: ``word`` (folded), optional ``sigil`` ("#" or "@"), ``prefix`` for ``word*``."""

    word: str
    sigil: str = ""
    prefix: bool = False

    @property
    def key(self) -> str:
        """The token form this atom is compared with: ``#gojek`` for a hashtag, else the word."""
        return self.sigil + self.word

    def __str__(self) -> str:
        return self.key + ("*" if self.prefix else "")


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    pos: int
    text: str
    # TERM and PHRASE: the words; FIELD: (name, value); NEAR: (distance, ordered).
    atoms: tuple[Atom, ...] = ()
    field: tuple[str, str] = ("", "")
    near: tuple[int, bool] = (0, False)

    def describe(self) -> str:
        """How an error message refers to this token."""
        if self.kind is Kind.EOF:
            return "the end of the query"
        if self.kind in (Kind.LPAREN, Kind.RPAREN, Kind.MINUS):
            return f'"{self.text}"'
        if self.kind in (Kind.TERM, Kind.PHRASE, Kind.FIELD):
            return self.text if len(self.text) <= 30 else self.text[:27] + "..."
        return self.text


def lex(query: str) -> list[Token]:
    """Tokens of ``query``, ending with an EOF token at ``len(query)``."""
    out: list[Token] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch == "(":
            out.append(Token(Kind.LPAREN, i, ch))
            i += 1
        elif ch == ")":
            out.append(Token(Kind.RPAREN, i, ch))
            i += 1
        elif ch in QUOTES:
            end = next((j for j in range(i + 1, n) if query[j] in QUOTES), -1)
            if end < 0:
                raise QuerySyntaxError(
                    f"Unclosed quote at position {i}: expected a closing \" to end the phrase",
                    query=query, position=i, expected='a closing "')
            out.append(Token(Kind.PHRASE, i, query[i:end + 1], atoms=_phrase_atoms(query, i)))
            i = end + 1
        elif ch == "-":
            if i + 1 >= n or query[i + 1].isspace() or query[i + 1] == ")":
                raise QuerySyntaxError(
                    f'Expected a term right after "-" at position {i + 1} (write -promo, or NOT promo)',
                    query=query, position=i + 1, expected='a term directly after "-"')
            out.append(Token(Kind.MINUS, i, ch))
            i += 1
        else:
            j = i
            while j < n and not query[j].isspace() and query[j] not in "()" and query[j] not in QUOTES:
                j += 1
            out.append(_classify(query, i, query[i:j]))
            i = j
    out.append(Token(Kind.EOF, n, ""))
    return out


def _classify(query: str, pos: int, piece: str) -> Token:
    if piece in ("AND", "OR", "NOT"):
        return Token(Kind[piece], pos, piece)
    near = _NEAR_RE.fullmatch(piece)
    if near:
        return _near_token(query, pos, piece, near)
    if piece.lower() in OPERATORS:
        # "gojek or grab" would otherwise silently mean gojek AND or AND grab.
        raise QuerySyntaxError(
            f"Operators are written in capitals: did you mean {piece.upper()} at position {pos}? "
            f'To search for the word itself, put it in quotes: "{piece}"',
            query=query, position=pos, expected=f"{piece.upper()} or a quoted \"{piece}\"")
    if _NEAR_ANYCASE_RE.fullmatch(piece):
        raise QuerySyntaxError(
            f"Operators are written in capitals: did you mean {piece.upper()} at position {pos}?",
            query=query, position=pos, expected=piece.upper())
    if URL_RE.search(fold(piece)):
        # Checked before fields: "https://..." would otherwise read as an unknown field "https:".
        raise QuerySyntaxError(
            f"Links are not searched as words (position {pos}); use has:link to require a link",
            query=query, position=pos, expected="a word, or has:link")
    field = _FIELD_RE.match(piece)
    if field:
        name, value = field.group(1).lower(), piece[field.end():]
        return Token(Kind.FIELD, pos, piece,
                     field=(name, _field_value(query, pos, name, value, pos + field.end())))
    return Token(Kind.TERM, pos, piece, atoms=_term_atoms(query, pos, piece))


def _near_token(query: str, pos: int, piece: str, m: re.Match[str]) -> Token:
    op, tail = m.group(1), m.group(2)
    after = pos + len(op)
    if tail is None:
        raise QuerySyntaxError(
            f"{op} needs a distance at position {after}, e.g. {op}/3 (at most 3 words between)",
            query=query, position=after, expected=f'"/" and a number of words, e.g. {op}/3')
    digits = tail[1:]
    if not digits.isascii() or not digits.isdigit():
        raise QuerySyntaxError(
            f"Expected a number of words after {op}/ at position {after + 1}, e.g. {op}/3",
            query=query, position=after + 1, expected=f"a number from 0 to {MAX_NEAR_DISTANCE}")
    distance = int(digits)
    if distance > MAX_NEAR_DISTANCE:
        raise QuerySyntaxError(
            f"{op} distance {distance} at position {after + 1} is too large: at most "
            f"{MAX_NEAR_DISTANCE} words", query=query, position=after + 1,
            expected=f"a number from 0 to {MAX_NEAR_DISTANCE}")
    return Token(Kind.NEAR, pos, f"{op}/{distance}", near=(distance, op == "ONEAR"))


def _field_value(query: str, pos: int, name: str, value: str, value_pos: int) -> str:
    def bad(what: str, expected: str) -> QuerySyntaxError:
        found = f", found {value!r}" if value else ""
        return QuerySyntaxError(f"{what}{found} at position {value_pos}", query=query,
                                position=value_pos, expected=expected)

    if name not in FIELDS:
        valid = ", ".join(f"{f}:" for f in FIELDS)
        raise QuerySyntaxError(
            f'Unknown field "{name}:" at position {pos}; valid fields are {valid} '
            f"(to search for the text itself, put it in quotes)",
            query=query, position=pos, expected=f"one of the fields {valid}")
    if name == "lang":
        lang = normalise_lang(value)
        if not _LANG_RE.fullmatch(lang):
            raise bad("Expected a language code after lang: such as id or en",
                      "a language code such as id, en or en-US")
        return lang
    if name == "platform":
        names = ", ".join(sorted(PLATFORMS))
        aliases = ", ".join(f"{a} ({p})" for a, p in sorted(PLATFORM_ALIASES.items()))
        try:
            platform_from_name(value)
        except ValueError:
            raise bad(f"Expected a platform after platform: ({names}; aliases {aliases})",
                      f"one of {names}") from None
        key = value.strip().lower()
        return PLATFORM_ALIASES.get(key, key)
    if name == "author":
        handle = normalise_handle(value)
        if not _HANDLE_RE.fullmatch(handle):
            raise bad("Expected a handle after author: such as @gocepat",
                      "a handle such as @gocepat")
        return handle
    # has:
    if value.lower() not in HAS_VALUES:
        raise bad(f"Expected {' or '.join(HAS_VALUES)} after has:",
                  " or ".join(HAS_VALUES))
    return value.lower()


def _term_atoms(query: str, pos: int, piece: str, *, in_phrase: bool = False) -> tuple[Atom, ...]:
    """The words of one whitespace-free piece; a trailing "*" makes the last one a prefix.

    Inside a phrase, a piece of bare punctuation is skipped (as it is in posts); on its own it is an
    error, because the analyst clearly meant to search for something.
    """
    star = piece.find("*")
    prefix = star == len(piece) - 1
    if star >= 0 and not prefix:
        raise QuerySyntaxError(
            f'"*" is only allowed at the end of a word, at position {pos + star} (prefix wildcards '
            "such as deliv*)", query=query, position=pos + star, expected="a word before a final *")
    body = piece[:-1] if prefix else piece
    folded = fold(body)
    if URL_RE.search(folded):
        raise QuerySyntaxError(
            f"Links are not searched as words (position {pos}); use has:link to require a link",
            query=query, position=pos, expected="a word, or has:link")
    words, raw = tokens(folded)
    if prefix and (not words or not (folded[-1:].isalnum() or folded[-1:] == "_")
                   or len(words[-1]) < MIN_WILDCARD_CHARS):
        raise QuerySyntaxError(
            f'A wildcard needs at least {MIN_WILDCARD_CHARS} letters or digits right before "*" '
            f"at position {pos + star} (e.g. deliv*)", query=query, position=pos + star,
            expected=f'at least {MIN_WILDCARD_CHARS} letters or digits before "*"')
    if not words:
        if in_phrase:
            return ()
        raise QuerySyntaxError(
            f"{piece!r} at position {pos} has no letters or digits to search for "
            "(punctuation and emoji are not searchable)", query=query, position=pos,
            expected="a word with letters or digits")
    atoms = [Atom(word, split_sigil(token)[0]) for word, token in zip(words, raw, strict=True)]
    if prefix:
        atoms[-1] = Atom(atoms[-1].word, atoms[-1].sigil, True)
    return tuple(atoms)


def _phrase_atoms(query: str, start: int) -> tuple[Atom, ...]:
    """Words of the phrase whose opening quote is at ``start``; each word may end in "*"."""
    atoms: list[Atom] = []
    i = start + 1
    while query[i] not in QUOTES:
        if query[i].isspace():
            i += 1
            continue
        j = i
        while query[j] not in QUOTES and not query[j].isspace():
            j += 1
        atoms.extend(_term_atoms(query, i, query[i:j], in_phrase=True))
        i = j
    if not atoms:
        raise QuerySyntaxError(f"Empty phrase at position {start}: put words between the quotes",
                               query=query, position=start, expected="words between the quotes")
    return tuple(atoms)
