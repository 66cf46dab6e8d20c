"""Backfill jobs (pure): versions, the job's life, the tags a re-tag wants, and a stored mention read
back the way it was written (its contribution, its match document)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from dengar.v1 import common_pb2
from dengar_common.enums import platform_name
from dengar_common.ids import mention_id
from dengar_common.query import MatchDoc, compile_query
from dengar_insights.domain.backfill import (
    DONE,
    FAILED,
    PENDING,
    RUNNING,
    Cursor,
    advanced,
    desired_tags,
    finished,
    job_id,
    retried,
    scheduled,
    started,
    supersedes,
    tag_field,
)
from dengar_insights.domain.categories import Category, build_set
from dengar_insights.domain.mention import match_doc_of, stored_contribution
from dengar_insights.entrypoints.protos import prepare_enriched
from dengar_insights.service_layer.backfill import BackfillTargetError, QueryTargets, query_spec

NOW = datetime(2026, 12, 1, tzinfo=UTC)
NEG, NEU, POS = common_pb2.SENTIMENT_NEGATIVE, common_pb2.SENTIMENT_NEUTRAL, common_pb2.SENTIMENT_POSITIVE


def job(version: int = 1, **spec: object):
    return scheduled("acme", "query", "q_a", version, spec or query_spec(expression="acme", enabled=True,
                                                                        deleted=False), NOW)


def test_only_a_newer_version_restarts_a_job() -> None:
    assert supersedes(1, None)
    current = job(2)
    assert supersedes(3, current)
    assert not supersedes(2, current)  # a repeated event
    assert not supersedes(1, current)  # a late one
    fresh = job(3)
    assert (fresh.state, fresh.cursor, fresh.scanned, fresh.started_at) == (PENDING, None, 0, None)
    assert fresh.id == job_id("acme", "query", "q_a") == "acme|query|q_a"


def test_kinds_and_versions_are_checked() -> None:
    assert tag_field("query") == "query_ids" and tag_field("category") == "category_ids"
    with pytest.raises(ValueError, match="unknown backfill kind"):
        scheduled("acme", "source", "s1", 1, {}, NOW)
    with pytest.raises(ValueError, match="version"):
        scheduled("acme", "query", "q_a", 0, {}, NOW)


def test_the_window_is_fixed_at_the_first_start_and_kept_on_resume() -> None:
    since = NOW - timedelta(days=30)
    run = started(job(), now=NOW, since=since, total=10)
    assert (run.state, run.since, run.started_at, run.total) == (RUNNING, since, NOW, 10)
    run = advanced(run, Cursor(NOW, "m5"), scanned=5, matched=2, changed=1)
    # A restart later resumes: same window, same start, same progress.
    later = NOW + timedelta(hours=1)
    resumed = started(run, now=later, since=later - timedelta(days=30), total=99)
    assert (resumed.since, resumed.started_at, resumed.total) == (since, NOW, 10)
    assert resumed.cursor == Cursor(NOW, "m5")
    assert (resumed.scanned, resumed.matched, resumed.changed) == (5, 2, 1)


def test_progress_counts_up_and_done_fixes_the_total() -> None:
    run = started(job(), now=NOW, since=None, total=3)
    run = advanced(run, Cursor(NOW, "a"), scanned=2, matched=2, changed=1)
    # More mentions than estimated (new ones arrived): the total follows.
    run = advanced(run, Cursor(NOW, "b"), scanned=2, matched=0, changed=0)
    assert (run.scanned, run.total, run.matched, run.changed) == (4, 4, 2, 1)
    end = finished(run, NOW)
    assert (end.state, end.total, end.finished_at, end.active) == (DONE, 4, NOW, False)


def test_failed_batches_retry_then_fail_and_a_checkpoint_resets_them() -> None:
    run = started(job(), now=NOW, since=None, total=3)
    once = retried(run, "store down", 3, NOW)
    assert (once.state, once.attempts, once.error) == (RUNNING, 1, "store down")
    assert advanced(once, Cursor(NOW, "a"), scanned=1, matched=0, changed=0).attempts == 0
    thrice = retried(retried(once, "x", 3, NOW), "still down", 3, NOW)
    assert (thrice.state, thrice.error, thrice.finished_at) == (FAILED, "still down", NOW)


@pytest.mark.parametrize(("current", "wanted", "expected"), [
    (["q_b"], True, ["q_b", "q_a"]),
    (["q_a", "q_b"], True, None),
    (["q_b", "q_a"], False, ["q_b"]),
    ([], False, None),
])
def test_desired_tags(current: list[str], wanted: bool, expected: list[str] | None) -> None:
    assert desired_tags(current, "q_a", wanted) == expected


def _post(**kw: object) -> common_pb2.EnrichedPost:
    post = common_pb2.Post(
        id=mention_id("acme", "reddit", "1"), tenant_id="acme", platform=common_pb2.PLATFORM_REDDIT,
        external_id="1", text="Paket @GoCepat_ID telat lagi", title="Keluhan", lang_hint="id-ID",
        url="https://example.com/x", author=common_pb2.Author(handle="@Budi"), **kw)
    post.created_at.FromDatetime(NOW)
    enr = common_pb2.Enrichment(
        language="en", sentiment=common_pb2.SentimentResult(label=NEG, negative=0.9),
        aspects=[common_pb2.AspectResult(name="delivery", polarity=NEG, confidence=0.6),
                 common_pb2.AspectResult(name="delivery", polarity=POS, confidence=0.9),
                 common_pb2.AspectResult(name="price", polarity=NEU, confidence=0.5)])
    return common_pb2.EnrichedPost(post=post, enrichment=enr)


def test_a_stored_mention_gives_back_the_contribution_it_was_stored_with() -> None:
    m = prepare_enriched(_post(query_ids=["q_b", "q_a"]))
    doc = {"_id": m.id, **m.fields}
    assert stored_contribution(doc) == m.contribution
    # With other tags: the same as a post that had arrived with them.
    other = prepare_enriched(_post(query_ids=["q_c"]))
    assert stored_contribution(doc, query_ids=["q_c"]) == other.contribution


def test_a_query_retag_keeps_the_mentions_categories_and_the_reverse() -> None:
    late = build_set([Category(id="c_late", tenant_id="acme", name="Late", expression="telat")])
    m = prepare_enriched(_post(query_ids=["q_a"]), categories=late)
    doc = {"_id": m.id, **m.fields}
    assert doc["category_ids"] == ["c_late"] and stored_contribution(doc) == m.contribution
    # Re-tagging one kind leaves the other kind's counters where they are.
    both = prepare_enriched(_post(query_ids=["q_c"]), categories=late)
    assert stored_contribution(doc, query_ids=["q_c"]) == both.contribution
    neither = prepare_enriched(_post(query_ids=["q_a"]))
    assert stored_contribution(doc, category_ids=[]) == neither.contribution


def test_a_stored_mention_matches_as_the_collector_matched_the_post() -> None:
    e = _post()
    p = e.post
    # The collector's view (service_layer/post_proto.match_doc): the language hint, not the detected one.
    collector_view = MatchDoc.build(p.text, title=p.title, platform=platform_name(p.platform),
                                    lang=p.lang_hint, author=p.author.handle, url=p.url)
    stored_view = match_doc_of(prepare_enriched(e).fields)
    assert stored_view == collector_view
    for expr, expected in [("@gocepat_id AND telat", True), ("lang:id", True), ("lang:en", False),
                           ("platform:reddit", True), ("author:budi", True), ("has:link", True),
                           ('"keluhan paket"', False), ("keluhan", True)]:
        assert compile_query(expr).matches(stored_view) is expected, expr


async def test_query_targets() -> None:
    targets = QueryTargets()
    doc = {"text": "acme telat", "platform": "x"}
    matcher = await targets.matcher(job())
    assert matcher is not None and matcher(doc) and not matcher({**doc, "text": "other"})
    # Disabled or deleted: tags nothing, so the tag goes everywhere.
    assert await targets.matcher(job(expression="acme", enabled=False, deleted=False)) is None
    assert await targets.matcher(job(expression="acme", enabled=True, deleted=True)) is None
    with pytest.raises(BackfillTargetError, match="does not compile"):
        await targets.matcher(job(expression="acme AND", enabled=True, deleted=False))


def test_a_job_is_a_value() -> None:
    a = job()
    assert replace(a, state=RUNNING) != a and replace(a, state=RUNNING).target_version == 1
