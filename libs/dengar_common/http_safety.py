"""Outbound HTTP that only reaches the public internet unless told otherwise.

Connectors fetch URLs that tenants configure (feed URLs, instance base URLs) and follow redirects that
remote servers choose, so every request is a potential server-side request forgery. This module is the
one way the collector talks HTTP to the outside (insights uses it for outbound webhooks):

- every hostname is resolved with ``loop.getaddrinfo`` at connect time and *every* address it resolves
  to is checked against an :class:`EgressPolicy` (loopback, RFC 1918/ULA, link-local, CGNAT, multicast,
  unspecified, reserved and cloud-metadata addresses are refused by default; IPv4 embedded in IPv6 —
  mapped, NAT64, 6to4, Teredo — is unwrapped and checked as IPv4);
- the TCP connection is made to the vetted address itself, so a DNS answer that changes between the check
  and the connect (DNS rebinding) cannot redirect it, while the URL keeps its hostname: the ``Host``
  header, TLS SNI and certificate verification all use the name;
- redirects are followed by hand (at most ``max_redirects``), and each hop is checked again: scheme,
  hostname, address, no https→http downgrade, and credentials are dropped when the origin changes;
- connect/read time-outs, a total deadline, and a response size limit enforced while streaming;
- no cookies are kept and no proxy is read from the environment: one client is shared by every tenant,
  and a proxy would make the address check meaningless.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json as jsonlib
import logging
import socket
import ssl
import time
import typing
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from types import TracebackType
from typing import Any
from urllib.parse import urlencode

import httpcore
import httpx
from pydantic import BaseModel, ConfigDict, field_validator

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# (host, port) -> IP address strings; injectable so tests can map names to 127.0.0.1.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

REASON_METADATA = "cloud metadata"
REASON_LOOPBACK = "loopback"
REASON_PRIVATE = "private"
REASON_LINK_LOCAL = "link-local"
REASON_CGNAT = "carrier-grade NAT"
REASON_UNSPECIFIED = "unspecified"
REASON_MULTICAST = "multicast"
REASON_RESERVED = "reserved"

# What ``allow_private`` opens: the networks a self-hosted deployment may legitimately run feeds or a
# Mastodon instance on. Multicast, broadcast and documentation ranges never serve HTTP, and metadata
# endpoints hand out cloud credentials, so those stay closed unless an exact CIDR is allow-listed.
_PRIVATE_REASONS = frozenset({REASON_LOOPBACK, REASON_PRIVATE, REASON_LINK_LOCAL, REASON_CGNAT,
                              REASON_UNSPECIFIED})

# Checked in order, so the metadata addresses are named as such rather than as "link-local".
_V4_RULES: tuple[tuple[ipaddress.IPv4Network, str], ...] = tuple(
    (ipaddress.IPv4Network(cidr), reason) for cidr, reason in (
        ("169.254.169.254/32", REASON_METADATA),   # AWS, GCP, Azure, OpenStack, Oracle
        ("100.100.100.200/32", REASON_METADATA),   # Alibaba Cloud
        ("0.0.0.0/8", REASON_UNSPECIFIED),         # "this network"; 0.0.0.0 reaches localhost on Linux
        ("127.0.0.0/8", REASON_LOOPBACK),
        ("10.0.0.0/8", REASON_PRIVATE),
        ("172.16.0.0/12", REASON_PRIVATE),
        ("192.168.0.0/16", REASON_PRIVATE),
        ("100.64.0.0/10", REASON_CGNAT),
        ("169.254.0.0/16", REASON_LINK_LOCAL),
        ("224.0.0.0/4", REASON_MULTICAST),
        ("255.255.255.255/32", REASON_RESERVED),   # broadcast
        ("240.0.0.0/4", REASON_RESERVED),
        ("192.0.0.0/24", REASON_RESERVED),         # IETF protocol assignments
        ("192.0.2.0/24", REASON_RESERVED),         # documentation
        ("198.51.100.0/24", REASON_RESERVED),
        ("203.0.113.0/24", REASON_RESERVED),
        ("198.18.0.0/15", REASON_RESERVED),        # benchmarking
        ("192.88.99.0/24", REASON_RESERVED),       # deprecated 6to4 relay anycast
    ))
_V6_RULES: tuple[tuple[ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.IPv6Network(cidr), reason) for cidr, reason in (
        ("fd00:ec2::254/128", REASON_METADATA),    # AWS over IPv6
        ("::/128", REASON_UNSPECIFIED),
        ("::1/128", REASON_LOOPBACK),
        ("fc00::/7", REASON_PRIVATE),              # unique local addresses
        ("fec0::/10", REASON_PRIVATE),             # deprecated site-local
        ("fe80::/10", REASON_LINK_LOCAL),
        ("ff00::/8", REASON_MULTICAST),
        ("64:ff9b:1::/48", REASON_PRIVATE),        # local-use NAT64
        ("::/96", REASON_RESERVED),                # deprecated IPv4-compatible addresses
        ("100::/64", REASON_RESERVED),             # discard-only
        ("2001:db8::/32", REASON_RESERVED),        # documentation
    ))
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SIIT = ipaddress.IPv6Network("::ffff:0:0:0/96")   # IPv4-translated addresses (RFC 2765)

# Names that reach a metadata service without an IP literal (and may resolve to one a check would miss
# in some split-horizon set-ups), refused before any lookup.
DEFAULT_BLOCKED_HOSTNAMES = frozenset({
    "metadata.google.internal", "metadata.goog", "metadata", "instance-data",
    "instance-data.ec2.internal",
})

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Headers that carry credentials: never sent to another origin than the one they were meant for.
_SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key",
                                "x-goog-api-key"})
# Tried in order when a name resolves to several addresses; more would multiply the connect time-out.
_MAX_CONNECT_ATTEMPTS = 3


class EgressError(Exception):
    """An outbound request was refused or aborted by the safety rules (never retryable as is)."""


class BlockedDestinationError(EgressError):
    """The URL, hostname or resolved address is not allowed by the egress policy."""


class UnsupportedSchemeError(BlockedDestinationError):
    """Only http and https are fetched."""


class TooManyRedirectsError(EgressError):
    """More redirects than ``max_redirects``."""


class ResponseTooLargeError(EgressError):
    """The response body exceeded the size limit; it was not read past the limit."""


class TotalTimeoutError(httpx.TimeoutException):
    """The whole exchange (redirects and body included) took longer than ``total_timeout_s``.

    A subclass of ``httpx.TimeoutException`` so that callers treat it like any other time-out.
    """


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address routes to (mapped, NAT64, SIIT, 6to4, Teredo)."""
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip in _NAT64 or ip in _SIIT:
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        return list(ip.teredo)
    return []


def parse_ip(value: str) -> IPAddress:
    """An address as ``getaddrinfo`` reports it; the IPv6 zone (``%eth0``) is dropped."""
    return ipaddress.ip_address(value.split("%", 1)[0])


def classify_address(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public unicast address, or ``None`` when it is."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            ip = ipaddress.IPv6Address(ip.exploded)
        for net, reason in _V6_RULES:
            if ip in net:
                return reason
        for inner in _embedded_ipv4(ip):
            inner_reason = classify_address(inner)
            if inner_reason is not None:
                return inner_reason
    else:
        for net4, reason in _V4_RULES:
            if ip in net4:
                return reason
    # Whatever else IANA marks as not globally reachable (e.g. 2001::/23 protocol assignments).
    if not ip.is_global:
        return REASON_RESERVED
    return None


@dataclass(frozen=True)
class EgressPolicy:
    """Which destinations outbound requests may reach.

    ``allow_private`` opens loopback, private, link-local, CGNAT and unspecified addresses (a
    self-hosted instance on the LAN, tests on 127.0.0.1); cloud metadata, multicast and reserved ranges
    stay refused. ``allowed_networks`` lists CIDRs that are always allowed, metadata included; prefer it
    to ``allow_private`` because it opens exactly what is needed.
    """

    allow_private: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()
    blocked_hostnames: frozenset[str] = DEFAULT_BLOCKED_HOSTNAMES
    allowed_schemes: frozenset[str] = frozenset({"http", "https"})
    # Following a redirect from https to http would send the rest of the exchange in clear text.
    allow_https_downgrade: bool = False

    @classmethod
    def from_cidrs(cls, cidrs: Iterable[str], *, allow_private: bool = False) -> EgressPolicy:
        """Build a policy from configuration strings such as ``"10.20.0.0/16"``."""
        return cls(allow_private=allow_private,
                   allowed_networks=tuple(ipaddress.ip_network(c, strict=False) for c in cidrs))

    def _explicitly_allowed(self, ip: IPAddress) -> bool:
        candidates: list[IPAddress] = [ip]
        if isinstance(ip, ipaddress.IPv6Address):
            # "::ffff:127.0.0.1" is 127.0.0.1 on the wire: an IPv4 allow-list entry covers it.
            candidates.extend(_embedded_ipv4(ip))
        return any(c.version == net.version and c in net
                   for c in candidates for net in self.allowed_networks)

    def refusal_reason(self, ip: IPAddress) -> str | None:
        """Why a connection to ``ip`` is refused, or ``None`` when it is allowed."""
        reason = classify_address(ip)
        if reason is None or self._explicitly_allowed(ip):
            return None
        if self.allow_private and reason in _PRIVATE_REASONS:
            return None
        return reason

    def check_address(self, ip: IPAddress, *, host: str = "") -> None:
        """Raise :class:`BlockedDestinationError` unless ``ip`` may be connected to."""
        reason = self.refusal_reason(ip)
        if reason is not None:
            via = f" (resolved from {host})" if host and host != str(ip) else ""
            raise BlockedDestinationError(f"refusing to connect to {ip}{via}: {reason} address "
                                          "is not allowed by the egress policy")

    def check_hostname(self, host: str) -> None:
        """Refuse metadata hostnames and, for IP literals, refused addresses (no lookup)."""
        name = host.strip().lower().rstrip(".")
        if not name:
            raise BlockedDestinationError("URL has no host")
        if name in self.blocked_hostnames:
            raise BlockedDestinationError(f"refusing to connect to {name}: {REASON_METADATA} hostname")
        try:
            ip = parse_ip(name.strip("[]"))
        except ValueError:
            return
        self.check_address(ip)

    def check_url(self, url: httpx.URL) -> None:
        """Everything about a URL that can be checked without resolving it."""
        if url.scheme not in self.allowed_schemes:
            raise UnsupportedSchemeError(f"refusing {url.scheme or 'relative'!s} URL: only "
                                         f"{'/'.join(sorted(self.allowed_schemes))} can be fetched")
        if url.userinfo:
            # Credentials in a URL end up in logs and history; connectors send them as headers.
            raise BlockedDestinationError(f"refusing URL with credentials for {url.host}")
        self.check_hostname(url.raw_host.decode("ascii"))


async def system_resolver(host: str, port: int) -> list[str]:
    """All addresses of ``host`` from the system resolver, in its order of preference."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    seen: dict[str, None] = {}
    for _family, _type, _proto, _canon, sockaddr in infos:
        seen.setdefault(str(sockaddr[0]), None)
    return list(seen)


class _VettingBackend(httpcore.AsyncNetworkBackend):
    """Resolves, vets and connects to the vetted address: the check and the connect use one answer."""

    def __init__(self, policy: EgressPolicy, resolver: Resolver,
                 inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._policy = policy
        self._resolver = resolver
        self._inner = inner or httpcore.AnyIOBackend()

    async def _addresses(self, host: str, port: int, timeout: float | None) -> list[str]:
        self._policy.check_hostname(host)
        try:
            return [str(parse_ip(host))]
        except ValueError:
            pass
        try:
            # The connect time-out covers the lookup: a resolver that hangs is a connect that hangs.
            async with asyncio.timeout(timeout):
                answers = list(await self._resolver(host, port))
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None
        if not answers:
            raise httpcore.ConnectError(f"{host} has no addresses")
        # One refused answer refuses the name: a public API has no reason to publish an internal
        # address next to its public ones, and an attacker's DNS does.
        for answer in answers:
            self._policy.check_address(parse_ip(answer), host=host)
        return answers

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: typing.Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        addresses = await self._addresses(host, port, timeout)
        last: Exception | None = None
        for address in addresses[:_MAX_CONNECT_ATTEMPTS]:
            try:
                return await self._inner.connect_tcp(address, port, timeout=timeout,
                                                     local_address=local_address,
                                                     socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                logger.debug("connect to %s (%s) port %d failed: %s", host, address, port, exc)
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: typing.Iterable[Any] | None = None,
                                  ) -> httpcore.AsyncNetworkStream:
        raise BlockedDestinationError("unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with a connection pool whose network backend is the vetting one.

    httpx has no public hook for the network backend, so the pool it builds is replaced; the pool is a
    public httpcore class and the integration tests fail loudly if this stops taking effect.
    """

    def __init__(self, *, backend: httpcore.AsyncNetworkBackend, ssl_context: ssl.SSLContext,
                 limits: httpx.Limits) -> None:
        super().__init__(verify=ssl_context, trust_env=False, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True, http2=False, retries=0,
            network_backend=backend,
        )


class EgressConfig(BaseModel):
    """``DENGAR_COLLECTOR__EGRESS__*``: connectors reach only public addresses unless told otherwise.

    Private ones (a self-hosted Mastodon on the LAN, tests on 127.0.0.1) with ``allow_private``, or
    exactly the listed CIDRs (preferred: it opens only what is needed, e.g. ``["10.20.0.0/16"]``).
    Cloud metadata stays closed either way.
    """

    model_config = ConfigDict(frozen=True)

    allow_private: bool = False
    allowed_cidrs: tuple[str, ...] = ()

    @field_validator("allowed_cidrs")
    @classmethod
    def _check_cidrs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for cidr in value:
            ipaddress.ip_network(cidr, strict=False)  # ValueError names the bad entry
        return value

    def policy(self) -> EgressPolicy:
        return EgressPolicy.from_cidrs(self.allowed_cidrs, allow_private=self.allow_private)


@dataclass(frozen=True)
class SafeHttpConfig:
    policy: EgressPolicy = field(default_factory=EgressPolicy)
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 30.0
    # A server that sends one byte per read time-out would otherwise hold a worker forever.
    total_timeout_s: float = 120.0
    max_response_bytes: int = 16 * 1024 * 1024
    max_redirects: int = 5
    max_connections: int = 50
    # Some platforms (Reddit) require a descriptive agent; connectors may set a more specific one.
    user_agent: str = "Dengar-Collector/0.1 (self-hosted social listening)"
    # ``True`` uses the certifi bundle; tests pass an ``ssl.SSLContext`` trusting their own CA.
    verify: ssl.SSLContext | bool = True


@dataclass(frozen=True)
class HttpResponse:
    """A fully read, size-checked response."""

    status_code: int
    headers: httpx.Headers
    content: bytes
    # Where the content came from, after redirects, and the URLs that redirected to it.
    url: httpx.URL
    history: tuple[httpx.URL, ...] = ()

    @property
    def text(self) -> str:
        charset = "utf-8"
        ctype = self.headers.get("content-type", "")
        for part in ctype.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                charset = value.strip('"\'')
        try:
            return self.content.decode(charset, errors="replace")
        except LookupError:
            return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """Decoded JSON body; raises ``ValueError`` when it is not JSON."""
        return jsonlib.loads(self.content)


def redact_url(url: httpx.URL) -> str:
    """``scheme://host[:port]/path`` without query or credentials: what logs and errors may show."""
    port = f":{url.port}" if url.port else ""
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{url.scheme}://{host}{port}{url.path}"


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return (url.scheme, url.host, url.port or default)


@dataclass(frozen=True)
class RedirectStep:
    url: httpx.URL
    method: str
    keep_body: bool
    drop_headers: frozenset[str]


def plan_redirect(current: httpx.URL, location: str, method: str, status: int, *,
                  policy: EgressPolicy, sensitive_headers: Iterable[str] = ()) -> RedirectStep:
    """Where a redirect leads and what of the request survives it (pure; raises when refused)."""
    try:
        target = current.join(location.strip())
    except httpx.InvalidURL as exc:
        raise BlockedDestinationError(f"invalid redirect from {redact_url(current)}: {exc}") from None
    # Fragments are client-side only.
    target = target.copy_with(fragment=None)
    policy.check_url(target)
    if current.scheme == "https" and target.scheme == "http" and not policy.allow_https_downgrade:
        raise BlockedDestinationError(f"refusing redirect from https to http ({redact_url(target)})")
    # Browsers turn a POST into a GET on 301/302, and 303 always means "GET the answer elsewhere".
    new_method = method
    if status == 303 and method != "HEAD":
        new_method = "GET"
    elif status in (301, 302) and method == "POST":
        new_method = "GET"
    keep_body = new_method == method and status in (307, 308)
    drop: set[str] = set()
    if _origin(target) != _origin(current):
        drop = set(_SENSITIVE_HEADERS) | {h.lower() for h in sensitive_headers}
    return RedirectStep(target, new_method, keep_body, frozenset(drop))


class _RedactUrlQueries(logging.Filter):
    """Drops query strings from httpx's own request log lines ("HTTP Request: GET <url> ...").

    Our connectors send credentials in headers, but a tenant may configure a private feed URL with a token
    in its query string, and httpx logs every URL in full at INFO.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, httpx.URL) for a in record.args):
            record.args = tuple(redact_url(a) + ("?…" if a.query else "") if isinstance(a, httpx.URL) else a
                                for a in record.args)
        return True


def _redact_httpx_logs() -> None:
    httpx_logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactUrlQueries) for f in httpx_logger.filters):
        httpx_logger.addFilter(_RedactUrlQueries())


class SafeHttpClient:
    """The collector's one outbound HTTP client; share a single instance and close it at shutdown."""

    def __init__(self, config: SafeHttpConfig | None = None, *, resolver: Resolver | None = None) -> None:
        self.config = config or SafeHttpConfig()
        cfg = self.config
        _redact_httpx_logs()
        backend = _VettingBackend(cfg.policy, resolver or system_resolver)
        ssl_context = httpx.create_ssl_context(verify=cfg.verify, trust_env=False)
        limits = httpx.Limits(max_connections=cfg.max_connections,
                              max_keepalive_connections=min(cfg.max_connections, 20))
        # No cookie is ever stored: the client is shared between tenants and sources.
        jar = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
        self._client = httpx.AsyncClient(
            transport=_PinnedTransport(backend=backend, ssl_context=ssl_context, limits=limits),
            timeout=httpx.Timeout(connect=cfg.connect_timeout_s, read=cfg.read_timeout_s,
                                  write=cfg.read_timeout_s, pool=cfg.connect_timeout_s),
            follow_redirects=False, trust_env=False, cookies=jar,
            headers={"User-Agent": cfg.user_agent},
        )

    async def __aenter__(self) -> SafeHttpClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get(self, url: str | httpx.URL, **kwargs: Any) -> HttpResponse:
        return await self.request("GET", url, **kwargs)

    async def request(
        self, method: str, url: str | httpx.URL, *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        data: Mapping[str, str] | None = None,
        json: Any = None,
        max_bytes: int | None = None,
        sensitive_headers: Iterable[str] = (),
    ) -> HttpResponse:
        """Send a request, following redirects safely, and read the whole (bounded) body.

        Raises :class:`EgressError` subclasses for policy refusals and oversize bodies, and
        ``httpx.TransportError`` subclasses (time-outs included) for network failures. Error messages
        name the host and path only: query strings and headers may hold credentials.
        """
        start_url = httpx.URL(url)
        if params:
            start_url = start_url.copy_merge_params({k: v for k, v in params.items() if v is not None})
        hdrs = dict(headers or {})
        body = content
        if data is not None:
            body = urlencode(data).encode("ascii")
            hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif json is not None:
            body = jsonlib.dumps(json).encode("utf-8")
            hdrs.setdefault("Content-Type", "application/json")
        limit = self.config.max_response_bytes if max_bytes is None else max_bytes
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.config.total_timeout_s):
                response = await self._exchange(method.upper(), start_url, hdrs, body, limit,
                                                 tuple(sensitive_headers))
        except TimeoutError:
            raise TotalTimeoutError(f"{method.upper()} {redact_url(start_url)} took longer than "
                                    f"{self.config.total_timeout_s:g}s") from None
        logger.debug("%s %s -> %d (%d bytes, %d redirects, %.0f ms)", method.upper(),
                     redact_url(response.url), response.status_code, len(response.content),
                     len(response.history), (time.monotonic() - started) * 1000)
        return response

    async def _exchange(self, method: str, url: httpx.URL, headers: dict[str, str], body: bytes | None,
                        limit: int, sensitive: tuple[str, ...]) -> HttpResponse:
        policy = self.config.policy
        history: list[httpx.URL] = []
        while True:
            policy.check_url(url)
            request = self._client.build_request(method, url, headers=headers, content=body)
            response = await self._client.send(request, stream=True)
            try:
                location = response.headers.get("location")
                if response.status_code in _REDIRECT_STATUSES and location:
                    if len(history) >= self.config.max_redirects:
                        raise TooManyRedirectsError(
                            f"more than {self.config.max_redirects} redirects from {redact_url(history[0])}")
                    step = plan_redirect(url, location, method, response.status_code, policy=policy,
                                         sensitive_headers=sensitive)
                    logger.debug("redirect %d from %s to %s", response.status_code, redact_url(url),
                                 redact_url(step.url))
                    history.append(url)
                    url, method = step.url, step.method
                    headers = {k: v for k, v in headers.items() if k.lower() not in step.drop_headers}
                    if not step.keep_body:
                        body = None
                        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
                    continue
                payload = await self._read_limited(response, url, limit)
                return HttpResponse(response.status_code, response.headers, payload, url, tuple(history))
            finally:
                await response.aclose()

    @staticmethod
    async def _read_limited(response: httpx.Response, url: httpx.URL, limit: int) -> bytes:
        declared = response.headers.get("content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            raise ResponseTooLargeError(f"response from {redact_url(url)} declares {int(declared)} bytes, "
                                        f"more than the {limit}-byte limit")
        chunks: list[bytes] = []
        size = 0
        # Decoded bytes are counted, so a small compressed body cannot expand past the limit.
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise ResponseTooLargeError(f"response from {redact_url(url)} exceeded the {limit}-byte "
                                            "limit; aborted")
            chunks.append(chunk)
        return b"".join(chunks)
