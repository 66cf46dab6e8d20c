"""Text normalisation and tokenisation shared by documents and query terms.

Documents and query terms go through the same functions, so whatever the normalisation does it does
on both sides and a term written the way it appears in a post always finds that post.

Rules (what analysts can rely on):

* **Case and diacritics do not matter.** Text is decomposed (NFKD, which also turns full-width and
  ligature forms into plain letters), combining marks are dropped and the result is casefolded:
  "Café" = "cafe" = "CAFÉ", "ﬁx" = "fix", "Straße" = "strasse".
* **Words are runs of letters, digits and "_"** (Python's ``\\w``). Everything else separates words:
  spaces, punctuation, emoji, "-" and "'". So "anak-anak" is two words, "Gojek's" is "gojek" + "s",
  and a run of underscores alone ("^_^") is no word.
* **Exact word tokens only.** A term matches a whole word, never part of one: "cat" does not match
  "category", and "ojol" does not match "ojolnya" (Indonesian enclitics are not stripped; write
  ``ojol*`` or ``ojolnya`` to catch them). Prefix wildcards exist for exactly this.
* **Hashtags and mentions** are a word preceded by "#" or "@" that does not follow a letter or digit
  (so an e-mail address is no mention). Such a token carries both forms: "#Gojek" is found by the term
  ``#gojek`` and by the term ``gojek``; the term ``#gojek`` finds only the hashtag.
* **Links** (``http://``, ``https://`` or ``www.`` up to the next space, not glued to a preceding
  word) are not words: t.co slugs would otherwise match short terms at random. They set ``has:link``.
* Emoji are separators, not terms (a query term made only of emoji is rejected).
"""

from __future__ import annotations

import re
import unicodedata

# Combining marks (canonical combining class != 0, the definition the other services use). Planes 0
# and 1 hold every such mark in Unicode 14 (planes 2+ are ideographs, tags and private use); scanning
# them costs ~10 ms at import.
_COMBINING: frozenset[str] = frozenset(
    ch for ch in map(chr, range(0x20000)) if unicodedata.combining(ch))
_NON_ASCII_RE = re.compile(r"[^\x00-\x7f]")

# A link starts with a scheme or "www." that is not glued to a preceding word and runs to the next
# whitespace (trailing punctuation included: it is dropped either way).
URL_RE = re.compile(r"(?<!\w)(?:https?://|www\.)\S+")
# A token is a run of word characters that is not only "_", with its "#"/"@" sigil when the sigil
# does not follow a word character (budi@mail.com mentions nobody). Leading underscores are matched
# explicitly so that the engine never backtracks.
_TOKEN_RE = re.compile(r"(?<!\w)[#@]?_*[^\W_]\w*")
_RUN_RE = re.compile(r"\w+")
_SIGILS = "#@"


def fold(text: str) -> str:
    """Casefolded text without diacritics, in compatibility form."""
    if text.isascii():
        # ASCII has no combining marks or compatibility forms, and lower() == casefold() there.
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    # Removing the few distinct marks present with str.replace is several times faster than a regex
    # over the ~900 combining code points (most posts with non-ASCII only have emoji).
    for mark in _COMBINING.intersection(_NON_ASCII_RE.findall(decomposed)):
        decomposed = decomposed.replace(mark, "")
    return decomposed.casefold()


def strip_links(folded: str) -> tuple[str, bool]:
    """``folded`` with links replaced by a space, and whether there was one."""
    if "://" not in folded and "www." not in folded:
        return folded, False
    stripped, n = URL_RE.subn(" ", folded)
    return stripped, n > 0


def has_link(folded: str) -> bool:
    return URL_RE.search(folded) is not None


def tokens(folded: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(words, raw)`` of already folded, link-free text, one entry per position.

    ``words[i]`` is the bare word; ``raw[i]`` is the same with its "#"/"@" sigil, if any. When the text
    has no sigil at all, ``raw`` is ``words`` (the same tuple), which most posts are.
    """
    if "#" not in folded and "@" not in folded:
        # Without sigils a plain run scan is enough (and faster than the token pattern).
        runs = _RUN_RE.findall(folded)
        if "_" in folded:
            runs = [w for w in runs if w.strip("_")]
        words = tuple(runs)
        return words, words
    raw = _TOKEN_RE.findall(folded)
    return tuple([t[1:] if t[0] in _SIGILS else t for t in raw]), tuple(raw)


def split_sigil(token: str) -> tuple[str, str]:
    """``("#", "gojek")`` for ``"#gojek"``; ``("", "gojek")`` for ``"gojek"``."""
    if token[:1] in _SIGILS:
        return token[0], token[1:]
    return "", token


def normalise_lang(value: str) -> str:
    """Lower-case BCP-47 tag with "-" separators; the legacy Indonesian code "in" becomes "id"."""
    tag = value.strip().lower().replace("_", "-")
    primary, sep, rest = tag.partition("-")
    # Twitter reported Indonesian as "in" (the pre-1989 ISO 639 code) for years.
    if primary == "in":
        primary = "id"
    return primary + sep + rest


def normalise_handle(value: str) -> str:
    """Folded handle without its leading "@"s (handles are compared case-insensitively)."""
    return fold(value.strip()).lstrip("@")
