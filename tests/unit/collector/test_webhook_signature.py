"""The webhook signature scheme and body formats (pure)."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from dengar_collector.domain.webhook import (
    BodyError,
    SignatureError,
    new_secret,
    parse_body,
    sign,
    verify,
)

SECRET = "whsec_test-secret"
NOW = 1_767_225_600.0
BODY = b'{"posts": []}'


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), b"1767225600." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, "1767225600", BODY) == "sha256=" + expected


def test_a_valid_signature_within_the_tolerance_passes() -> None:
    ts = str(int(NOW) - 299)
    verify(SECRET, ts, sign(SECRET, ts, BODY), BODY, now=NOW, tolerance_s=300)


@pytest.mark.parametrize("case", ["other secret", "other body", "other timestamp", "no prefix", "empty",
                                  "uppercase hex"])
def test_wrong_signatures_fail(case: str) -> None:
    ts = str(int(NOW))
    signature = {
        "other secret": sign("whsec_other", ts, BODY),
        "other body": sign(SECRET, ts, BODY + b" "),
        "other timestamp": sign(SECRET, str(int(NOW) - 1), BODY),
        "no prefix": sign(SECRET, ts, BODY).removeprefix("sha256="),
        "empty": "",
        "uppercase hex": "sha256=" + sign(SECRET, ts, BODY).removeprefix("sha256=").upper(),
    }[case]
    with pytest.raises(SignatureError):
        verify(SECRET, ts, signature, BODY, now=NOW, tolerance_s=300)


@pytest.mark.parametrize("ts", [str(int(NOW) - 301), str(int(NOW) + 301), "", "abc", "1e9", "-5",
                                "１２３", "9" * 12])
def test_timestamps_outside_the_tolerance_or_malformed_fail(ts: str) -> None:
    # Correctly signed: only the timestamp is wrong (a replay of an old request, or garbage).
    with pytest.raises(SignatureError):
        verify(SECRET, ts, sign(SECRET, ts, BODY), BODY, now=NOW, tolerance_s=300)


def test_secrets_are_random_and_long() -> None:
    a, b = new_secret(), new_secret()
    assert a != b and a.startswith("whsec_") and len(a) >= 40


def post(i: int) -> dict[str, object]:
    return {"platform": "x", "external_id": str(i), "text": f"post {i}", "created_at": "2026-11-30T10:00:00Z"}


def test_body_formats() -> None:
    batch = parse_body(json.dumps({"posts": [post(1), post(2)]}).encode(), "application/json", max_posts=10)
    assert [p["external_id"] for p in batch.items] == ["1", "2"] and not batch.broken
    single = parse_body(json.dumps(post(3)).encode(), "", max_posts=10)
    assert [p["external_id"] for p in single.items] == ["3"]
    lines = "\n".join(json.dumps(post(i)) for i in range(3)) + "\n\n"
    for ctype in ("application/x-ndjson; charset=utf-8", ""):
        nd = parse_body(lines.encode(), ctype, max_posts=10)
        assert [p["external_id"] for p in nd.items] == ["0", "1", "2"]


def test_a_broken_ndjson_line_is_an_item_problem() -> None:
    body = f'{json.dumps(post(1))}\n{{"oops"\n{json.dumps(post(2))}'.encode()
    nd = parse_body(body, "application/x-ndjson", max_posts=10)
    assert len(nd.items) == 3 and list(nd.broken) == [1]


@pytest.mark.parametrize("body", [b"", b"   ", b"[1, 2]", b'"text"', b"{not json", b'{"posts": {}}',
                                  b'{"posts": [], "x": 1}', b'{"posts": []}', b"\xff\xfe"])
def test_bodies_that_are_not_a_post_batch(body: bytes) -> None:
    with pytest.raises(BodyError):
        parse_body(body, "application/json", max_posts=10)


def test_too_many_posts() -> None:
    with pytest.raises(BodyError, match="too many"):
        parse_body(json.dumps({"posts": [post(i) for i in range(11)]}).encode(), "", max_posts=10)
