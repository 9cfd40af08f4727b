"""The fetch stage against a real local HTTP server: limits, retries, conditional GET, safety."""

from __future__ import annotations

import asyncio
import time

import pytest

from pressbot.errors import FetchError
from pressbot.fetch import Fetcher, FetchOptions, parse_retry_after
from pressbot.models import FetchedDocument

GUARDIAN = "feeds/en/guardian_us.rss"


def options(**overrides) -> FetchOptions:
    values = dict(
        user_agent="pressbot-test/1.0", timeout=3.0, retries=2, backoff=0.05, allow_private_networks=True
    )
    values.update(overrides)
    return FetchOptions(**values)


def fetch(url: str, *, opts: FetchOptions | None = None, **kwargs) -> FetchedDocument:
    async def go() -> FetchedDocument:
        async with Fetcher(opts or options()) as fetcher:
            return await fetcher.fetch(url, **kwargs)

    return asyncio.run(go())


def test_plain_fetch_sends_user_agent_and_returns_validators(server):
    document = fetch(server.url(GUARDIAN))
    assert document.status == 200 and b"<rss" in document.content[:500]
    assert document.etag and document.last_modified
    assert server.requests[-1][1]["User-Agent"] == "pressbot-test/1.0"


def test_conditional_get_gives_304_with_no_body(server):
    first = fetch(server.url(GUARDIAN))
    second = fetch(server.url(GUARDIAN), etag=first.etag, last_modified=first.last_modified)
    assert second.not_modified and second.content == b""
    assert server.requests[-1][1]["If-None-Match"] == first.etag


def test_gzip_encoded_fixture_is_decompressed(server):
    document = fetch(server.url("feeds/zh/rssant/warn/https-www-waerfa-com-feed.xml.gz"))
    assert document.content.lstrip().startswith(b"<?xml")


def test_redirects_are_followed_and_limited(server):
    document = fetch(server.url(f"redirect/3/{GUARDIAN}"))
    assert document.url.endswith(GUARDIAN)
    with pytest.raises(FetchError, match="more than 2 redirects"):
        fetch(server.url(f"redirect/5/{GUARDIAN}"), opts=options(max_redirects=2))


@pytest.mark.parametrize(
    ("code", "phrase"), [(404, "no longer exists"), (403, "refuses pressbot"), (410, "removed")]
)
def test_client_errors_are_readable_and_not_retried(server, code, phrase):
    with pytest.raises(FetchError, match=phrase) as caught:
        fetch(server.url(f"status/{code}"))
    assert caught.value.status == code
    assert server.hits[f"/status/{code}"] == 1


def test_server_errors_are_retried_then_reported(server):
    with pytest.raises(FetchError, match="HTTP 500") as caught:
        fetch(server.url("status/500"))
    assert caught.value.retryable
    assert server.hits["/status/500"] == 3  # one try + two retries


def test_flaky_server_recovers_within_retries(server):
    document = fetch(server.url(f"flaky/2/{GUARDIAN}"))
    assert document.status == 200
    assert server.hits[f"/flaky/2/{GUARDIAN}"] == 3


def test_retry_after_is_honoured(server):
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    async def go() -> FetchedDocument:
        async with Fetcher(options(), sleep=fake_sleep) as fetcher:
            return await fetcher.fetch(server.url(f"ratelimited/7/{GUARDIAN}"))

    assert asyncio.run(go()).status == 200
    assert slept == [7.0]


def test_retry_after_beyond_the_cap_fails_until_next_cycle(server):
    with pytest.raises(FetchError, match="come back in 3600s"):
        fetch(server.url(f"ratelimited/3600/{GUARDIAN}"), opts=options(max_retry_after=30))


def test_retry_after_http_date():
    from datetime import UTC, datetime

    now = datetime(2025, 4, 9, 10, 0, tzinfo=UTC)
    assert parse_retry_after("Wed, 09 Apr 2025 10:00:30 GMT", now=now) == 30
    assert parse_retry_after("120", now=now) == 120
    assert parse_retry_after("soon", now=now) is None


def test_timeout_on_a_server_that_never_answers(server):
    started = time.monotonic()
    with pytest.raises(FetchError, match="timeout"):
        fetch(server.url(f"sleep/5/{GUARDIAN}"), opts=options(timeout=0.5, retries=1))
    assert time.monotonic() - started < 3


def test_slow_drip_server_is_cut_by_the_total_deadline(server):
    started = time.monotonic()
    with pytest.raises(FetchError, match="timeout"):
        fetch(server.url("drip"), opts=options(timeout=1.0, retries=0))
    assert time.monotonic() - started < 3


def test_declared_huge_body_is_refused_without_reading(server):
    with pytest.raises(FetchError, match="larger than"):
        fetch(server.url("huge"), opts=options(max_bytes=1_000_000))


def test_undeclared_endless_body_is_cut_at_the_cap(server):
    started = time.monotonic()
    with pytest.raises(FetchError, match="larger than 2,000,000 bytes"):
        fetch(server.url("endless"), opts=options(max_bytes=2_000_000))
    assert time.monotonic() - started < 5


def test_untrusted_links_to_private_addresses_are_refused(server):
    for url in (
        "http://127.0.0.1:9/x",
        "http://localhost/x",
        "http://10.1.2.3/x",
        "http://[::1]/x",
        "http://169.254.169.254/latest",
    ):
        with pytest.raises(FetchError, match="non-public address"):
            fetch(url, opts=options(allow_private_networks=False), untrusted=True)
    with pytest.raises(FetchError, match="not an http"):
        fetch("file:///etc/passwd", untrusted=True)


def test_redirect_from_allowed_to_private_is_checked_for_untrusted_links(server):
    # The source itself is configured (trusted): loopback is fine. An untrusted link is not.
    assert (
        fetch(server.url(f"redirect/1/{GUARDIAN}"), opts=options(allow_private_networks=False)).status == 200
    )
    with pytest.raises(FetchError, match="non-public"):
        fetch(
            server.url(f"redirect/1/{GUARDIAN}"), opts=options(allow_private_networks=False), untrusted=True
        )


def test_robots_txt_is_respected_for_article_pages(server):
    server.robots = "User-agent: *\nDisallow: /status/\n"
    with pytest.raises(FetchError, match="robots.txt"):
        fetch(server.url("status/200"), check_robots=True)
    assert fetch(server.url(GUARDIAN), check_robots=True).status == 200
    assert "/status/200" not in server.hits


def test_missing_robots_txt_allows_everything(server):
    server.robots = None
    assert fetch(server.url(GUARDIAN), check_robots=True).status == 200


def test_per_host_limit_caps_requests_in_flight(server):
    async def go() -> float:
        async with Fetcher(options(per_host=2, concurrency=10)) as fetcher:
            started = time.monotonic()
            await asyncio.gather(*(fetcher.fetch(server.url(f"sleep/0.3/{GUARDIAN}?{i}")) for i in range(6)))
            return time.monotonic() - started

    elapsed = asyncio.run(go())
    assert 0.85 < elapsed < 2.5  # 6 requests, 2 at a time, 0.3 s each → about 0.9 s
