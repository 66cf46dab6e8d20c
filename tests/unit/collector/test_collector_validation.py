"""Validation and normalisation of pushed posts (pure domain, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest

from dengar.v1 import collector_pb2, common_pb2
from dengar_collector.adapters.nats_publisher import msg_id
from dengar_collector.domain.ingest import (
    MAX_POSTS_PER_REQUEST,
    RequestError,
    check_request,
    plan_ingest,
)
from dengar_collector.domain.ingest import validate_post as validate_fields
from dengar_collector.entrypoints.grpc_api import CollectorServicer
from dengar_collector.service_layer.ingest_service import IngestService
from dengar_collector.service_layer.ports import PublishError
from dengar_collector.service_layer.post_proto import normalised, post_fields
from dengar_common.errors import DomainError
from dengar_common.grpcerrors import status_of
from dengar_common.ids import mention_id
from dengar_common.post_contract import MAX_EXTERNAL_ID_CHARS, MAX_METADATA_ENTRIES, MAX_METADATA_VALUE_CHARS

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def make_post(**overrides: object) -> common_pb2.Post:
    post = common_pb2.Post(platform=common_pb2.PLATFORM_X, external_id="1001", text="Kirimin telat lagi 😡")
    post.created_at.FromDatetime(NOW - timedelta(hours=1))
    for key, value in overrides.items():
        if key == "created_at":
            post.ClearField("created_at")
            if value is not None:
                post.created_at.FromDatetime(value)  # type: ignore[arg-type]  # bad on purpose
        else:
            setattr(post, key, value)
    return post


def validate_post(post: common_pb2.Post, *, now: datetime) -> list[tuple[str, str]]:
    return validate_fields(post_fields(post), now=now)


def plan_and_normalise(tenant: str, posts: list[common_pb2.Post]) -> tuple[object, list[common_pb2.Post]]:
    plan = plan_ingest(tenant, [post_fields(p) for p in posts], now=NOW)
    return plan, [normalised(posts[a.index], tenant_id=tenant, post_id=a.post_id, now=NOW)
                  for a in plan.to_publish]


def fields(post: common_pb2.Post) -> list[str]:
    return [f for f, _ in validate_post(post, now=NOW)]


def test_a_plain_post_is_valid() -> None:
    assert validate_post(make_post(), now=NOW) == []


@pytest.mark.parametrize("overrides,field", [
    ({"platform": common_pb2.PLATFORM_UNSPECIFIED}, "platform"),
    ({"platform": 999}, "platform"),
    ({"external_id": ""}, "external_id"),
    ({"external_id": "   "}, "external_id"),
    ({"external_id": "x" * (MAX_EXTERNAL_ID_CHARS + 1)}, "external_id"),
    ({"external_id": "12\r\nNats-Msg-Id: evil"}, "external_id"),
    ({"text": "  \n\t "}, "text"),
    ({"text": "a" * 40_001}, "text"),
    ({"title": "t" * 1_001}, "title"),
    ({"created_at": None}, "created_at"),
    ({"created_at": datetime(1999, 12, 31, 23, 59, tzinfo=UTC)}, "created_at"),
    ({"created_at": datetime(1970, 1, 1, tzinfo=UTC)}, "created_at"),
    ({"created_at": NOW + timedelta(days=1, minutes=1)}, "created_at"),
])
def test_invalid_fields_are_named(overrides: dict[str, object], field: str) -> None:
    assert fields(make_post(**overrides)) == [field]


def test_limits_are_inclusive() -> None:
    post = make_post(external_id="x" * MAX_EXTERNAL_ID_CHARS, text="a" * 40_000,
                     created_at=NOW + timedelta(hours=23))
    assert validate_post(post, now=NOW) == []
    assert validate_post(make_post(created_at=datetime(2000, 1, 1, tzinfo=UTC)), now=NOW) == []


def test_a_title_stands_in_for_missing_text() -> None:
    assert fields(make_post(text="", title="Kirimin down di Jakarta")) == []


def test_negative_engagement_and_followers() -> None:
    post = make_post()
    post.engagement.likes = -1
    post.engagement.views = -5
    post.author.followers = -2
    assert fields(post) == ["engagement.likes", "engagement.views", "author.followers"]


def test_every_problem_of_a_post_is_reported() -> None:
    post = make_post(platform=0, external_id="", text="")
    assert fields(post) == ["platform", "external_id", "text"]


def test_oversized_metadata_is_rejected() -> None:
    post = make_post()
    for i in range(600):
        post.metadata[f"k{i}"] = "v" * 1000
    assert fields(post) == ["metadata"]


def test_a_post_too_large_to_publish_is_rejected_even_within_the_field_limits() -> None:
    post = make_post()
    for i in range(MAX_METADATA_ENTRIES):
        # 4 bytes a character: 64 x 2048 x 4 bytes is 512 KiB on its own.
        post.metadata[f"k{i}"] = "😡" * MAX_METADATA_VALUE_CHARS
    assert fields(post) == ["post"]


@pytest.mark.parametrize("tenant", ["", "Acme", "a.b", "a b", "x" * 64])
def test_bad_tenant_is_a_request_error(tenant: str) -> None:
    with pytest.raises(RequestError, match="tenant_id"):
        check_request(tenant, 1)


def test_batch_size_limit() -> None:
    check_request("acme", MAX_POSTS_PER_REQUEST)
    check_request("acme", 0)
    with pytest.raises(RequestError, match="too many posts"):
        check_request("acme", MAX_POSTS_PER_REQUEST + 1)


def test_plan_normalises_accepted_posts_and_reports_rejects_by_index() -> None:
    good = make_post(tenant_id="someone-else", source_id="")
    bad = make_post(external_id="")
    sourced = make_post(external_id="1002", source_id="rss:kabar")
    plan, to_publish = plan_and_normalise("acme", [good, bad, sourced])
    assert (plan.accepted, plan.rejected, plan.duplicates) == (2, 1, 0)
    assert [(e.index, e.field) for e in plan.errors] == [(1, "external_id")]
    first, second = to_publish
    assert first.id == mention_id("acme", "x", "1001")
    assert first.tenant_id == "acme"
    assert first.source_id == "api"
    assert second.source_id == "rss:kabar"
    assert first.collected_at.ToDatetime(tzinfo=UTC) == NOW
    assert plan.post_ids == [first.id, second.id]
    assert msg_id(first) == "acme:x:1001"
    # The request's posts are left untouched.
    assert good.tenant_id == "someone-else" and not good.id


def test_plan_publishes_a_repeated_post_once_but_answers_for_both() -> None:
    a = make_post()
    b = make_post(text="edited later, same natural key")
    other_platform = make_post(platform=common_pb2.PLATFORM_MASTODON)
    plan, to_publish = plan_and_normalise("acme", [a, b, other_platform])
    assert plan.accepted == 3 and plan.duplicates == 1
    assert [(p.platform, p.text) for p in to_publish] == [
        (common_pb2.PLATFORM_X, a.text), (common_pb2.PLATFORM_MASTODON, a.text)]
    assert plan.post_ids[0] == plan.post_ids[1] != plan.post_ids[2]


class _Context:
    """Servicers raise DomainErrors instead of aborting (the kit's interceptor maps them)."""

    async def abort(self, code: grpc.StatusCode, details: str) -> None:
        raise AssertionError(f"servicer aborted with {code}: {details}")


class _FailingPublisher:
    async def publish(self, tenant_id: str, posts: object) -> int:
        raise PublishError("nats: timeout")


class _RecordingPublisher:
    def __init__(self) -> None:
        self.calls: list[tuple[str, list[common_pb2.Post]]] = []

    async def publish(self, tenant_id: str, posts: list[common_pb2.Post]) -> int:
        self.calls.append((tenant_id, list(posts)))
        return len(posts)


async def test_servicer_maps_publish_failure_to_unavailable() -> None:
    servicer = CollectorServicer(IngestService(_FailingPublisher(), clock=lambda: NOW))
    req = collector_pb2.IngestPostsRequest(tenant_id="acme", posts=[make_post()])
    with pytest.raises(DomainError) as info:
        await servicer.IngestPosts(req, _Context())  # type: ignore[arg-type]  # bad on purpose
    assert status_of(info.value) == grpc.StatusCode.UNAVAILABLE


async def test_servicer_answers_per_item() -> None:
    publisher = _RecordingPublisher()
    servicer = CollectorServicer(IngestService(publisher, clock=lambda: NOW))
    req = collector_pb2.IngestPostsRequest(tenant_id="acme", posts=[make_post(text=""), make_post()])
    resp = await servicer.IngestPosts(req, _Context())  # type: ignore[arg-type]  # bad on purpose
    assert (resp.accepted, resp.rejected) == (1, 1)
    assert [(e.index, e.field) for e in resp.errors] == [(0, "text")]
    assert resp.post_ids == [mention_id("acme", "x", "1001")]
    assert [len(posts) for _, posts in publisher.calls] == [1]


async def test_servicer_rejects_malformed_request_before_publishing() -> None:
    publisher = _RecordingPublisher()
    servicer = CollectorServicer(IngestService(publisher, clock=lambda: NOW))
    req = collector_pb2.IngestPostsRequest(tenant_id="ACME", posts=[make_post()])
    with pytest.raises(DomainError) as info:
        await servicer.IngestPosts(req, _Context())  # type: ignore[arg-type]  # bad on purpose
    assert status_of(info.value) == grpc.StatusCode.INVALID_ARGUMENT
    assert publisher.calls == []
