"""RSS 2.0, RSS 1.0 (RDF) and Atom feeds, with conditional GET.

A feed is a window onto its latest items, without pagination or reliable dates, so what is new is
decided by id (``guid``/``id``, else the link): the cursor remembers the ids already collected and the
HTTP validators (``ETag``, ``Last-Modified``) of the last response. An unchanged feed answers 304 and
costs nothing. When ``limit`` cuts a batch, the oldest new items go first and the validators are not kept,
so that the next fetch downloads the feed again and takes the rest instead of getting a 304.

XML is parsed without entity expansion (defusedxml when installed, an expat pre-scan otherwise) and the
body is bounded by the HTTP client's size limit. HTML in descriptions is reduced to text.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import Any, ClassVar
from urllib.parse import urljoin

from pydantic import Field, SecretStr, field_validator

from dengar_collector.adapters.connectors.api import HttpConnector, StaticHeaderAuth
from dengar_collector.adapters.connectors.base import (
    Author,
    CollectedPost,
    ConnectorConfig,
    Credentials,
    Cursor,
    Engagement,
    FetchResult,
    InvalidCursorError,
    MappingError,
    ResponseFormatError,
    check_base_url,
    mapped,
)
from dengar_collector.adapters.connectors.text import (
    UnsafeXmlError,
    count,
    html_to_text,
    parse_datetime,
    parse_xml,
)
from dengar_common.http_safety import redact_url

logger = logging.getLogger(__name__)

PLATFORM = "rss"
CURSOR_VERSION = 1
# Ids remembered: several times a typical feed's length, so items that drop out and come back (feeds
# sorted by popularity, republished items) are not collected again.
MAX_SEEN = 2000
ACCEPT = ("application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
          "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1")

ATOM = "{http://www.w3.org/2005/Atom}"
RSS1 = "{http://purl.org/rss/1.0/}"
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
DC = "{http://purl.org/dc/elements/1.1/}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
SLASH = "{http://purl.org/rss/1.0/modules/slash/}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


class RssConfig(ConnectorConfig):
    feed_url: str

    @field_validator("feed_url")
    @classmethod
    def _feed_url(cls, value: str) -> str:
        # The trailing slash of a feed URL is significant, unlike an API base URL's.
        check_base_url(value)
        return value.strip()


class RssCredentials(Credentials):
    """HTTP Basic credentials for a private feed."""

    username: str = Field(min_length=1, max_length=256)
    password: SecretStr


@dataclass(frozen=True)
class FeedInfo:
    title: str
    lang: str
    url: str
    updated: datetime | None


@dataclass(frozen=True)
class RawItem:
    """One item/entry reduced to strings, whatever the feed format."""

    external_id: str
    title: str
    text: str
    link: str
    published: str
    author: str
    lang: str
    categories: tuple[str, ...]
    comments: str


def _text(element: ET.Element | None) -> str:
    if element is None:
        return ""
    return "".join(element.itertext()).strip()


def _atom_content(element: ET.Element | None) -> str:
    """Atom text constructs: ``type="html"`` is escaped HTML, ``xhtml`` a div, ``text`` plain."""
    if element is None:
        return ""
    kind = (element.get("type") or "text").lower()
    if kind == "xhtml":
        return " ".join(" ".join(element.itertext()).split())
    if kind in ("html", "text/html"):
        return html_to_text(element.text or "")
    return (element.text or "").strip()


def _rss_author(item: ET.Element) -> str:
    creator = _text(item.find(f"{DC}creator"))
    if creator:
        return creator
    # RSS 2.0 <author> is "email (Name)"; the name is the part worth keeping.
    raw = _text(item.find("author"))
    name, address = parseaddr(raw)
    return name or address or raw


def _rss_items(items: list[ET.Element], base: str, lang: str) -> Iterator[RawItem]:
    for item in items:
        link = _text(item.find("link")) or _text(item.find(f"{RSS1}link"))
        link = urljoin(base, link) if link else ""
        guid = _text(item.find("guid")) or item.get(f"{RDF}about", "")
        body = _text(item.find(f"{CONTENT}encoded")) or _text(item.find("description")) \
            or _text(item.find(f"{RSS1}description"))
        yield RawItem(
            external_id=guid or link,
            title=html_to_text(_text(item.find("title")) or _text(item.find(f"{RSS1}title"))),
            text=html_to_text(body),
            link=link,
            published=_text(item.find("pubDate")) or _text(item.find(f"{DC}date")),
            author=_rss_author(item),
            lang=_text(item.find(f"{DC}language")) or lang,
            categories=tuple(c for c in (_text(e) for e in item.findall("category")) if c),
            comments=_text(item.find(f"{SLASH}comments")),
        )


def _atom_link(entry: ET.Element, base: str) -> str:
    for link in entry.findall(f"{ATOM}link"):
        if (link.get("rel") or "alternate") == "alternate" and link.get("href"):
            return urljoin(base, link.get("href", ""))
    return ""


def _atom_items(feed: ET.Element, base: str, lang: str) -> Iterator[RawItem]:
    for entry in feed.findall(f"{ATOM}entry"):
        link = _atom_link(entry, base)
        content = _atom_content(entry.find(f"{ATOM}content")) or _atom_content(entry.find(f"{ATOM}summary"))
        author = _text(entry.find(f"{ATOM}author/{ATOM}name"))
        yield RawItem(
            external_id=_text(entry.find(f"{ATOM}id")) or link,
            title=_atom_content(entry.find(f"{ATOM}title")),
            text=content,
            link=link,
            published=_text(entry.find(f"{ATOM}published")) or _text(entry.find(f"{ATOM}updated")),
            author=author,
            lang=entry.get(XML_LANG) or lang,
            categories=tuple(c.get("term", "") for c in entry.findall(f"{ATOM}category") if c.get("term")),
            comments="",
        )


def parse_feed(root: ET.Element, feed_url: str) -> tuple[FeedInfo, list[RawItem]]:
    """Feed metadata and items, in document order (usually newest first)."""
    def updated(value: str) -> datetime | None:
        try:
            return parse_datetime(value) if value else None
        except MappingError:
            return None

    if root.tag == "rss":
        channel = root.find("channel")
        if channel is None:
            raise MappingError("RSS document without a channel")
        lang = _text(channel.find("language"))
        info = FeedInfo(html_to_text(_text(channel.find("title"))), lang,
                        _text(channel.find("link")) or feed_url,
                        updated(_text(channel.find("lastBuildDate")) or _text(channel.find("pubDate"))))
        return info, list(_rss_items(channel.findall("item"), feed_url, lang))
    if root.tag == f"{RDF}RDF":
        channel = root.find(f"{RSS1}channel")
        lang = _text(channel.find(f"{DC}language")) if channel is not None else ""
        title = _text(channel.find(f"{RSS1}title")) if channel is not None else ""
        info = FeedInfo(html_to_text(title), lang, feed_url,
                        updated(_text(channel.find(f"{DC}date")) if channel is not None else ""))
        return info, list(_rss_items(root.findall(f"{RSS1}item"), feed_url, lang))
    if root.tag == f"{ATOM}feed":
        lang = root.get(XML_LANG) or ""
        info = FeedInfo(_atom_content(root.find(f"{ATOM}title")), lang,
                        _atom_link(root, feed_url) or feed_url, updated(_text(root.find(f"{ATOM}updated"))))
        return info, list(_atom_items(root, feed_url, lang))
    raise MappingError(f"not an RSS or Atom document (root element {root.tag[:60]!r})")


def map_item(item: RawItem, feed: FeedInfo, *, fallback_time: datetime) -> CollectedPost:
    """A feed item as a post. Undated items get the feed's date or the fetch time, flagged in metadata."""
    if not item.external_id:
        raise MappingError("item has no guid, id or link")
    metadata = {"feed_title": feed.title} if feed.title else {}
    if item.published:
        created = parse_datetime(item.published)
    else:
        created = feed.updated or fallback_time
        metadata["date_estimated"] = "true"
    if item.categories:
        metadata["categories"] = ", ".join(item.categories)[:500]
    # Long guids (some feeds use the full URL with tracking parameters) are hashed to fit the id limit.
    external_id = item.external_id if len(item.external_id) <= 200 else \
        "sha256:" + hashlib.sha256(item.external_id.encode("utf-8")).hexdigest()
    return CollectedPost(
        platform=PLATFORM,
        external_id=external_id,
        title=item.title,
        text=item.text,
        created_at=created,
        author=Author(id=item.author, handle=item.author, display_name=item.author),
        engagement=Engagement(replies=count(item.comments) if item.comments.strip().isdigit() else 0),
        url=item.link,
        lang_hint=item.lang.strip(),
        metadata=metadata,
    )


@dataclass(frozen=True)
class _State:
    etag: str | None = None
    last_modified: str | None = None
    seen: tuple[str, ...] = ()
    not_before: float | None = None

    @classmethod
    def load(cls, cursor: Cursor | None, *, not_before: float) -> _State:
        if cursor is None:
            return cls(not_before=not_before)
        try:
            if cursor.get("v") != CURSOR_VERSION or cursor.get("kind") != "rss":
                raise ValueError(f"expected a v{CURSOR_VERSION} rss cursor")
            seen = cursor.get("seen") or []
            if not isinstance(seen, list):
                raise ValueError("seen must be a list")
            nb = cursor.get("not_before")
            return cls(cursor.get("etag"), cursor.get("last_modified"), tuple(str(s) for s in seen),
                       None if nb is None else float(nb))
        except (TypeError, ValueError, AttributeError) as exc:
            raise InvalidCursorError(f"unusable cursor: {exc}") from None

    def dump(self) -> Cursor:
        return {"v": CURSOR_VERSION, "kind": "rss", "etag": self.etag, "last_modified": self.last_modified,
                "seen": list(self.seen), "not_before": self.not_before}


class _BasicAuth(StaticHeaderAuth):
    def __init__(self, credentials: RssCredentials) -> None:
        token = f"{credentials.username}:{credentials.password.get_secret_value()}"
        super().__init__("Authorization", SecretStr(base64.b64encode(token.encode()).decode("ascii")),
                         prefix="Basic ")
        self._password = credentials.password.get_secret_value()

    def secret_values(self) -> list[str]:
        return [*super().secret_values(), self._password]


class RssConnector(HttpConnector):
    platform: ClassVar[str] = PLATFORM
    config_model = RssConfig
    credentials_model = RssCredentials
    credential_url_fields = ("feed_url",)

    def __init__(self, config: RssConfig, credentials: RssCredentials | None = None, **kwargs: Any) -> None:
        super().__init__(config, credentials, **kwargs)
        self._auth = _BasicAuth(credentials) if credentials else None

    async def fetch(self, cursor: Cursor | None, *, limit: int) -> FetchResult:
        now = self.clock.time()
        state = _State.load(cursor, not_before=now - self.backfill_s())
        headers = {"Accept": ACCEPT}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        response = await self.api.send("GET", self.config.feed_url, headers=headers, auth=self._auth,
                                       accept=(200, 304))
        if response.status_code == 304:
            logger.debug("rss: %s not modified", redact_url(response.url))
            return FetchResult([], state.dump())
        try:
            root = parse_xml(response.content)
            feed, items = parse_feed(root, str(response.url))
        except (ET.ParseError, UnsafeXmlError, MappingError) as exc:
            raise ResponseFormatError(f"feed is not usable XML: {exc}"[:300], platform=PLATFORM) from None
        fallback = datetime.fromtimestamp(now, tz=UTC)
        posts, errors = mapped(PLATFORM, items, lambda i: map_item(i, feed, fallback_time=fallback),
                               id_of=lambda i: i.external_id)
        seen = set(state.seen)
        newly_seen: list[str] = []
        fresh: list[CollectedPost] = []
        for raw, post in zip(items, posts, strict=True):
            ext = post.external_id if post is not None else raw.external_id
            if not ext or ext in seen:
                continue
            seen.add(ext)
            if post is None:
                # Malformed: remembered so that it is reported once, not on every poll.
                newly_seen.append(ext)
            elif state.not_before is not None and post.created_at.timestamp() < state.not_before:
                newly_seen.append(ext)  # older than the first run's backfill window
            else:
                fresh.append(post)
        errors = [e for e in errors if not e.external_id or e.external_id not in state.seen]
        # Oldest first, so that a batch cut by the limit leaves the newest for the next call.
        fresh.sort(key=lambda p: p.created_at)
        batch, rest = fresh[:max(1, limit)], fresh[max(1, limit):]
        newly_seen.extend(p.external_id for p in batch)
        remembered = (list(state.seen) + newly_seen)[-MAX_SEEN:]
        validators: Mapping[str, str | None] = {"etag": None, "last_modified": None}
        if not rest:
            validators = {"etag": response.headers.get("etag"),
                          "last_modified": response.headers.get("last-modified")}
        next_state = _State(validators["etag"], validators["last_modified"], tuple(remembered), None)
        logger.debug("rss: %d items, %d new (%d left for the next call), %d errors", len(items), len(batch),
                     len(rest), len(errors))
        return FetchResult(batch, next_state.dump(), errors, has_more=bool(rest))
