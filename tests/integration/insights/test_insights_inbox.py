"""The monitoring inbox against the real store: versions, bulk, counts, filters, and ingest."""

from __future__ import annotations

from datetime import timedelta

import pytest
from insights_helpers import T0, enriched
from test_insights_ingest import assert_rollups_match_mentions

from dengar.v1 import common_pb2
from dengar_common.errors import InvalidArgument, NotFound
from dengar_insights.adapters.audit import MongoAuditLog
from dengar_insights.adapters.mentions import MentionRepository
from dengar_insights.adapters.rollups import RollupRepository
from dengar_insights.domain.search import TIME_ASC, SearchQuery
from dengar_insights.domain.workflow import WorkflowChange
from dengar_insights.entrypoints.protos import prepare_enriched as prepare
from dengar_insights.service_layer import inbox as inbox_module
from dengar_insights.service_layer.inbox import Inbox, VersionConflict
from dengar_insights.service_layer.ingest import MentionIngestor, Result

TENANT, OTHER = "acme", "globex"


@pytest.fixture
async def env(mongo_client, unique):
    db = mongo_client[f"{unique}_insights"]
    mentions, rollups, audit = MentionRepository(db), RollupRepository(db), MongoAuditLog(db)
    await mentions.ensure_indexes()
    await rollups.ensure_indexes()
    await audit.ensure_indexes()
    ingestor = MentionIngestor(mentions, rollups)
    ids = []
    for i in range(5):
        m = prepare(enriched(TENANT, f"p{i}", created_at=T0 + timedelta(minutes=i)))
        assert await ingestor.ingest(m) == Result.INSERTED
        ids.append(m.id)
    other = prepare(enriched(OTHER, "p0"))
    await ingestor.ingest(other)
    return db, mentions, ingestor, Inbox(mentions, audit), ids, other.id


async def test_versioned_update_conflicts_and_audits(env) -> None:
    _, _, _, inbox, ids, _ = env
    wf = await inbox.update(TENANT, ids[0], WorkflowChange(state="in_progress", assignee="dina"),
                            actor="support-bot", expected_version=0)
    assert (wf["state"], wf["assignee"], wf["version"]) == ("in_progress", "dina", 1)
    with pytest.raises(VersionConflict) as exc:
        await inbox.update(TENANT, ids[0], WorkflowChange(state="resolved"), actor="x",
                           expected_version=0)
    assert exc.value.reason == "version-conflict" and exc.value.field == "version"
    wf = await inbox.update(TENANT, ids[0], WorkflowChange(add_tags=("Refund",), note="called back"),
                            actor="dina-key", expected_version=1)
    assert wf["tags"] == ["refund"] and wf["version"] == 2
    assert [n["text"] for n in wf["notes"]] == ["called back"]
    trail = await inbox.audit(TENANT, ids[0])
    assert [(e["actor"], e["field"], e["old"], e["new"], e["version"]) for e in trail] == [
        ("support-bot", "state", "open", "in_progress", 1),
        ("support-bot", "assignee", "", "dina", 1),
        ("dina-key", "tags", [], ["refund"], 2),
        ("dina-key", "note", None, "called back", 2)]
    # A change that changes nothing keeps the version and writes no audit entry.
    same = await inbox.update(TENANT, ids[0], WorkflowChange(state="in_progress"), actor="y")
    assert same["version"] == 2 and len(await inbox.audit(TENANT, ids[0])) == 4


async def test_tenant_isolation(env) -> None:
    _, _, _, inbox, ids, other_id = env
    with pytest.raises(NotFound):
        await inbox.update(OTHER, ids[0], WorkflowChange(state="resolved"), actor="b")
    with pytest.raises(NotFound):
        await inbox.audit(OTHER, ids[0])
    done, missing = await inbox.bulk_update(TENANT, [ids[1], other_id], WorkflowChange(state="ignored"),
                                            actor="a")
    assert (done, missing) == ([ids[1]], [other_id])
    assert (await inbox.counts(OTHER))["open"] == 1


async def test_bulk_counts_and_filters(env) -> None:
    _, mentions, _, inbox, ids, _ = env
    done, missing = await inbox.bulk_update(TENANT, ids[:3], WorkflowChange(state="resolved",
                                                                            tags=("vip",)), actor="a")
    assert done == ids[:3] and not missing
    await inbox.update(TENANT, ids[3], WorkflowChange(assignee="rudi"), actor="a")
    assert await inbox.counts(TENANT) == {"open": 2, "in_progress": 0, "resolved": 3, "ignored": 0}

    async def found(**kw) -> list[str]:
        docs = await mentions.search(TENANT, SearchQuery(sort=TIME_ASC, **kw), None, 50)
        return [d["_id"] for d in docs]

    assert await found(states=("resolved",)) == ids[:3]
    # Never-touched mentions are open, like ones explicitly assigned but still open.
    assert await found(states=("open",)) == ids[3:]
    assert await found(assignees=("rudi",)) == [ids[3]]
    assert await found(tags=("vip",), states=("resolved", "ignored")) == ids[:3]
    assert await found(tags=("none",)) == []
    with pytest.raises(InvalidArgument) as exc:
        await inbox.bulk_update(TENANT, ids, WorkflowChange(state="done"), actor="a")
    assert exc.value.field == "state"


async def test_ingest_of_a_recollected_post_keeps_the_workflow(env) -> None:
    db, mentions, ingestor, inbox, ids, _ = env
    await inbox.update(TENANT, ids[0], WorkflowChange(state="in_progress", tags=("refund",),
                                                      note="on it"), actor="a")
    rev_before = (await mentions.get_state(TENANT, ids[0]))["rev"]
    # Re-collected later with another sentiment: the rollups move, the workflow stays.
    again = prepare(enriched(TENANT, "p0", sentiment=common_pb2.SENTIMENT_NEGATIVE, text="Telat",
                             collected_at=T0 + timedelta(days=1)))
    assert await ingestor.ingest(again) == Result.UPDATED
    doc = await mentions.get(TENANT, ids[0])
    assert doc["text"] == "Telat"
    assert doc["workflow"]["state"] == "in_progress" and doc["workflow"]["tags"] == ["refund"]
    assert doc["workflow"]["version"] == 1
    assert (await mentions.get_state(TENANT, ids[0]))["rev"] > rev_before
    await assert_rollups_match_mentions(db, TENANT)
    # And a workflow change after the ingest does not disturb the ingest bookkeeping.
    state = await mentions.get_state(TENANT, ids[0])
    await inbox.update(TENANT, ids[0], WorkflowChange(state="resolved"), actor="a", expected_version=1)
    assert await mentions.get_state(TENANT, ids[0]) == state
    await assert_rollups_match_mentions(db, TENANT)


async def test_export_reads_every_match_in_order_in_batches(env) -> None:
    _, mentions, _, inbox, ids, other_id = env
    await inbox.bulk_update(TENANT, ids[1:3], WorkflowChange(state="resolved"), actor="a")
    batches = [b async for b in mentions.iter_search(TENANT, SearchQuery(sort=TIME_ASC), 2)]
    assert [len(b) for b in batches] == [2, 2, 1]
    assert [d["_id"] for b in batches for d in b] == ids
    assert all("pending" not in d and "terms" not in d for b in batches for d in b)
    resolved = [d["_id"] async for b in mentions.iter_search(TENANT, SearchQuery(states=("resolved",)), 10)
                for d in b]
    assert resolved == ids[2:0:-1]
    assert [d["_id"] async for b in mentions.iter_search(OTHER, SearchQuery(), 10) for d in b] == [other_id]


async def test_bulk_by_filter_is_bounded(env, monkeypatch) -> None:
    _, _, _, inbox, ids, _ = env
    monkeypatch.setattr(inbox_module, "MAX_BULK", 3)
    await inbox.bulk_update(TENANT, ids[:2], WorkflowChange(tags=("vip",)), actor="a")
    assert sorted(await inbox.matching_ids(TENANT, SearchQuery(tags=("vip",)))) == sorted(ids[:2])
    with pytest.raises(InvalidArgument) as exc:
        await inbox.matching_ids(TENANT, SearchQuery(states=("open",)))
    assert exc.value.field == "filter"


class Crash(BaseException):
    """The process dying here: not an error the code could catch and carry on from."""


class _CrashOn:
    def __init__(self, real: object, method: str) -> None:
        self._real, self._method = real, method

    def __getattr__(self, name: str):
        if name == self._method:
            async def crash(*args, **kwargs):
                raise Crash(name)
            return crash
        return getattr(self._real, name)


async def test_audit_entries_are_written_with_the_change_and_survive_a_crash(env) -> None:
    db, mentions, _, _, ids, _ = env
    audit = MongoAuditLog(db)
    # Dies right after the workflow write, before anything reached the audit log.
    crashing = Inbox(mentions, _CrashOn(audit, "append"))
    with pytest.raises(Crash):
        await crashing.update(TENANT, ids[0], WorkflowChange(state="resolved", assignee="dina"),
                              actor="support-bot", expected_version=0)
    doc = await mentions.get_workflow(TENANT, ids[0])
    assert doc["workflow"]["version"] == 1 and len(doc["audit_outbox"]) == 2
    assert await db["mention_audit"].count_documents({}) == 0
    # The mention's reads do not show the queue.
    assert "audit_outbox" not in await mentions.get(TENANT, ids[0])
    inbox = Inbox(mentions, audit)
    trail = await inbox.audit(TENANT, ids[0])
    assert [(e["actor"], e["field"], e["new"], e["version"]) for e in trail] == [
        ("support-bot", "state", "resolved", 1), ("support-bot", "assignee", "dina", 1)]
    assert not (await mentions.get_workflow(TENANT, ids[0])).get("audit_outbox")
    # Dies after the audit log got them but before the queue was cleared: moved again, stored once.
    crashing = Inbox(_CrashOn(mentions, "clear_audit_outbox"), audit)
    with pytest.raises(Crash):
        await crashing.update(TENANT, ids[0], WorkflowChange(note="called back"), actor="dina-key",
                              expected_version=1)
    wf = await inbox.update(TENANT, ids[0], WorkflowChange(add_tags=("refund",)), actor="dina-key",
                            expected_version=2)
    assert wf["version"] == 3
    trail = await inbox.audit(TENANT, ids[0])
    assert [(e["field"], e["version"]) for e in trail] == [
        ("state", 1), ("assignee", 1), ("note", 2), ("tags", 3)]
    assert await db["mention_audit"].count_documents({"tenant_id": TENANT}) == 4
    assert not (await mentions.get_workflow(TENANT, ids[0])).get("audit_outbox")
    # A change that lost its compare-and-set queues nothing: no entry for a change not stored.
    assert not await mentions.set_workflow(TENANT, ids[0], 1, {"state": "open", "version": 2},
                                           [{"_id": "x", "tenant_id": TENANT}])
    assert not (await mentions.get_workflow(TENANT, ids[0])).get("audit_outbox")
    assert len(await inbox.audit(TENANT, ids[0])) == 4
