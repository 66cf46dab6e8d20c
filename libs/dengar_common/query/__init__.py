"""Listening queries: a boolean query language for matching posts.

    >>> q = compile_query('(gocepat OR #gocepat OR @gocepat_id) AND (telat OR "late delivery") -promo')
    >>> q.matches(MatchDoc.build("Paket @GoCepat_ID telat lagi 😡", lang="id", platform="x"))
    True

Syntax (operators in capitals; precedence OR < AND < NOT < NEAR; parentheses group):

* ``delivery`` a word; ``"late delivery"`` a phrase; ``deliv*`` a prefix wildcard (>= 3 letters);
* ``#mudik`` a hashtag, ``@gocepat`` a mention (``mudik`` also finds ``#mudik``, not the reverse);
* ``a AND b``, ``a b`` (implicit AND), ``a OR b``, ``NOT a``, ``-a``;
* ``a NEAR/3 b`` at most 3 words between a and b, either order; ``a ONEAR/3 b`` a before b; operands
  are words, phrases, wildcards or an OR of them in parentheses;
* ``lang:id``, ``platform:x`` (REST platform names, ``twitter`` ok), ``author:gocepat_id``
  (case-insensitive, "@" optional), ``has:link``.

Matching costs at most linear time in a post's length and is bounded per post by a ``MatchBudget``
(see ``compiler``): a query whose answer the budget cannot pay for is counted as not matched and
reported, never silently.

Words are whole tokens, matched without case or diacritics (see ``text``). Errors are
``QuerySyntaxError`` with a character position and what was expected there.
"""

from .compiler import (
    DEFAULT_MATCH_BUDGET,
    MAX_TERM_POSITIONS,
    CompiledQuery,
    MatchBudget,
    MatchBudgetExceeded,
    anchors,
    compile_query,
)
from .document import MatchDoc
from .lexer import (
    FIELDS,
    MAX_NEAR_DISTANCE,
    MAX_QUERY_CHARS,
    MIN_WILDCARD_CHARS,
    Atom,
    QuerySyntaxError,
)
from .matcher import ROLES, ListeningQuery, MatchReport, QueryRole, QuerySet
from .parser import MAX_DEPTH, And, Field, Near, Node, Not, Or, Seq, parse_query, render

__all__ = [
    "DEFAULT_MATCH_BUDGET",
    "FIELDS",
    "MAX_DEPTH",
    "MAX_NEAR_DISTANCE",
    "MAX_QUERY_CHARS",
    "MAX_TERM_POSITIONS",
    "MIN_WILDCARD_CHARS",
    "ROLES",
    "And",
    "Atom",
    "CompiledQuery",
    "Field",
    "ListeningQuery",
    "MatchBudget",
    "MatchBudgetExceeded",
    "MatchDoc",
    "MatchReport",
    "Near",
    "Node",
    "Not",
    "Or",
    "QueryRole",
    "QuerySet",
    "QuerySyntaxError",
    "Seq",
    "anchors",
    "compile_query",
    "parse_query",
    "render",
]
