"""API keys: generation, parsing, hashing, verification; scopes; tenant slugs."""

from __future__ import annotations

import pytest

from dengar_common.ids import is_valid_tenant_id
from dengar_gateway.domain.keys import (
    Scope,
    generate_key,
    hash_key,
    known_scopes,
    parse_key,
    parse_scopes,
    verify_key,
)
from dengar_gateway.domain.tenants import slugify_tenant


def test_generated_key_is_prefixed_parseable_and_verifies() -> None:
    key = generate_key()
    assert key.secret.startswith(f"dgr_{key.key_id}_")
    assert parse_key(key.secret) == key.key_id
    assert verify_key(key.secret, key.hash)
    # Only the hash is meant to be stored, and it does not contain the secret.
    assert key.hash == hash_key(key.secret) and len(key.hash) == 64
    assert key.secret.split("_", 2)[2] not in key.hash


def test_keys_are_unique_and_a_wrong_secret_fails() -> None:
    a, b = generate_key(), generate_key()
    assert a.key_id != b.key_id and a.secret != b.secret
    assert not verify_key(b.secret, a.hash)
    tampered = a.secret[:-1] + ("A" if a.secret[-1] != "A" else "B")
    assert parse_key(tampered) == a.key_id
    assert not verify_key(tampered, a.hash)


@pytest.mark.parametrize("token", [
    "", "dgr", "dgr_", "dgr_0123456789abcdef", "xyz_0123456789abcdef_" + "a" * 43,
    "dgr_0123456789ABCDEF_" + "a" * 43, "dgr_0123_" + "a" * 43, "dgr_0123456789abcdef_short",
    "dgr_0123456789abcdef_" + "a" * 42 + "!", "Bearer dgr_0123456789abcdef_" + "a" * 43,
])
def test_malformed_tokens_have_no_key_id(token: str) -> None:
    assert parse_key(token) is None


def test_secret_may_contain_underscores() -> None:
    token = "dgr_0123456789abcdef_" + "a_b-" * 11
    assert parse_key(token) == "0123456789abcdef"


def test_parse_scopes() -> None:
    assert parse_scopes(["read", " INGEST ", "read", ""]) == [Scope.READ, Scope.INGEST]
    with pytest.raises(ValueError, match="unknown scope 'write'"):
        parse_scopes(["read", "write"])
    # Stored scopes from a newer version grant nothing here, instead of failing authentication.
    assert known_scopes(["read", "superuser"]) == [Scope.READ]


@pytest.mark.parametrize("name,expected", [
    ("Acme", "acme"), ("Acme Café, Inc.", "acme-cafe-inc"), ("  --Big__Corp--  ", "big-corp"),
    ("x" * 100, "x" * 63),
])
def test_tenant_slugs(name: str, expected: str) -> None:
    assert slugify_tenant(name) == expected


def test_unusable_name_gets_a_random_valid_slug() -> None:
    slug = slugify_tenant("東京")
    assert slug.startswith("tenant-") and is_valid_tenant_id(slug)
