"""A deliberately simple evaluator of query trees, used only by tests as the oracle.

It shares nothing with the fast path but the tree classes: it folds text one character at a time,
finds links and words with explicit loops, keeps title and text as separate lists of
``(sigil, word)`` tokens, and evaluates phrases and NEAR by trying every position. Slow and obviously
correct is the point; never use it to match production traffic.
"""

from __future__ import annotations

import unicodedata

from dengar_common.enums import PLATFORM_ALIASES

from .lexer import Atom
from .parser import And, Field, Near, Node, Not, Or, Seq

Token = tuple[str, str]  # (sigil, word)


def reference_fold(text: str) -> str:
    out = []
    for ch in text:
        decomposed = unicodedata.normalize("NFKD", ch)
        out.append("".join(c for c in decomposed if unicodedata.combining(c) == 0).casefold())
    return "".join(out)


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def reference_remove_links(folded: str) -> tuple[str, bool]:
    """Links (a scheme or "www." not glued to a word, then at least one non-space) become a space."""
    out: list[str] = []
    found = False
    i = 0
    while i < len(folded):
        at_boundary = i == 0 or not _is_word(folded[i - 1])
        scheme = next((s for s in ("https://", "http://", "www.") if folded.startswith(s, i)), None)
        after = i + len(scheme) if scheme else i
        if at_boundary and scheme and after < len(folded) and not folded[after].isspace():
            j = after
            while j < len(folded) and not folded[j].isspace():
                j += 1
            out.append(" ")
            found = True
            i = j
        else:
            out.append(folded[i])
            i += 1
    return "".join(out), found


def reference_tokens(text: str) -> tuple[list[Token], bool]:
    """Tokens of raw ``text`` and whether it contains a link."""
    folded, link = reference_remove_links(reference_fold(text))
    tokens: list[Token] = []
    i = 0
    while i < len(folded):
        if _is_word(folded[i]):
            j = i
            while j < len(folded) and _is_word(folded[j]):
                j += 1
            word = folded[i:j]
            sigil = ""
            if i >= 1 and folded[i - 1] in "#@" and (i == 1 or not _is_word(folded[i - 2])):
                sigil = folded[i - 1]
            if word.strip("_"):
                tokens.append((sigil, word))
            i = j
        else:
            i += 1
    return tokens, link


def _atom_matches(atom: Atom, token: Token) -> bool:
    sigil, word = token
    if atom.sigil and sigil != atom.sigil:
        return False
    return word.startswith(atom.word) if atom.prefix else word == atom.word


def _spans(seq: Seq, tokens: list[Token]) -> list[tuple[int, int]]:
    """(first, last) positions of every occurrence of ``seq``."""
    n = len(seq.atoms)
    return [(i, i + n - 1) for i in range(len(tokens) - n + 1)
            if all(_atom_matches(a, tokens[i + k]) for k, a in enumerate(seq.atoms))]


def _near(node: Near, tokens: list[Token]) -> bool:
    lefts = [span for s in node.left for span in _spans(s, tokens)]
    rights = [span for s in node.right for span in _spans(s, tokens)]
    for a_first, a_last in lefts:
        for b_first, b_last in rights:
            if a_last < b_first:
                between = b_first - a_last - 1
            elif b_last < a_first and not node.ordered:
                between = a_first - b_last - 1
            else:
                continue  # overlapping, or in the wrong order for ONEAR
            if between <= node.distance:
                return True
    return False


def _lang(tag: str) -> str:
    tag = tag.strip().lower().replace("_", "-")
    parts = tag.split("-")
    if parts[0] == "in":
        parts[0] = "id"
    return "-".join(parts)


def reference_eval(node: Node, *, text: str = "", title: str = "", platform: str = "",
                   lang: str = "", author: str = "", url: str = "") -> bool:
    """Whether a post with these fields matches ``node``."""
    text_tokens, text_link = reference_tokens(text)
    title_tokens, title_link = reference_tokens(title)
    segments = [title_tokens, text_tokens]
    platform = platform.strip().lower()
    platform = PLATFORM_ALIASES.get(platform, platform)
    author_key = reference_fold(author.strip()).lstrip("@")
    doc_lang = _lang(lang) if lang else ""
    link = text_link or title_link or url.strip() != ""

    def ev(n: Node) -> bool:
        if isinstance(n, Seq):
            return any(_spans(n, seg) for seg in segments)
        if isinstance(n, Near):
            return any(_near(n, seg) for seg in segments)
        if isinstance(n, Field):
            if n.name == "lang":
                if "-" in n.value:
                    return doc_lang == n.value
                return doc_lang.split("-")[0] == n.value
            if n.name == "platform":
                return platform == n.value
            if n.name == "author":
                return author_key == n.value
            if n.name == "has":
                return link
            raise ValueError(n.name)
        if isinstance(n, Not):
            return not ev(n.child)
        if isinstance(n, And):
            return all(ev(c) for c in n.children)
        if isinstance(n, Or):
            return any(ev(c) for c in n.children)
        raise TypeError(n)

    return ev(node)
