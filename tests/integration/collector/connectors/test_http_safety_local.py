"""The safe HTTP client against real local servers: address checks at every hop and every connection,
size limits, time-outs, header hygiene on redirects, and TLS verified against the hostname while the
connection is pinned to the vetted address."""

from __future__ import annotations

import asyncio
import logging
import shutil
import ssl
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest
from connector_fakes import local_config
from connector_server import FixtureServer, Reply

from dengar_common.http_safety import (
    BlockedDestinationError,
    EgressPolicy,
    ResponseTooLargeError,
    SafeHttpClient,
    TooManyRedirectsError,
    TotalTimeoutError,
    UnsupportedSchemeError,
)


def resolver_for(table: dict[str, Sequence[str]], calls: list[str] | None = None):
    async def resolve(host: str, port: int) -> Sequence[str]:
        if calls is not None:
            calls.append(host)
        if host not in table:
            raise OSError(f"no such host {host}")
        return table[host]
    return resolve


@pytest.fixture
def other_server() -> Iterator[FixtureServer]:
    srv = FixtureServer().start()
    try:
        yield srv
    finally:
        srv.stop()


async def test_default_policy_refuses_loopback_before_any_request(server: FixtureServer) -> None:
    server.route("GET", "/", Reply(200, b"secret admin page"))
    async with SafeHttpClient() as client:
        with pytest.raises(BlockedDestinationError, match="loopback"):
            await client.get(server.url("/"))
        with pytest.raises(BlockedDestinationError, match="loopback"):
            await client.get(f"http://[::ffff:127.0.0.1]:{server.port}/")
    assert server.requests == []


async def test_hostname_keeps_host_header_while_connecting_to_the_vetted_address(
        server: FixtureServer) -> None:
    server.route("GET", "/feed", lambda req: Reply(200, req.headers["host"].encode()))
    calls: list[str] = []
    resolver = resolver_for({"feeds.dengar.test": ["127.0.0.1"]}, calls)
    async with SafeHttpClient(local_config(), resolver=resolver) as client:
        response = await client.get(f"http://feeds.dengar.test:{server.port}/feed")
        again = await client.get(f"http://feeds.dengar.test:{server.port}/feed")
    assert response.text == f"feeds.dengar.test:{server.port}" and again.status_code == 200
    # One lookup for one kept-alive connection.
    assert calls == ["feeds.dengar.test"]


async def test_a_name_with_any_refused_address_is_refused(server: FixtureServer) -> None:
    resolver = resolver_for({"mixed.dengar.test": ["127.0.0.1", "10.0.0.7"]})
    async with SafeHttpClient(local_config(), resolver=resolver) as client:
        with pytest.raises(BlockedDestinationError, match=r"10\.0\.0\.7 \(resolved from mixed.dengar.test\)"):
            await client.get(f"http://mixed.dengar.test:{server.port}/")
    assert server.requests == []


async def test_every_new_connection_is_vetted_on_its_own_answer(server: FixtureServer) -> None:
    """DNS rebinding: the first answer is fine, the next one points inside. The second connection is
    refused rather than reusing the earlier verdict."""
    server.route("GET", "/", Reply(200, b"ok", {"Connection": "close"}))
    answers = iter([["127.0.0.1"], ["10.0.0.1"]])

    async def rebinding(host: str, port: int) -> Sequence[str]:
        return next(answers)

    async with SafeHttpClient(local_config(), resolver=rebinding) as client:
        assert (await client.get(f"http://rebind.dengar.test:{server.port}/")).text == "ok"
        with pytest.raises(BlockedDestinationError, match=r"10\.0\.0\.1"):
            await client.get(f"http://rebind.dengar.test:{server.port}/")
    assert len(server.requests) == 1


@pytest.mark.parametrize("location,reason", [
    ("http://127.0.0.2:{port}/admin", "loopback"),
    ("http://10.0.0.8/internal", "private"),
    ("http://169.254.169.254/latest/meta-data/iam/", "metadata"),
    ("http://metadata.google.internal/computeMetadata/v1/", "metadata"),
    ("http://[fd00:ec2::254]/", "metadata"),
    ("http://evil.dengar.test:{port}/", "metadata"),
])
async def test_redirect_to_a_refused_destination_is_refused(server: FixtureServer, location: str,
                                                            reason: str) -> None:
    server.route("GET", "/start", Reply(302, b"", {"Location": location.format(port=server.port)}))
    resolver = resolver_for({"evil.dengar.test": ["169.254.169.254"]})
    async with SafeHttpClient(local_config(), resolver=resolver) as client:
        with pytest.raises(BlockedDestinationError, match=reason):
            await client.get(server.url("/start"))
    assert [r.path for r in server.requests] == ["/start"]


async def test_redirect_to_another_scheme_is_refused(server: FixtureServer) -> None:
    server.route("GET", "/start", Reply(301, b"", {"Location": "file:///etc/passwd"}))
    async with SafeHttpClient(local_config()) as client:
        with pytest.raises(UnsupportedSchemeError):
            await client.get(server.url("/start"))


async def test_at_most_five_redirects(server: FixtureServer) -> None:
    for hop in range(7):
        server.route("GET", f"/r{hop}", Reply(302, b"", {"Location": f"/r{hop + 1}"}))
    server.route("GET", "/r5", Reply(200, b"arrived"))
    async with SafeHttpClient(local_config()) as client:
        response = await client.get(server.url("/r0"))
        assert response.text == "arrived" and len(response.history) == 5
        assert response.url.path == "/r5"
        server.route("GET", "/r5", Reply(302, b"", {"Location": "/r6"}))
        with pytest.raises(TooManyRedirectsError):
            await client.get(server.url("/r0"))


async def test_credentials_stay_with_their_origin(server: FixtureServer, other_server: FixtureServer) -> None:
    server.route("GET", "/same", Reply(302, b"", {"Location": "/landing"}))
    server.route("GET", "/landing", Reply(200, b"ok"))
    server.route("GET", "/away", Reply(302, b"", {"Location": other_server.url("/landing")}))
    other_server.route("GET", "/landing", Reply(200, b"ok"))
    headers = {"Authorization": "Bearer s3cr3t", "X-Api-Token": "t0k3n", "Accept": "application/json"}
    async with SafeHttpClient(local_config()) as client:
        await client.get(server.url("/same"), headers=headers, sensitive_headers=["X-Api-Token"])
        await client.get(server.url("/away"), headers=headers, sensitive_headers=["X-Api-Token"])
    same = server.seen("/landing")[0].headers
    assert same["authorization"] == "Bearer s3cr3t" and same["x-api-token"] == "t0k3n"
    away = other_server.seen("/landing")[0].headers
    assert "authorization" not in away and "x-api-token" not in away and away["accept"] == "application/json"


async def test_redirect_methods_and_bodies(server: FixtureServer) -> None:
    server.route("POST", "/keep", Reply(307, b"", {"Location": "/echo"}))
    server.route("POST", "/see-other", Reply(303, b"", {"Location": "/echo"}))
    server.route("POST", "/echo", lambda req: Reply(200, b"POST:" + req.body))
    server.route("GET", "/echo", lambda req: Reply(200, b"GET:" + req.body))
    async with SafeHttpClient(local_config()) as client:
        assert (await client.request("POST", server.url("/keep"), data={"a": "1"})).text == "POST:a=1"
        assert (await client.request("POST", server.url("/see-other"), data={"a": "1"})).text == "GET:"


async def test_declared_oversize_body_is_refused_without_reading_it(server: FixtureServer) -> None:
    server.route("GET", "/big", Reply(200, b"x" * 200_000))
    async with SafeHttpClient(local_config(max_response_bytes=100_000)) as client:
        with pytest.raises(ResponseTooLargeError, match="declares 200000 bytes"):
            await client.get(server.url("/big"))
        assert len((await client.get(server.url("/big"), max_bytes=300_000)).content) == 200_000


async def test_streamed_oversize_body_is_aborted(server: FixtureServer) -> None:
    server.route("GET", "/stream", Reply(200, b"y" * 500_000, chunked=True, chunk=8192))
    async with SafeHttpClient(local_config(max_response_bytes=64 * 1024)) as client:
        with pytest.raises(ResponseTooLargeError, match="aborted"):
            await client.get(server.url("/stream"))
        # The client is still usable afterwards.
        server.route("GET", "/small", Reply(200, b"fine"))
        assert (await client.get(server.url("/small"))).text == "fine"


async def test_gzip_bomb_counts_decoded_bytes(server: FixtureServer) -> None:
    import gzip

    bomb = gzip.compress(b"\0" * 2_000_000)
    server.route("GET", "/bomb", Reply(200, bomb, {"Content-Encoding": "gzip"}))
    async with SafeHttpClient(local_config(max_response_bytes=100_000)) as client:
        with pytest.raises(ResponseTooLargeError):
            await client.get(server.url("/bomb"))


async def test_read_timeout(server: FixtureServer) -> None:
    server.route("GET", "/slow", Reply(200, b"late", delay_s=1.0))
    async with SafeHttpClient(local_config(read_timeout_s=0.2)) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(server.url("/slow"))


async def test_total_deadline_stops_a_server_that_drips(server: FixtureServer) -> None:
    # Each chunk comes well within the read time-out, but the whole body would take 3 s.
    server.route("GET", "/drip", Reply(200, b"z" * 20, chunked=True, chunk=1, drip_s=0.15))
    async with SafeHttpClient(local_config(read_timeout_s=1.0, total_timeout_s=0.5)) as client:
        with pytest.raises(TotalTimeoutError):
            await client.get(server.url("/drip"))


async def test_connect_timeout_covers_a_hanging_lookup(server: FixtureServer) -> None:
    async def hanging(host: str, port: int) -> Sequence[str]:
        await asyncio.sleep(5)
        return ["127.0.0.1"]

    async with SafeHttpClient(local_config(connect_timeout_s=0.2), resolver=hanging) as client:
        with pytest.raises(httpx.ConnectTimeout):
            await client.get(f"http://slow-dns.dengar.test:{server.port}/")


async def test_unresolvable_name_is_a_connect_error(server: FixtureServer) -> None:
    async with SafeHttpClient(local_config(), resolver=resolver_for({})) as client:
        with pytest.raises(httpx.ConnectError, match="cannot resolve"):
            await client.get(f"http://nowhere.dengar.test:{server.port}/")


async def test_system_resolver_is_used_by_default_and_checked(server: FixtureServer) -> None:
    server.route("GET", "/", Reply(200, b"ok"))
    async with SafeHttpClient(local_config()) as client:
        # "localhost" resolves through getaddrinfo; 127.0.0.1 is allowed, ::1 is not: refused as a whole
        # when the system also returns ::1, allowed otherwise.
        try:
            response = await client.get(f"http://localhost:{server.port}/")
        except BlockedDestinationError as exc:
            assert "::1" in str(exc)
        else:
            assert response.text == "ok"
    async with SafeHttpClient(local_config(policy=EgressPolicy())) as client:
        with pytest.raises(BlockedDestinationError, match="loopback"):
            await client.get(f"http://localhost:{server.port}/")


async def test_no_cookies_are_kept_between_requests(server: FixtureServer) -> None:
    server.route("GET", "/login", Reply(200, b"ok", {"Set-Cookie": "session=abc; Path=/"}))
    server.route("GET", "/next", lambda req: Reply(200, req.headers.get("cookie", "").encode()))
    async with SafeHttpClient(local_config()) as client:
        await client.get(server.url("/login"))
        assert (await client.get(server.url("/next"))).text == ""


async def test_query_strings_stay_out_of_error_messages(server: FixtureServer) -> None:
    server.route("GET", "/big", Reply(200, b"x" * 5000))
    async with SafeHttpClient(local_config(max_response_bytes=100)) as client:
        with pytest.raises(ResponseTooLargeError) as caught:
            await client.get(server.url("/big"), params={"key": "AIzaSyPRIVATE"})
    assert "AIzaSyPRIVATE" not in str(caught.value) and "/big" in str(caught.value)


# -------------------------------------------------------------------------------------------- TLS

@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=feeds.dengar.test",
         "-addext", "subjectAltName=DNS:feeds.dengar.test"],
        check=True, capture_output=True, timeout=30)
    return cert, key


async def test_tls_is_verified_against_the_hostname_not_the_pinned_address(
        certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    sni: list[str | None] = []
    server_ctx.sni_callback = lambda sock, name, ctx: sni.append(name)
    srv = FixtureServer().start(tls=server_ctx)
    try:
        srv.route("GET", "/feed.xml", lambda req: Reply(200, req.headers["host"].encode()))
        client_ctx = ssl.create_default_context(cafile=str(cert))
        resolver = resolver_for({"feeds.dengar.test": ["127.0.0.1"]})
        async with SafeHttpClient(local_config(verify=client_ctx), resolver=resolver) as client:
            response = await client.get(f"https://feeds.dengar.test:{srv.port}/feed.xml")
            assert response.text == f"feeds.dengar.test:{srv.port}"
            assert sni == ["feeds.dengar.test"]
            # The same server by address: the certificate does not name 127.0.0.1.
            with pytest.raises(httpx.ConnectError, match=r"CERTIFICATE_VERIFY_FAILED|match"):
                await client.get(f"https://127.0.0.1:{srv.port}/feed.xml")
    finally:
        srv.stop()


async def test_httpx_request_log_lines_lose_their_query_string(server: FixtureServer,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    server.route("GET", "/private.xml", Reply(200, b"<rss/>"))
    async with SafeHttpClient(local_config()) as client:
        with caplog.at_level(logging.DEBUG):
            await client.get(server.url("/private.xml?token=feed-token-123"))
    assert "/private.xml" in caplog.text and "feed-token-123" not in caplog.text
