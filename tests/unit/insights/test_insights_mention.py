"""Enriched post → stored mention document → API Mention, and what makes a post invalid."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dengar.v1 import common_pb2
from dengar_insights.domain.mention import InvalidPost
from dengar_insights.entrypoints.protos import mention_to_proto, parse_enriched, prepare_enriched


def test_document_fields(make_enriched) -> None:
    e = make_enriched(text="Pengiriman LAMBAT sekali", sentiment=common_pb2.SENTIMENT_NEGATIVE,
                      likes=3, reposts=2, replies=1, quotes=4, metadata={"source.url": "u"},
                      aspects=(("delivery", common_pb2.SENTIMENT_NEGATIVE),
                               ("delivery", common_pb2.SENTIMENT_POSITIVE)))
    m = prepare_enriched(e, subject_tenant="acme")
    f = m.fields
    assert m.id == e.post.id and m.tenant_id == "acme"
    assert f["engagement_score"] == 3 + 2 * 2 + 1 + 4
    assert f["created_at"] == datetime(2026, 11, 22, 5, 30, tzinfo=UTC)
    assert f["sentiment"]["label"] == "negative" and f["language"] == "id"
    assert {"pengiriman", "lambat", "sekali", "promo", "toko_id"} <= set(f["terms"])
    assert f["metadata"] == [{"k": "source.url", "v": "u"}]
    # Both aspect results are stored, but the mention counts once for "delivery" in the rollups.
    assert len(f["aspects"]) == 2
    assert sum(c.startswith("aspects.delivery.") for c in m.contribution.counters) == 1


def test_round_trip_to_proto(make_enriched) -> None:
    e = make_enriched(metadata={"a.b": "c"}, title="T")
    m = prepare_enriched(e)
    doc = {"_id": m.id, **m.fields, "updated_at": datetime(2026, 11, 22, 6, tzinfo=UTC)}
    out = mention_to_proto(doc)
    assert out.id == m.id and out.tenant_id == "acme"
    assert out.post == e.post
    assert out.enrichment == e.enrichment
    assert out.updated_at.ToDatetime(tzinfo=UTC) == datetime(2026, 11, 22, 6, tzinfo=UTC)


def test_same_payload_same_hash_and_embedding_ignored(make_enriched) -> None:
    a, b = make_enriched(), make_enriched()
    b.enrichment.embedding.extend([0.1, 0.2])
    assert prepare_enriched(a).content_hash == prepare_enriched(b).content_hash
    c = make_enriched(likes=1)
    assert prepare_enriched(c).content_hash != prepare_enriched(a).content_hash


def test_compact_embedding_is_stored_and_counts_as_content(make_enriched) -> None:
    a, b = make_enriched(), make_enriched()
    assert "embedding" not in prepare_enriched(a).fields
    b.enrichment.embedding_i8 = bytes(range(128)) * 3
    stored = prepare_enriched(b)
    assert stored.fields["embedding"] == bytes(range(128)) * 3
    # A re-enrichment whose vector moved is a refresh of the stored one, not a duplicate.
    assert stored.content_hash != prepare_enriched(a).content_hash


def test_unspecified_sentiment_uses_the_scores(make_enriched) -> None:
    e = make_enriched(sentiment=common_pb2.SENTIMENT_UNSPECIFIED)
    assert prepare_enriched(e).fields["sentiment"]["label"] == "positive"


def test_missing_created_at_falls_back_to_collected_at(make_enriched) -> None:
    e = make_enriched()
    e.post.ClearField("created_at")
    expected = prepare_enriched(make_enriched()).fields["collected_at"]
    assert prepare_enriched(e).fields["created_at"] == expected


def _break(e: common_pb2.EnrichedPost, how: str) -> None:
    if how == "no_post":
        e.ClearField("post")
    elif how == "bad_tenant":
        e.post.tenant_id = "Acme!"
    elif how == "id_mismatch":
        e.post.id = "0" * 24
    elif how == "no_external_id":
        e.post.external_id = ""
    elif how == "no_platform":
        e.post.platform = common_pb2.PLATFORM_UNSPECIFIED
    elif how == "no_times":
        e.post.ClearField("created_at")
        e.post.ClearField("collected_at")


@pytest.mark.parametrize("how", ["no_post", "bad_tenant", "id_mismatch", "no_external_id",
                                 "no_platform", "no_times"])
def test_invalid_posts(make_enriched, how: str) -> None:
    e = make_enriched()
    _break(e, how)
    with pytest.raises(InvalidPost):
        prepare_enriched(e)


def test_subject_tenant_must_match(make_enriched) -> None:
    with pytest.raises(InvalidPost, match="subject"):
        prepare_enriched(make_enriched(tenant="acme"), subject_tenant="other")


def test_unparseable_payload() -> None:
    with pytest.raises(InvalidPost):
        parse_enriched(b"\xff\xff\xff not a protobuf")


def test_absent_emotion_stays_absent(make_enriched) -> None:
    e = make_enriched()
    e.enrichment.ClearField("emotion")
    m = prepare_enriched(e)
    assert not mention_to_proto({"_id": m.id, **m.fields}).enrichment.HasField("emotion")
