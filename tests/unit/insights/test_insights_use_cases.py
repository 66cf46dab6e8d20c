"""The read use cases on in-memory ports: validation names the field, store outages are Unavailable."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo.errors import DuplicateKeyError, ServerSelectionTimeoutError

from dengar_common.errors import InvalidArgument, NotFound, Unavailable
from dengar_insights.adapters.store import store_errors
from dengar_insights.service_layer.queries import (
    InsightsQueries,
    SearchRequest,
    SeriesRequest,
    ShareRequest,
    SummaryRequest,
)

DAY = datetime(2026, 11, 22, tzinfo=UTC)


class FakeMentions:
    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.docs = docs

    async def get(self, tenant_id: str, mention_id: str) -> dict[str, Any] | None:
        return next((d for d in self.docs if d["tenant_id"] == tenant_id and d["_id"] == mention_id), None)

    async def search(self, tenant_id: str, query: Any, after: Any, limit: int) -> list[dict[str, Any]]:
        return [d for d in self.docs if d["tenant_id"] == tenant_id][:limit]


class FakeRollups:
    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.docs = docs

    async def read(self, tenant_id: str, interval: str, start: datetime, end: datetime,
                   fields: Any = None) -> list[dict[str, Any]]:
        return [d for d in self.docs if d["interval"] == interval and start <= d["bucket_start"] < end]


def queries(mentions: Sequence[dict[str, Any]] = (), rollups: Sequence[dict[str, Any]] = (),
            **kw: Any) -> InsightsQueries:
    # The fakes implement only the port methods these reads call.
    return InsightsQueries(FakeMentions(list(mentions)), FakeRollups(list(rollups)), **kw)


def bucket(interval: str, start: datetime, volume: int, **sentiment: int) -> dict[str, Any]:
    return {"interval": interval, "bucket_start": start, "volume": volume, "sentiment": sentiment,
            "queries": {"q_a": {"volume": volume, "sentiment": sentiment}}}


async def test_get_mention_is_tenant_scoped() -> None:
    q = queries([{"_id": "m1", "tenant_id": "acme"}])
    assert (await q.get_mention("acme", "m1"))["_id"] == "m1"
    with pytest.raises(NotFound):
        await q.get_mention("other", "m1")
    with pytest.raises(InvalidArgument) as err:
        await q.get_mention("acme", "")
    assert err.value.field == "id"


@pytest.mark.parametrize("request_, field", [
    (SeriesRequest("acme", DAY, None), "end_time"),
    (SeriesRequest("acme", None, DAY), "start_time"),
    (SeriesRequest("acme", DAY, DAY), "end_time"),
    (SeriesRequest("acme", DAY, DAY + timedelta(days=1), metric="reach"), "metric"),
    (SeriesRequest("acme", DAY, DAY + timedelta(days=1), query_id=" "), "query_id"),
])
async def test_series_validation_names_the_field(request_: SeriesRequest, field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        await queries().time_series(request_)
    assert err.value.field == field


async def test_series_zero_fills_and_limits_buckets() -> None:
    q = queries(rollups=[bucket("hour", DAY + timedelta(hours=1), 3, negative=1, positive=2)], max_buckets=3)
    series = await q.time_series(SeriesRequest("acme", DAY, DAY + timedelta(hours=3), metric="sentiment",
                                               interval="hour"))
    assert [(p.volume, p.negative, p.positive) for p in series.points] == [(0, 0, 0), (3, 1, 2), (0, 0, 0)]
    assert series.total == 3
    with pytest.raises(InvalidArgument) as err:
        await q.time_series(SeriesRequest("acme", DAY, DAY + timedelta(hours=4), interval="hour"))
    assert err.value.reason == "too-many-buckets"


async def test_summary_and_share_of_voice_read_the_rollups() -> None:
    q = queries(rollups=[bucket("day", DAY, 4, negative=1, positive=3)])
    s = await q.summary(SummaryRequest("acme", DAY, DAY + timedelta(days=1), query_id="q_a"))
    assert (s.volume, s.negative, s.positive) == (4, 1, 3)
    sov = await q.share_of_voice(ShareRequest("acme", DAY, DAY + timedelta(days=1), query_ids=["q_a", "q_b"],
                                              interval="day"))
    assert [(i.query_id, i.volume, i.share) for i in sov.items] == [("q_a", 4, 1.0), ("q_b", 0, 0.0)]
    assert [[p.volume for p in points] for points in sov.series] == [[4], [0]]
    with pytest.raises(InvalidArgument) as err:
        await q.share_of_voice(ShareRequest("acme", DAY, DAY + timedelta(days=1), query_ids=["q.a", "q_a"]))
    assert err.value.field == "query_ids"


async def test_search_pages_and_refuses_foreign_tokens() -> None:
    docs = [{"_id": f"{i:024x}", "tenant_id": "acme", "created_at": DAY} for i in range(3)]
    q = queries(docs)
    page = await q.search(SearchRequest("acme", page_size=2))
    assert len(page.mentions) == 2 and page.next_page_token
    with pytest.raises(InvalidArgument) as err:
        await q.search(SearchRequest("acme", page_size=2, sort="time_asc", page_token=page.next_page_token))
    assert err.value.field == "page_token"
    with pytest.raises(InvalidArgument) as err:
        await q.search(SearchRequest("acme", query="?!"))
    assert err.value.field == "query"


async def test_store_errors_become_unavailable_once() -> None:
    @store_errors
    class Repo:
        async def down(self) -> None:
            raise ServerSelectionTimeoutError("no servers")

        async def handles_its_own(self) -> bool:
            try:
                raise DuplicateKeyError("dup")
            except DuplicateKeyError:
                return False

    with pytest.raises(Unavailable) as err:
        await Repo().down()
    assert isinstance(err.value.__cause__, ServerSelectionTimeoutError)
    assert await Repo().handles_its_own() is False
