"""The document side of matching: a post normalised and tokenised once into a ``MatchDoc``.

Every query of every tenant then reads the same object (``compiler`` builds functions over it,
``matcher.QuerySet`` indexes queries by what a document contains).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dengar_common.enums import PLATFORM_ALIASES
from dengar_common.post_contract import PostFields

from .lexer import MAX_NEAR_DISTANCE
from .text import fold, normalise_handle, normalise_lang, strip_links, tokens

# Title and text are one post but not one sentence: a phrase or NEAR must not join the end of a title
# to the start of the text. Empty tokens between them match no atom and are farther apart than any
# allowed NEAR distance.
_GAP: tuple[str, ...] = ("",) * (MAX_NEAR_DISTANCE + 1)


@dataclass(frozen=True, slots=True)
class MatchDoc:
    """One post, normalised for matching. Build it with ``from_post`` or ``build``.

    ``words[i]`` is the folded word at position i (title first, then text); ``raw[i]`` the same with
    its "#"/"@" sigil; ``keys`` every word and every sigil token (the set lookups of terms).
    """

    words: tuple[str, ...]
    raw: tuple[str, ...]
    keys: frozenset[str]
    platform: str = ""
    # Normalised BCP-47 tag ("en-us") and its primary language ("en").
    lang: str = ""
    lang_primary: str = ""
    author: str = ""
    has_link: bool = False
    # What the compiler derives from the document once and every query of every tenant then reads
    # (the position index, sorted keys, the occurrences of each term); see ``compiler``. Filled
    # lazily: most posts never need positions, because the set tests decide them.
    cache: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def build(cls, text: str = "", *, title: str = "", platform: str = "", lang: str = "",
              author: str = "", url: str = "") -> MatchDoc:
        """Normalise and tokenise a post given as plain values (``platform`` is a REST name)."""
        body, link = strip_links(fold(text))
        words, raw = tokens(body)
        sigils = raw is not words
        if title:
            head, title_link = strip_links(fold(title))
            link = link or title_link
            title_words, title_raw = tokens(head)
            sigils = sigils or title_raw is not title_words
            if title_words and words:
                words = title_words + _GAP + words
                raw = title_raw + _GAP + raw if sigils else words
            elif title_words:
                words, raw = title_words, title_raw
        keys = frozenset(words).union(raw) if sigils else frozenset(words)
        lang_tag = normalise_lang(lang) if lang else ""
        key = platform.strip().lower()
        return cls(
            words=words, raw=raw, keys=keys,
            platform=PLATFORM_ALIASES.get(key, key),
            lang=lang_tag, lang_primary=lang_tag.partition("-")[0],
            author=normalise_handle(author) if author else "",
            has_link=link or bool(url.strip()),
        )

    @classmethod
    def from_post(cls, post: PostFields) -> MatchDoc:
        return cls.build(post.text, title=post.title, platform=post.platform,
                         lang=post.lang, author=post.author.handle, url=post.url)


EMPTY_DOC = MatchDoc(words=(), raw=(), keys=frozenset())
