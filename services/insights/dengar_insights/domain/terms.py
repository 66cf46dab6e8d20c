"""Word tokens for full-text search without a text index.

The store we must support has no text indexes, so every mention carries ``terms``: the set of its
normalised words, held in a multikey index that starts with ``tenant_id``. A query matches when all
of its normalised words are in ``terms`` (``$all``). Documents and queries go through the same
function, so whatever the normalisation does (case, diacritics, compatibility forms) it does on
both sides.

Normalisation: NFKD (so "é" becomes "e" + a combining accent and full-width/ligature forms become
plain letters), combining marks dropped, casefolded, then split into runs of word characters.
Hashtags and @mentions become their words ("#MakanSiang" → "makansiang"). Emoji and other symbols
are kept as one-character terms, so that "🔥" can be searched for. There is no stemming: Indonesian
affixes ("bukunya", "dibeli") stay as written; reduplications ("anak-anak") yield the base word.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Bounds keep one pathological post from bloating the multikey index.
MAX_TERMS = 512
MAX_TERM_LEN = 64

_WORD_RE = re.compile(r"\w+")
# Emoji modifiers and joiners carry no meaning on their own.
_IGNORED_SYMBOLS = frozenset({"\u200d", "\ufe0f", "\ufe0e", "\u20e3"})


def fold(text: str) -> str:
    """Casefolded text without diacritics, in compatibility form."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.casefold()


def _symbols(text: str) -> Iterable[str]:
    for ch in text:
        if ch in _IGNORED_SYMBOLS:
            continue
        cat = unicodedata.category(ch)
        # "So" covers emoji and pictographs; skin-tone modifiers are "Sk" and are dropped.
        if cat == "So":
            yield ch


def tokens(text: str) -> list[str]:
    """Normalised word tokens of ``text`` in order of appearance, duplicates kept."""
    folded = fold(text)
    words = [w[:MAX_TERM_LEN] for w in _WORD_RE.findall(folded)]
    # Underscore is a word character, so "budi_s" stays one term; a bare "_" run is noise.
    words = [w for w in words if w.strip("_")]
    return words + list(_symbols(folded))


def terms_of(*texts: str) -> list[str]:
    """Distinct normalised tokens of all ``texts``, first occurrence first, at most MAX_TERMS."""
    seen: dict[str, None] = {}
    for text in texts:
        for tok in tokens(text):
            if tok not in seen:
                seen[tok] = None
                if len(seen) >= MAX_TERMS:
                    return list(seen)
    return list(seen)


def query_terms(query: str) -> list[str]:
    """The terms every matching mention must contain (an empty list matches everything)."""
    return terms_of(query)
