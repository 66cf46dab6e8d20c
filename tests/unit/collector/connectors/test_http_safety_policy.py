"""The egress address policy and redirect rules (pure: no sockets)."""

from __future__ import annotations

import ipaddress

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dengar_common.http_safety import (
    REASON_CGNAT,
    REASON_LINK_LOCAL,
    REASON_LOOPBACK,
    REASON_METADATA,
    REASON_MULTICAST,
    REASON_PRIVATE,
    REASON_RESERVED,
    REASON_UNSPECIFIED,
    BlockedDestinationError,
    EgressPolicy,
    UnsupportedSchemeError,
    classify_address,
    parse_ip,
    plan_redirect,
)

DEFAULT = EgressPolicy()


@pytest.mark.parametrize("address,reason", [
    # IPv4
    ("127.0.0.1", REASON_LOOPBACK),
    ("127.255.0.9", REASON_LOOPBACK),
    ("10.1.2.3", REASON_PRIVATE),
    ("172.16.0.1", REASON_PRIVATE),
    ("172.31.255.254", REASON_PRIVATE),
    ("192.168.1.1", REASON_PRIVATE),
    ("100.64.0.1", REASON_CGNAT),
    ("100.127.255.254", REASON_CGNAT),
    ("169.254.10.20", REASON_LINK_LOCAL),
    ("169.254.169.254", REASON_METADATA),
    ("100.100.100.200", REASON_METADATA),
    ("0.0.0.0", REASON_UNSPECIFIED),
    ("0.1.2.3", REASON_UNSPECIFIED),
    ("224.0.0.1", REASON_MULTICAST),
    ("239.255.255.250", REASON_MULTICAST),
    ("255.255.255.255", REASON_RESERVED),
    ("240.0.0.1", REASON_RESERVED),
    ("192.0.2.10", REASON_RESERVED),
    ("198.18.0.1", REASON_RESERVED),
    # IPv6
    ("::1", REASON_LOOPBACK),
    ("::", REASON_UNSPECIFIED),
    ("fd00::1", REASON_PRIVATE),
    ("fc12:3456::1", REASON_PRIVATE),
    ("fd00:ec2::254", REASON_METADATA),
    ("fe80::1", REASON_LINK_LOCAL),
    ("fe80::1%eth0", REASON_LINK_LOCAL),
    ("ff02::1", REASON_MULTICAST),
    ("ff0e::1", REASON_MULTICAST),
    ("2001:db8::1", REASON_RESERVED),
    # IPv4 inside IPv6: mapped, NAT64, 6to4, Teredo, IPv4-compatible.
    ("::ffff:127.0.0.1", REASON_LOOPBACK),
    ("::ffff:10.0.0.1", REASON_PRIVATE),
    ("::ffff:169.254.169.254", REASON_METADATA),
    ("64:ff9b::a00:1", REASON_PRIVATE),
    ("64:ff9b::7f00:1", REASON_LOOPBACK),
    ("2002:a00:1::1", REASON_PRIVATE),
    ("2002:7f00:1::", REASON_LOOPBACK),
    ("2001:0:4136:e378:8000:63bf:f5ff:fffe", REASON_PRIVATE),  # Teredo client 10.0.0.1
    ("::127.0.0.1", REASON_RESERVED),
])
def test_refused_addresses(address: str, reason: str) -> None:
    assert classify_address(parse_ip(address)) == reason
    with pytest.raises(BlockedDestinationError, match=reason):
        DEFAULT.check_address(parse_ip(address))


@pytest.mark.parametrize("address", [
    "93.184.216.34", "1.1.1.1", "8.8.8.8", "140.82.112.3", "100.63.255.255", "100.128.0.1",
    "172.15.255.255", "172.32.0.1", "2606:4700:4700::1111", "2a03:2880:f12f:83:face:b00c:0:25de",
    "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",
])
def test_public_addresses_are_allowed(address: str) -> None:
    assert classify_address(parse_ip(address)) is None
    DEFAULT.check_address(parse_ip(address))


def test_allow_private_opens_the_lan_but_not_metadata_or_multicast() -> None:
    policy = EgressPolicy(allow_private=True)
    for address in ("127.0.0.1", "10.0.0.5", "192.168.0.10", "fd12::1", "100.64.1.1", "::ffff:127.0.0.1"):
        assert policy.refusal_reason(parse_ip(address)) is None, address
    for address in ("169.254.169.254", "fd00:ec2::254", "224.0.0.1", "::ffff:169.254.169.254"):
        assert policy.refusal_reason(parse_ip(address)) is not None, address


def test_allow_list_opens_exactly_its_networks() -> None:
    policy = EgressPolicy.from_cidrs(["127.0.0.1/32", "10.20.0.0/16", "169.254.169.254/32"])
    assert policy.refusal_reason(parse_ip("127.0.0.1")) is None
    assert policy.refusal_reason(parse_ip("::ffff:127.0.0.1")) is None  # same address on the wire
    assert policy.refusal_reason(parse_ip("127.0.0.2")) == REASON_LOOPBACK
    assert policy.refusal_reason(parse_ip("10.20.30.40")) is None
    assert policy.refusal_reason(parse_ip("10.21.0.1")) == REASON_PRIVATE
    assert policy.refusal_reason(parse_ip("169.254.169.254")) is None  # explicit, so allowed
    assert policy.refusal_reason(parse_ip("::1")) == REASON_LOOPBACK


@given(st.integers(0, 2 ** 24 - 1))
def test_every_10_slash_8_address_is_refused_in_any_spelling(offset: int) -> None:
    v4 = ipaddress.IPv4Address(int(ipaddress.IPv4Address("10.0.0.0")) + offset)
    mapped = ipaddress.IPv6Address(f"::ffff:{v4}")
    nat64 = ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) + int(v4))
    for address in (v4, mapped, nat64):
        assert DEFAULT.refusal_reason(address) == REASON_PRIVATE


@given(st.ip_addresses(v=4))
def test_mapped_ipv6_is_judged_like_its_ipv4(v4: ipaddress.IPv4Address) -> None:
    mapped = ipaddress.IPv6Address(f"::ffff:{v4}")
    assert (DEFAULT.refusal_reason(mapped) is None) == (DEFAULT.refusal_reason(v4) is None)


@pytest.mark.parametrize("url", [
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://METADATA.GOOGLE.INTERNAL./x",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://127.0.0.1:8080/",
    "http://user:secret@example.com/feed",
])
def test_urls_refused_without_a_lookup(url: str) -> None:
    with pytest.raises(BlockedDestinationError):
        DEFAULT.check_url(httpx.URL(url))


@pytest.mark.parametrize("url", ["ftp://example.com/feed.xml", "file:///etc/passwd", "gopher://x:70/"])
def test_only_http_and_https(url: str) -> None:
    with pytest.raises(UnsupportedSchemeError):
        DEFAULT.check_url(httpx.URL(url))


def test_redirect_to_another_origin_drops_credentials() -> None:
    step = plan_redirect(httpx.URL("https://api.example.com/a?x=1"), "https://cdn.example.net/b", "GET", 302,
                         policy=DEFAULT, sensitive_headers=["X-Custom-Token"])
    assert str(step.url) == "https://cdn.example.net/b"
    assert {"authorization", "cookie", "x-custom-token"} <= step.drop_headers


def test_redirect_within_the_origin_keeps_credentials_and_resolves_relative_locations() -> None:
    step = plan_redirect(httpx.URL("https://api.example.com/v1/a"), "../v2/b#frag", "GET", 301,
                         policy=DEFAULT)
    assert str(step.url) == "https://api.example.com/v2/b"
    assert step.drop_headers == frozenset()


@pytest.mark.parametrize("status,method,new_method,keep_body", [
    (301, "POST", "GET", False), (302, "POST", "GET", False), (303, "POST", "GET", False),
    (303, "HEAD", "HEAD", False), (307, "POST", "POST", True), (308, "PUT", "PUT", True),
    (302, "GET", "GET", False),
])
def test_redirect_method_rules(status: int, method: str, new_method: str, keep_body: bool) -> None:
    step = plan_redirect(httpx.URL("https://a.example/x"), "/y", method, status, policy=DEFAULT)
    assert (step.method, step.keep_body) == (new_method, keep_body)


def test_redirect_refusals() -> None:
    with pytest.raises(BlockedDestinationError, match="https to http"):
        plan_redirect(httpx.URL("https://a.example/x"), "http://a.example/y", "GET", 302, policy=DEFAULT)
    with pytest.raises(BlockedDestinationError, match="metadata"):
        plan_redirect(httpx.URL("https://a.example/x"), "http://169.254.169.254/", "GET", 302, policy=DEFAULT)
    with pytest.raises(UnsupportedSchemeError):
        plan_redirect(httpx.URL("https://a.example/x"), "file:///etc/passwd", "GET", 302, policy=DEFAULT)
    allowed = EgressPolicy(allow_https_downgrade=True)
    assert plan_redirect(httpx.URL("https://a.example/x"), "http://a.example/y", "GET", 302,
                         policy=allowed).url.scheme == "http"
