"""Alert texts in Indonesian: for every kind of alert (each condition, firing and resolved) the
Indonesian title, text and email differ from the English ones and keep no English template word."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace as NS
from typing import Any

import pytest

from dengar_insights.domain import alerts as al
from dengar_insights.domain.channels import render_email, webhook_body
from dengar_insights.service_layer.alert_conditions import EngineConditions
from dengar_insights.service_layer.alerts import AlertEngine, notification_of

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
# The words of the English templates (not "volume", which is Indonesian too).
ENGLISH = ("alert", "resolved", "spike", "mention", "mentions", "expected", "negative", "share",
           "threshold", "new", "topic", "coordinated", "campaign", "posts", "by", "authors", "match",
           "of", "the", "for", "query", "severity", "links", "sent", "warning", "critical", "info")
_WORD = re.compile(r"[A-Za-z]+")


def _english_words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)} & set(ENGLISH)


class _Engine:
    async def spikes(self, req: Any) -> Any:
        spike = NS(start=NOW - timedelta(hours=1), end=NOW, observed=120.0, ratio=4.2, expected=28.0)
        return NS(spikes=[NS(explained=NS(spike=spike, drivers=[NS(evidence_ids=["m1"])]))])


class _Rollups:
    async def totals(self, tenant_id: str, start: datetime, end: datetime, query_id: Any) -> Any:
        return NS(volume=50, sentiment={"negative": 35}), None


class _Topics:
    async def topics(self, req: Any) -> Any:
        return NS(topics=[NS(id="t1", keywords=["ongkir", "gratis", "promo"], volume=42, status="new",
                             representatives=[NS(id="m2")])])


class _Voices:
    async def campaigns(self, req: Any) -> Any:
        return NS(campaigns=[NS(cluster=NS(key="k1", posts=12, authors=6, evidence_ids=["m3"]),
                                filters={"q": "promo"})])


def _rule(condition: str, **kw: Any) -> al.AlertRule:
    return al.AlertRule(id="ar_1", tenant_id="acme", name="Pantau Toko", condition=condition,
                        severity="critical", **kw)


class _Rules:
    def __init__(self, rule: al.AlertRule) -> None:
        self._rule = rule

    async def version(self, tenant_id: str) -> int:
        return 1

    async def list(self, tenant_id: str) -> list[al.AlertRule]:
        return [self._rule]


class _CapturingStore:
    def __init__(self) -> None:
        self.findings: list[al.Finding] = []

    async def firing(self, tenant_id: str, rule_id: str) -> list[al.Alert]:
        return []

    async def fire(self, rule: al.AlertRule, finding: al.Finding, now: datetime,
                   notify: datetime) -> al.Alert | None:
        self.findings.append(finding)
        return None


async def _findings() -> list[tuple[al.AlertRule, al.Finding]]:
    """One finding of every condition, each made where the product makes it."""
    conditions = EngineConditions(_Engine(), _Rollups(), _Topics(), _Voices())
    rules = [_rule(al.SPIKE, metric="negative", query_id="q_bank"), _rule(al.SPIKE, metric="volume"),
             _rule(al.NEGATIVE_SHARE, threshold=0.5, min_volume=10),
             _rule(al.EMERGING_TOPIC), _rule(al.CAMPAIGN)]
    out = [(r, f) for r in rules for f in await conditions.findings(r, NOW)]
    match_rule = _rule(al.MENTION_MATCH, expression="boikot")
    store = _CapturingStore()
    engine = AlertEngine(_Rules(match_rule), store, conditions, None, None,
                         owner="r1", clock=lambda: NOW)
    await engine.on_mentions("acme", [{"_id": "m9", "text": "ayo boikot", "platform": "x",
                                        "author": {"handle": "a"}}])
    out += [(match_rule, f) for f in store.findings]
    assert sorted({r.condition for r, _ in out}) == sorted(al.CONDITIONS)
    return out


def _alert(rule: al.AlertRule, f: al.Finding, state: str) -> al.Alert:
    return al.Alert(id="al_1", tenant_id="acme", rule_id=rule.id, rule_name=rule.name,
                    condition=rule.condition, key="k", scope=f.scope, severity=rule.severity,
                    state=state, summary=f.summary, summary_id=f.summary_id, fired_at=NOW,
                    resolved_at=NOW if state == al.RESOLVED else None, evidence_ids=f.evidence_ids,
                    filters=f.filters)


@pytest.mark.parametrize("state", [al.FIRING, al.RESOLVED])
async def test_every_alert_kind_has_its_own_indonesian_text(state: str) -> None:
    for rule, finding in await _findings():
        n = notification_of(_alert(rule, finding, state), state)
        for part in (n.title, n.text):
            assert part["id"] and part["id"] != part["en"], (rule.condition, part)
            assert not _english_words(part["id"]), (rule.condition, part["id"])
            assert _english_words(part["en"]), (rule.condition, part["en"])  # the check can fail
        email_id, email_en = render_email(n, "id"), render_email(n, "en")
        assert email_id.subject != email_en.subject and email_id.text != email_en.text
        for text in (email_id.subject, email_id.text, email_id.html):
            # The links' URLs are API paths, not prose.
            prose = re.sub(r"/v1/\S*", "", re.sub(r"<[^>]*>", " ", text))
            assert not _english_words(prose), (rule.condition, prose)
        slack = webhook_body(n, "d1", "slack", "id").decode()
        assert n.text["id"] in slack and n.text["en"] not in slack


async def test_the_indonesian_wording() -> None:
    texts = {(r.condition, r.metric): f.summary_id for r, f in await _findings()}
    assert texts[(al.SPIKE, "negative")] == ("Lonjakan volume negatif untuk kueri q_bank: 120 sebutan, "
                                             "4.2 kali dari perkiraan 28")
    assert texts[(al.SPIKE, "volume")].startswith("Lonjakan volume: 120 sebutan")
    assert texts[(al.NEGATIVE_SHARE, "volume")] == "Sentimen negatif 70% dari 50 sebutan (ambang batas 50%)"
    assert texts[(al.EMERGING_TOPIC, "volume")] == "Topik baru muncul: ongkir, gratis, promo (42 sebutan)"
    assert texts[(al.CAMPAIGN, "volume")] == "Kampanye terkoordinasi: 12 unggahan oleh 6 akun"
    assert texts[(al.MENTION_MATCH, "volume")] == "1 sebutan baru cocok dengan 'boikot'"


def test_an_incident_stored_before_indonesian_summaries_falls_back_to_english() -> None:
    legacy = _alert(_rule(al.NEGATIVE_SHARE, threshold=0.5), al.Finding("share", "negative share 70%"),
                    al.FIRING)
    assert notification_of(legacy, al.FIRING).text["id"] == "negative share 70%"


@pytest.mark.parametrize("frequency", ["daily", "weekly"])
def test_digest_texts_in_indonesian_keep_no_english_template_word(frequency: str) -> None:
    from dengar_insights.domain.digests import DigestSpec, digest_text

    def spec(lang: str) -> DigestSpec:
        return DigestSpec(name="Toko", frequency=frequency, time="08:00", time_zone="Asia/Jakarta",
                          language=lang, channel_ids=("c1",), weekday="mon" if frequency == "weekly" else "")

    words = {"daily", "weekly", "brief", "period", "nothing", "stood", "out", "in", "this"}
    for cards in ([], [("Lonjakan", "Sebutan naik")]):
        id_ = digest_text(spec("id"), NOW - timedelta(days=1), NOW, cards)
        en = digest_text(spec("en"), NOW - timedelta(days=1), NOW, cards)
        assert id_[0] != en[0] and id_[1] != en[1]
        assert not {w.lower() for w in _WORD.findall(" ".join(id_))} & words, id_
