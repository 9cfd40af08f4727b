"""The fetch stage: URL → :class:`FetchedDocument`, politely.

One ``httpx.AsyncClient`` per cycle, with a global and a per-host concurrency limit, a total
deadline per request, retries with exponential backoff on timeouts/5xx/429 (``Retry-After``
honoured up to a cap), conditional GET, redirects followed by hand (so every hop is checked),
a body-size cap enforced while streaming (a 2 GB body is never held in memory; counted after
decompression, so a gzip bomb is cut too), robots.txt for article pages, and a public-address
rule for URLs that come from feeds. httpx is imported here and nowhere else.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import certifi
import httpx

from pressbot.config import Settings
from pressbot.errors import FetchError
from pressbot.models import FetchedDocument

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
RETRY_CODES = frozenset({429, 500, 502, 503, 504})
ACCEPT = "application/rss+xml,application/atom+xml,application/xml,text/html;q=0.9,*/*;q=0.8"
ROBOTS_MAX_BYTES = 512 * 1024
ROBOTS_TTL = 24 * 3600.0  # seconds a robots.txt is trusted


@dataclass(frozen=True)
class FetchOptions:
    user_agent: str
    timeout: float = 20.0
    max_bytes: int = 10 * 1024**2
    retries: int = 2
    backoff: float = 1.0  # first retry waits about this long, doubling after
    max_redirects: int = 5
    max_retry_after: float = 60.0
    concurrency: int = 32
    per_host: int = 4
    allow_private_networks: bool = False
    respect_robots: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchOptions:
        return cls(
            user_agent=settings.user_agent,
            timeout=settings.timeout,
            max_bytes=settings.max_bytes,
            retries=settings.retries,
            max_redirects=settings.max_redirects,
            max_retry_after=settings.max_retry_after,
            concurrency=settings.concurrency,
            per_host=settings.per_host,
            allow_private_networks=settings.allow_private_networks,
            respect_robots=settings.respect_robots,
        )


Sleep = Callable[[float], Awaitable[None]]


def _charset(content_type: str) -> str | None:
    message = Message()
    message["content-type"] = content_type
    charset = message.get_param("charset")
    return str(charset).strip("'\" ") if isinstance(charset, str) and charset.strip("'\" ") else None


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _status_message(url: str, status: int) -> str:
    hints = {
        401: "the site asks for a login — pressbot can only read public pages",
        403: "the site refuses pressbot — it may block unknown user agents; check the URL in a browser",
        404: "the address no longer exists — check the source's url in sources.yaml",
        410: "the address was removed for good — update or disable the source in sources.yaml",
        429: "the site says pressbot asks too often — raise the source's interval",
    }
    hint = hints.get(
        status,
        "the server failed — pressbot will try again next cycle"
        if status >= 500
        else "check the URL in a browser",
    )
    return f"{url}: HTTP {status} — {hint}."


class Fetcher:
    """Fetches URLs within the limits of :class:`FetchOptions`; use as ``async with``."""

    def __init__(
        self,
        options: FetchOptions,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.options = options
        self._sleep = sleep
        self._clock = clock
        self._global = asyncio.Semaphore(options.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        # origin → (parser or None for "disallow all", when it was read: time.monotonic())
        self._robots: dict[str, tuple[RobotFileParser | None, float]] = {}
        self._robots_locks: dict[str, asyncio.Lock] = {}
        self._transport = transport
        self._ssl = ssl.create_default_context(cafile=certifi.where())  # built once: ~20 ms each
        # One small connection pool per origin: httpx's pool scans all its connections for each
        # request, and one shared pool of 200 made a 1,000-feed cycle CPU-bound (bench_fetch.py).
        self._clients: dict[str, httpx.AsyncClient] = {}
        self.bytes_received = 0  # body bytes read, after decompression (for reports and benchmarks)

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    def _client(self, url: str) -> httpx.AsyncClient:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc.lower()}"
        client = self._clients.get(origin)
        if client is None:
            client = self._clients[origin] = httpx.AsyncClient(
                transport=self._transport,
                follow_redirects=False,
                timeout=httpx.Timeout(self.options.timeout),
                limits=httpx.Limits(max_connections=self.options.per_host, keepalive_expiry=30),
                headers={"User-Agent": self.options.user_agent, "Accept": ACCEPT},
                trust_env=False,
                verify=self._ssl,
            )
        return client

    # ------------------------------------------------------------------ public API

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        untrusted: bool = False,
        check_robots: bool = False,
    ) -> FetchedDocument:
        """GET ``url``; FetchError with a readable message on any failure.

        ``untrusted`` URLs (links found in feeds) must be http(s) to public addresses unless
        private networks are allowed; ``check_robots`` consults the host's robots.txt first.
        """
        await self._check_url(url, untrusted=untrusted)
        if check_robots and self.options.respect_robots and not await self._robots_allow(url):
            raise FetchError(
                f"{url}: robots.txt of {urlsplit(url).netloc} disallows it — pressbot keeps the feed's text only.",
                url=url,
            )
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return await self._with_retries(url, headers, untrusted=untrusted)

    # ------------------------------------------------------------------ URL rules

    async def _check_url(self, url: str, *, untrusted: bool) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(f"{url!r} is not an http(s) address — pressbot fetches nothing else.", url=url)
        if not untrusted or self.options.allow_private_networks:
            return
        host = parts.hostname
        try:
            literal = ipaddress.ip_address(host)
            addresses = [literal]
        except ValueError:
            if host == "localhost" or host.endswith(".localhost"):
                addresses = [ipaddress.ip_address("127.0.0.1")]
            else:
                addresses = await self._resolve(
                    host, parts.port or (443 if parts.scheme == "https" else 80), url
                )
        for address in addresses:
            if not address.is_global:
                raise FetchError(
                    f"{url}: refusing to fetch a link to a non-public address ({address}) found in a feed; "
                    "set PRESSBOT_ALLOW_PRIVATE_NETWORKS=1 only for local test servers.",
                    url=url,
                )

    async def _resolve(
        self, host: str, port: int, url: str
    ) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as error:
            raise FetchError(
                f"{url}: the host name {host} cannot be resolved ({error}).", url=url, retryable=True
            ) from None
        return [ipaddress.ip_address(info[4][0]) for info in infos]

    # ------------------------------------------------------------------ retries

    async def _with_retries(self, url: str, headers: dict[str, str], *, untrusted: bool) -> FetchedDocument:
        attempt = 0
        while True:
            try:
                return await self._follow(url, headers, untrusted=untrusted)
            except _Retry as retry:
                attempt += 1
                if attempt > self.options.retries:
                    raise retry.error from None
                wait = retry.after if retry.after is not None else self.options.backoff * 2 ** (attempt - 1)
                if wait > self.options.max_retry_after:
                    raise FetchError(
                        f"{retry.error} The server asks pressbot to come back in {wait:.0f}s; it will on a later cycle.",
                        url=url,
                        status=retry.error.status,
                        retryable=True,
                    ) from None
                await self._sleep(wait * (1.0 if retry.after is not None else random.uniform(0.75, 1.25)))

    async def _follow(self, url: str, headers: dict[str, str], *, untrusted: bool) -> FetchedDocument:
        current = url
        for _ in range(self.options.max_redirects + 1):
            outcome = await self._get_once(current, headers)
            if isinstance(outcome, FetchedDocument):
                return outcome
            target = urljoin(current, outcome)
            await self._check_url(target, untrusted=untrusted)
            current = target
        raise FetchError(
            f"{url}: more than {self.options.max_redirects} redirects — the site loops; open it in a browser to check.",
            url=url,
        )

    def _host_limit(self, url: str) -> asyncio.Semaphore:
        host = urlsplit(url).netloc.lower()
        if host not in self._hosts:
            self._hosts[host] = asyncio.Semaphore(self.options.per_host)
        return self._hosts[host]

    async def _get_once(self, url: str, headers: dict[str, str]) -> FetchedDocument | str:
        """One request: a document, or the Location of a redirect; raises _Retry or FetchError."""
        async with self._host_limit(url), self._global:
            try:
                async with asyncio.timeout(self.options.timeout):
                    return await self._stream(url, headers)
            except (TimeoutError, httpx.TimeoutException):
                raise _Retry(
                    FetchError(
                        f"{url}: no complete answer within {self.options.timeout:g}s (timeout).",
                        url=url,
                        retryable=True,
                    )
                ) from None
            except httpx.TransportError as error:
                reason = str(error) or type(error).__name__
                message = f"{url}: connection failed ({reason}) — check the host name and this machine's network; pressbot retries next cycle."
                raise _Retry(FetchError(message, url=url, retryable=True)) from None
            except httpx.HTTPError as error:
                raise FetchError(f"{url}: HTTP error ({error}).", url=url) from None

    async def _stream(self, url: str, headers: dict[str, str]) -> FetchedDocument | str:
        async with self._client(url).stream("GET", url, headers=headers) as response:
            status = response.status_code
            if status in REDIRECT_CODES and response.headers.get("location"):
                return response.headers["location"]
            if status == 304:
                return FetchedDocument(
                    url=str(response.url),
                    status=304,
                    content=b"",
                    etag=response.headers.get("etag"),
                    last_modified=response.headers.get("last-modified"),
                    not_modified=True,
                )
            if status in RETRY_CODES:
                after = parse_retry_after(response.headers.get("retry-after"), now=self._clock())
                raise _Retry(
                    FetchError(_status_message(url, status), url=url, status=status, retryable=True),
                    after=after,
                )
            if status >= 400:
                raise FetchError(_status_message(url, status), url=url, status=status)
            content = await self._read_capped(url, response)
            content_type = response.headers.get("content-type", "")
            return FetchedDocument(
                url=str(response.url),
                status=status,
                content=content,
                content_type=content_type,
                charset=_charset(content_type),
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
            )

    async def _read_capped(self, url: str, response: httpx.Response) -> bytes:
        limit = self.options.max_bytes
        too_big = FetchError(
            f"{url}: the response is larger than {limit:,} bytes — not read; raise PRESSBOT_MAX_BYTES if this source is legitimate.",
            url=url,
        )
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit and "content-encoding" not in response.headers:
            raise too_big
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise too_big
            chunks.append(chunk)
        self.bytes_received += size
        return b"".join(chunks)

    # ------------------------------------------------------------------ robots.txt

    async def _robots_allow(self, url: str) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        lock = self._robots_locks.setdefault(origin, asyncio.Lock())
        async with lock:
            cached = self._robots.get(origin)
            # A long-running fetcher (`pressbot run`) reads robots.txt again after a day (RFC 9309:
            # a cache SHOULD NOT be used for more than 24 hours).
            if cached is None or time.monotonic() - cached[1] > ROBOTS_TTL:
                self._robots[origin] = (await self._load_robots(origin), time.monotonic())
        parser = self._robots[origin][0]
        if parser is None:  # robots.txt unreachable or 5xx: RFC 9309 says assume complete disallow
            return False
        return parser.can_fetch(self.options.user_agent, url)

    async def _load_robots(self, origin: str) -> RobotFileParser | None:
        parser = RobotFileParser()
        try:
            document = await self._follow(f"{origin}/robots.txt", {}, untrusted=True)
        except _Retry:
            return None
        except FetchError as error:
            if error.status is not None and 400 <= error.status < 500:
                parser.parse([])  # no robots.txt: everything allowed
                return parser
            return None
        parser.parse(document.content[:ROBOTS_MAX_BYTES].decode("utf-8", "replace").splitlines())
        return parser


class _Retry(Exception):
    """Internal: a failure worth another try (timeout, connection error, 5xx, 429)."""

    def __init__(self, error: FetchError, *, after: float | None = None):
        super().__init__(str(error))
        self.error = error
        self.after = after
