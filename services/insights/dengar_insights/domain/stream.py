"""The live mention stream: positions, the filter applied to one stored mention, de-duplication.

Design (see also ``service_layer/stream.py``): after a mention is inserted or changed, insights
publishes a small "mention stored" event (``{"id", "content_hash"}``) on the tenant's subject of
the mention-event JetStream stream, with ``Nats-Msg-Id = <tenant>:<mention id>:<content hash>``.
The event's stream sequence is its position: one total order shared by every insights replica
(whichever replica stored the mention, whichever one serves the stream), kept by the server for
two hours, so ``resume_after`` a position resumes exactly after it. The content hash is the
mention's content revision: the server drops a second publication of the same revision within
its one-hour duplicate window, and a stream drops any revision it has already sent.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from dengar_common.errors import InvalidArgument
from dengar_insights.domain import workflow
from dengar_insights.domain.search import SearchQuery

# Positions are JetStream sequences (uint64): at most 20 digits.
MAX_POSITION_DIGITS = 20
# The store keeps milliseconds: the same 1 ms slack as the search's lower bound.
_TICK = timedelta(milliseconds=1)


@dataclass(frozen=True)
class MentionEvent:
    """One "mention stored" event at ``position`` (its stream sequence)."""

    position: int
    mention_id: str
    content_hash: str


def parse_position(value: str, *, field: str = "resume_after") -> int | None:
    """The sequence in a position string; None for an empty one; InvalidArgument otherwise."""
    value = value.strip()
    if not value:
        return None
    if len(value) > MAX_POSITION_DIGITS or not value.isascii() or not value.isdigit():
        raise InvalidArgument(f"{field} is not a stream position", field=field)
    position = int(value)
    if position >= 2**64:
        raise InvalidArgument(f"{field} is out of range", field=field)
    return position


def format_position(position: int) -> str:
    return str(position)


def _any(doc_values: Any, wanted: tuple[str, ...]) -> bool:
    if isinstance(doc_values, str):
        return doc_values in wanted
    return any(v in wanted for v in doc_values or ())


def matches(query: SearchQuery, doc: Mapping[str, Any]) -> bool:
    """Whether the stored mention ``doc`` is in ``query``'s results (the search's filter, in memory)."""
    created: datetime | None = doc.get("created_at")
    if query.start is not None and (created is None or created <= query.start - _TICK):
        return False
    if query.end is not None and (created is None or created >= query.end):
        return False
    checks: tuple[tuple[Any, tuple[str, ...]], ...] = (
        ((doc.get("sentiment") or {}).get("label"), query.sentiments),
        (doc.get("platform"), query.platforms),
        (doc.get("language"), query.languages),
        ([a.get("name") for a in doc.get("aspects") or ()], query.aspects),
        (doc.get("query_ids"), query.query_ids),
        (doc.get("category_ids"), query.category_ids),
    )
    if query.states or query.assignees or query.tags:
        # The inbox workflow as it is when the event is read (a mention never touched is open).
        wf = workflow.current(doc.get("workflow"))
        checks += ((wf["state"], query.states), (wf["assignee"] or None, query.assignees),
                   (wf["tags"], query.tags))
    for values, wanted in checks:
        if wanted and not _any(values, wanted):
            return False
    terms = set(doc.get("terms") or ())
    return all(t in terms for t in query.terms)


class SentRevisions:
    """The (mention id, content revision) pairs a stream has sent, the most recent ``capacity``."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()

    def first_time(self, mention_id: str, revision: str) -> bool:
        """True (and remembered) the first time a pair is offered."""
        key = (mention_id, revision)
        if key in self._seen:
            self._seen.move_to_end(key)
            return False
        self._seen[key] = None
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        return True
