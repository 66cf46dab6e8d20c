"""End to end: an alert rule through REST only. Posts that match a crisis-word rule make exactly
one firing alert, with those mentions as evidence; the other tenant sees neither rule nor alert."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from dengar_cli.platform import Platform

pytestmark = pytest.mark.e2e

NOW = datetime.now(UTC).replace(microsecond=0)


def _post(external_id: str, text: str) -> dict[str, Any]:
    return {"platform": "x", "external_id": external_id, "text": text, "lang": "id",
            "created_at": (NOW - timedelta(minutes=1)).isoformat().replace("+00:00", "Z"),
            "author": {"id": f"a-{external_id}", "handle": f"user_{external_id}"}}


def test_crisis_words_fire_one_alert_per_incident(
        platform: Platform, new_tenant: Callable[[str, str], str],
        api: Callable[[str], httpx.Client]) -> None:
    with api(new_tenant("Alert Air", "alerta")) as a, api(new_tenant("Alert Bus", "alertb")) as b:
        r = a.post("/v1/alerts/rules", json={"name": "Crisis", "condition": "mention_match",
                                             "expression": "boikot OR penipuan", "severity": "critical"})
        assert r.status_code == 201, r.text
        rule = r.json()
        r = a.post("/v1/alerts/rules", json={"name": "Bad", "condition": "mention_match",
                                             "expression": "boikot AND ("})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "expression", r.text
        r = a.post("/v1/posts", json={"posts": [_post("c1", "Ayo boikot toko ini"),
                                                _post("c2", "Ini penipuan!"),
                                                _post("ok1", "Pengiriman cepat, mantap")]})
        assert r.status_code == 202, r.text
        deadline = time.monotonic() + 180
        alerts: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            alerts = a.get("/v1/alerts").json()["data"]
            if alerts and len(alerts[0]["evidence"]["mention_ids"]) >= 2:
                break
            time.sleep(1.0)
        [alert] = alerts
        assert (alert["rule_id"], alert["state"], alert["severity"]) == (rule["id"], "firing", "critical")
        mentions = a.get("/v1/mentions", params={"limit": 10}).json()["data"]
        crisis = {m["id"] for m in mentions if m["external_id"] in ("c1", "c2")}
        assert set(alert["evidence"]["mention_ids"]) == crisis
        assert a.get(f"/v1/alerts/{alert['id']}").json()["deliveries"] == []

        assert b.get("/v1/alerts").json()["data"] == []
        assert b.get("/v1/alerts/rules").json()["data"] == []
        assert b.get(f"/v1/alerts/{alert['id']}").status_code == 404
        assert b.delete(f"/v1/alerts/rules/{rule['id']}").status_code == 404
