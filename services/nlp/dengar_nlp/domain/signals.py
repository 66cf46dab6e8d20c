"""Cheap surface signals of a post: hashtags, @mentions, URLs and their domains, cashtags, emoji.

Only the standard library is used.  Emoji are matched as whole emoji sequences (UTS #51): ZWJ
sequences ("👩🏽‍💻", "🏳️‍🌈"), skin-tone modifiers, flags (regional-indicator pairs and tag
sequences such as "🏴󠁧󠁢󠁳󠁣󠁴󠁿"), keycaps ("1️⃣").  The pictograph table is a hand-kept copy of Unicode's
Extended_Pictographic ranges, because ``unicodedata`` does not expose emoji properties.

Output conventions (what the NLP service stores):
* hashtags and mentions: without the sigil, case-folded, unique, in order of first appearance;
* cashtags: upper-case without ``$``, unique;
* urls: as written (trailing punctuation and "…" removed), unique; domains: registrable domain of
  each URL (``news.detik.com`` -> ``detik.com``, ``www.bbc.co.uk`` -> ``bbc.co.uk``), unique;
* emojis: every occurrence in order, repeats kept, because "😂😂😂" says more than "😂".
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from urllib.parse import urlsplit

from dengar_common.enrichment import Signals

logger = logging.getLogger(__name__)


# Extended_Pictographic (Unicode 15.1 emoji-data.txt), as code point ranges.
_PICT_RANGES: tuple[tuple[int, int], ...] = (
    (0x00A9, 0x00A9), (0x00AE, 0x00AE), (0x203C, 0x203C), (0x2049, 0x2049), (0x2122, 0x2122),
    (0x2139, 0x2139), (0x2194, 0x2199), (0x21A9, 0x21AA), (0x231A, 0x231B), (0x2328, 0x2328),
    (0x2388, 0x2388), (0x23CF, 0x23CF), (0x23E9, 0x23F3), (0x23F8, 0x23FA), (0x24C2, 0x24C2),
    (0x25AA, 0x25AB), (0x25B6, 0x25B6), (0x25C0, 0x25C0), (0x25FB, 0x25FE), (0x2600, 0x2605),
    (0x2607, 0x2612), (0x2614, 0x2685), (0x2690, 0x2705), (0x2708, 0x2712), (0x2714, 0x2714),
    (0x2716, 0x2716), (0x271D, 0x271D), (0x2721, 0x2721), (0x2728, 0x2728), (0x2733, 0x2734),
    (0x2744, 0x2744), (0x2747, 0x2747), (0x274C, 0x274C), (0x274E, 0x274E), (0x2753, 0x2755),
    (0x2757, 0x2757), (0x2763, 0x2767), (0x2795, 0x2797), (0x27A1, 0x27A1), (0x27B0, 0x27B0),
    (0x27BF, 0x27BF), (0x2934, 0x2935), (0x2B05, 0x2B07), (0x2B1B, 0x2B1C), (0x2B50, 0x2B50),
    (0x2B55, 0x2B55), (0x3030, 0x3030), (0x303D, 0x303D), (0x3297, 0x3297), (0x3299, 0x3299),
    (0x1F000, 0x1F0FF), (0x1F10D, 0x1F10F), (0x1F12F, 0x1F12F), (0x1F16C, 0x1F171),
    (0x1F17E, 0x1F17F), (0x1F18E, 0x1F18E), (0x1F191, 0x1F19A), (0x1F1AD, 0x1F1E5),
    (0x1F201, 0x1F20F), (0x1F21A, 0x1F21A), (0x1F22F, 0x1F22F), (0x1F232, 0x1F23A),
    (0x1F23C, 0x1F23F), (0x1F249, 0x1F3FA), (0x1F400, 0x1F53D), (0x1F546, 0x1F64F),
    (0x1F680, 0x1F6FF), (0x1F774, 0x1F77F), (0x1F7D5, 0x1F7FF), (0x1F80C, 0x1F80F),
    (0x1F848, 0x1F84F), (0x1F85A, 0x1F85F), (0x1F888, 0x1F88F), (0x1F8AE, 0x1F8FF),
    (0x1F90C, 0x1F93A), (0x1F93C, 0x1F945), (0x1F947, 0x1FAFF), (0x1FC00, 0x1FFFD),
)  # fmt: skip
# Pictographs that default to text presentation and are common as plain symbols (©, ™, arrows):
# they count as emoji only with VS16 (U+FE0F) or inside a ZWJ sequence.
_TEXT_DEFAULT: frozenset[int] = frozenset(
    [0x00A9, 0x00AE, 0x203C, 0x2049, 0x2122, 0x2139, *range(0x2194, 0x219A), 0x21A9, 0x21AA,
     0x2328, 0x2388, 0x23CF, 0x24C2, 0x25AA, 0x25AB, 0x25B6, 0x25C0, 0x25FB, 0x25FC, 0x2934, 0x2935,
     0x2B05, 0x2B06, 0x2B07, 0x3030, 0x303D, 0x3297, 0x3299]
)  # fmt: skip


def _char_class(ranges: list[tuple[int, int]]) -> str:
    parts = []
    for lo, hi in ranges:
        parts.append(re.escape(chr(lo)) if lo == hi else f"{re.escape(chr(lo))}-{re.escape(chr(hi))}")
    return "[" + "".join(parts) + "]"


def _split_ranges() -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    emoji_default: list[tuple[int, int]] = []
    text_default: list[tuple[int, int]] = []
    for lo, hi in _PICT_RANGES:
        for cp in range(lo, hi + 1):
            target = text_default if cp in _TEXT_DEFAULT else emoji_default
            if target and target[-1][1] == cp - 1:
                target[-1] = (target[-1][0], cp)
            else:
                target.append((cp, cp))
    return emoji_default, text_default


@lru_cache(maxsize=1)
def _emoji_re() -> re.Pattern[str]:
    emoji_default, text_default = _split_ranges()
    pict = _char_class(emoji_default)
    text_pict = _char_class(text_default)
    mod = "[\U0001f3fb-\U0001f3ff]"
    tags = "[\U000e0020-\U000e007e]+\U000e007f"
    ri = "[\U0001f1e6-\U0001f1ff]"
    keycap = "[0-9#*]\ufe0f?\u20e3"
    # A pictograph followed by U+FE0E asked for text presentation: not an emoji.
    element = (
        f"(?:{ri}{ri}|{keycap}|{pict}(?!\ufe0e)\ufe0f?{mod}?(?:{tags})?|{text_pict}\ufe0f{mod}?|{mod}|{ri})"
    )
    zwj_tail = f"(?:\u200d(?:{pict}|{text_pict})\ufe0f?{mod}?)"
    return re.compile(f"{element}{zwj_tail}*")


_URL_RE = re.compile(
    r"(?<![\w@/.])(?:(?:https?://|www\.)[^\s<>\"'`]+"
    r"|(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
    r"(?:com|net|org|id|co|io|ly|me|my|sg|uk|info|biz|tv|app|dev|xyz|gov|edu|news|us|gl|gg|to|link)"
    r"(?:/[^\s<>\"'`]*)?(?![\w-]|\.\w))",
    re.IGNORECASE,
)
_HASHTAG_RE = re.compile(r"(?<![\w&#/])[#＃](\w*[^\W\d_]\w*)")
_MENTION_RE = re.compile(
    r"(?<![\w@/.])[@＠]([A-Za-z0-9_]+(?:[.-][A-Za-z0-9_]+)*(?:@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)?)"
)
_CASHTAG_RE = re.compile(r"(?<![\w$])\$([A-Za-z]{1,6}(?:[._][A-Za-z]{1,2})?)(?![\w$])")
_TRAILING = ".,!?:;'\"»”’…>]}*"
# Second-level labels under which a ccTLD sells registrations: "bbc.co.uk", "ui.ac.id", "go.id".
_SLD_LABELS = frozenset(
    "co com net org ac go gov edu or web sch mil my biz ne gen ltd plc nom ponpes desa".split()
)


def _clean_url(url: str) -> str:
    while url:
        last = url[-1]
        if last in _TRAILING:
            url = url[:-1]
        elif last == ")" and url.count("(") < url.count(")"):
            url = url[:-1]
        else:
            break
    return url


def registrable_domain(url: str) -> str | None:
    """Registrable domain of a URL or host (``https://m.detik.co.id/x`` -> ``detik.co.id``).

    Heuristic, not the Public Suffix List: if the last label is a two-letter country code and the
    one before it is a generic second-level label (co, ac, go, or, web, com, ...), three labels are
    kept, else two.  IP addresses are returned as they are.  ``None`` if no host can be parsed.
    """
    candidate = url if "://" in url else "http://" + url
    try:
        host = urlsplit(candidate).hostname
    except ValueError:
        return None
    if not host:
        return None
    host = host.rstrip(".").lower()
    labels = [lab for lab in host.split(".") if lab]
    if len(labels) < 2:
        return None
    if all(lab.isdigit() for lab in labels) or ":" in host:
        return host
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SLD_LABELS:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def extract_emojis(text: str) -> list[str]:
    """Every emoji sequence in ``text``, in order, with repeats."""
    return [m.group(0) for m in _emoji_re().finditer(text)]


def extract_signals(text: str) -> Signals:
    """All signals of one text.  Raises ValueError only for non-str input."""
    if not isinstance(text, str):
        raise ValueError(f"text must be str, not {type(text).__name__}")
    if not text:
        return Signals()
    urls: list[str] = []
    domains: list[str] = []
    masked = list(text)
    for m in _URL_RE.finditer(text):
        url = _clean_url(m.group(0))
        if not url or "." not in url:
            continue
        urls.append(url)
        domain = registrable_domain(url)
        if domain:
            domains.append(domain)
        # Blank the URL so that "#anchor" or "/@user" inside it is not read as a hashtag or mention.
        for i in range(m.start(), m.start() + len(url)):
            masked[i] = " "
    rest = "".join(masked)
    hashtags = [m.group(1).casefold() for m in _HASHTAG_RE.finditer(rest)]
    mentions = [m.group(1).casefold() for m in _MENTION_RE.finditer(rest)]
    cashtags = [m.group(1).upper() for m in _CASHTAG_RE.finditer(rest)]
    return Signals(
        hashtags=_unique(hashtags),
        mentions=_unique(mentions),
        urls=_unique(urls),
        domains=_unique(domains),
        cashtags=_unique(cashtags),
        emojis=tuple(extract_emojis(rest)),
    )
