"""Helpers shared by the mappings: HTML to plain text, timestamps, and XML that cannot bomb us."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html import unescape
from html.parser import HTMLParser
from typing import Any

from dengar_collector.adapters.connectors.base import MappingError

# Elements that end a line of text (a paragraph, a list item, a line break).
_BLOCK_TAGS = frozenset({
    "p", "div", "br", "li", "ul", "ol", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6",
    "tr", "table", "section", "article", "header", "footer", "figure", "figcaption", "hr", "dd", "dt",
})
_SKIP_TAGS = frozenset({"script", "style", "template", "noscript", "head", "title", "iframe", "object"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


# Block boundaries are collected as markers and resolved at the end, so that nested or adjacent blocks
# (</li><li>, </p><p>) give one break rather than one per tag.
_PARA, _LINE = "\x00P", "\x00L"
_BREAK_RUN = re.compile(r"[ \t]*(?:\x00[PL][ \t\n]*)+")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def _block(self, tag: str) -> None:
        self.parts.append(_PARA if tag == "p" else _LINE)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self._block(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self._block(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS and tag != "br":
            self._block(tag)

    def handle_data(self, data: str) -> None:
        if not self._skip:
            # Markers are private-use; a NUL in the data would be read as one.
            self.parts.append(data.replace("\x00", ""))


def html_to_text(html: str) -> str:
    """Visible text of an HTML fragment: tags dropped, entities decoded, paragraphs kept as blank lines.

    Mastodon hides parts of long link texts in ``<span class="invisible">``; that text is kept, since the
    full URL is what the NLP stage extracts domains from.
    """
    if "<" not in html and "&" not in html:
        return html.strip()
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = _BREAK_RUN.sub(lambda m: "\n\n" if _PARA in m.group(0) else "\n", "".join(parser.parts))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def plain_text(value: str) -> str:
    """Text that may hold entities but no markup (titles): entities decoded, whitespace collapsed."""
    return " ".join(unescape(value).split())


def parse_datetime(value: Any) -> datetime:
    """An aware datetime from ISO 8601, RFC 822/1123 (RSS) or epoch seconds; naive means UTC."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        parsed = datetime.fromtimestamp(float(value), tz=UTC)
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            try:
                parsed = parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError):
                raise MappingError(f"unparseable timestamp {text[:40]!r}") from None
    else:
        raise MappingError(f"missing or invalid timestamp {value!r}"[:80])
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def iso_z(moment: datetime) -> str:
    """RFC 3339 in UTC with a Z, as every API here accepts it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def count(value: Any) -> int:
    """A non-negative engagement count from an int, a numeric string ("1234") or nothing."""
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        raise MappingError("count is a boolean")
    number = int(float(value)) if isinstance(value, str | float) else int(value)
    if number < 0:
        raise MappingError(f"negative count {number}")
    return number


def require_str(item: Any, key: str) -> str:
    """A non-empty string field of a JSON object, or ``MappingError`` naming the field."""
    if not isinstance(item, dict):
        raise MappingError("item is not an object")
    value = item.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise MappingError(f"missing field {key!r}")
    return value


# ------------------------------------------------------------------------------------------------ XML

class UnsafeXmlError(ValueError):
    """The document declares entities (billion laughs, external entities): refused unparsed."""


def _defused() -> Any:
    try:
        import defusedxml.ElementTree as defused
    except ImportError:
        return None
    return defused


def _forbid(*_args: Any) -> None:
    raise UnsafeXmlError("XML entity declarations are not allowed")


def _prescan(data: bytes) -> None:
    """Refuse entity declarations and external entity references with a bare expat pass.

    The fallback when defusedxml is absent: a DOCTYPE alone is fine (old RSS 0.91 feeds have one), but
    no entity may be declared, so neither exponential expansion nor external references can happen.
    """
    from xml.parsers import expat

    parser = expat.ParserCreate()
    parser.EntityDeclHandler = _forbid
    parser.UnparsedEntityDeclHandler = _forbid
    # typeshed types this handler as returning int; _forbid never returns (it raises).
    parser.ExternalEntityRefHandler = _forbid  # type: ignore[assignment]  # expat's handler slot is typed narrower than any callable
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise ET.ParseError(str(exc)) from None


def parse_xml(data: bytes, *, use_defusedxml: bool | None = None) -> ET.Element:
    """Parse untrusted XML. Uses defusedxml when installed, else the expat pre-scan above.

    Raises ``UnsafeXmlError`` for entity declarations and ``ET.ParseError`` for malformed XML.
    """
    defused = _defused() if use_defusedxml is not False else None
    if use_defusedxml and defused is None:
        raise RuntimeError("defusedxml is not installed")
    if defused is not None:
        from defusedxml import DefusedXmlException

        try:
            root: ET.Element = defused.fromstring(data, forbid_dtd=False, forbid_entities=True,
                                                  forbid_external=True)
        except DefusedXmlException as exc:
            raise UnsafeXmlError(f"unsafe XML: {type(exc).__name__}") from None
        return root
    _prescan(data)
    return ET.fromstring(data)
