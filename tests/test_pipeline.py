"""A whole collection cycle over every captured feed in ../shared/fixtures/feeds, served over HTTP."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pressbot.fetch import Fetcher, FetchOptions
from pressbot.models import Source, SourceReport
from pressbot.pipeline import Collector
from pressbot.store import Archive, SearchQuery

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
MANIFEST_LANG = {"zh": "zh", "it": "it", "en": "en"}


def manifest(fixtures_dir: Path) -> list[dict]:
    return json.loads((fixtures_dir / "feeds" / "manifest.json").read_text())


def feed_sources(server, fixtures_dir: Path) -> list[Source]:
    return [
        Source(
            id=f"f{index:03d}",
            name=item["outlet"],
            kind="feed",
            url=server.url(f"feeds/{item['file']}"),
            language=MANIFEST_LANG.get(item["lang"]),
            interval_s=600,
        )
        for index, item in enumerate(manifest(fixtures_dir))
    ]


def run_cycle(storage: Path, sources: list[Source], **fetch_overrides) -> tuple[list[SourceReport], int]:
    async def go() -> tuple[list[SourceReport], int]:
        values = {"user_agent": "pressbot-test", "timeout": 5, "retries": 0, "allow_private_networks": True}
        opts = FetchOptions(**(values | fetch_overrides))
        async with Fetcher(opts) as fetcher:
            with Archive.open(storage) as archive:
                collector = Collector(archive=archive, fetcher=fetcher, clock=lambda: NOW)
                try:
                    return await collector.run_cycle(sources), fetcher.bytes_received
                finally:
                    collector.close()

    return asyncio.run(go())


@pytest.fixture(scope="module")
def collected(fixtures_dir, tmp_path_factory):
    """One cycle over all ~100 feeds, then a second (conditional) cycle; shared by the tests below."""
    from tests.httpserver import FixtureHTTPServer

    storage = tmp_path_factory.mktemp("storage")
    with FixtureHTTPServer(fixtures_dir) as server:
        sources = feed_sources(server, fixtures_dir)
        first, first_bytes = run_cycle(storage, sources)
        second, second_bytes = run_cycle(storage, sources)
    return {
        "storage": storage,
        "sources": sources,
        "first": first,
        "second": second,
        "bytes": (first_bytes, second_bytes),
    }


def test_every_feed_yields_its_items_or_a_readable_recorded_error(collected, fixtures_dir):
    items = manifest(fixtures_dir)
    with Archive.open(collected["storage"]) as archive:
        states = archive.source_states()
    for item, source, report in zip(items, collected["sources"], collected["first"], strict=True):
        if report.failed:
            assert item["n_items"] == 0, (
                f"{item['file']} has {item['n_items']} items but failed: {report.errors}"
            )
            message = states[source.id].last_error
            assert message and source.url in message and "—" in message  # says what and what to do
            assert states[source.id].failures == 2  # both cycles failed, counted
        else:
            stored = report.new + report.updated + report.unchanged
            # Items sharing a link collapse into one article (same URL = same item), also across the
            # NYT snapshots of one section: later snapshots find their items already archived.
            assert 0 < stored <= item["n_items"] or item["n_items"] == 0, (item["file"], report)


def test_failed_feeds_are_the_broken_ones(collected, fixtures_dir):
    failed = {
        item["file"]
        for item, report in zip(manifest(fixtures_dir), collected["first"], strict=True)
        if report.failed
    }
    assert failed, "the fixture set contains unreadable feeds"
    assert all(not item["xml_wellformed"] for item in manifest(fixtures_dir) if item["file"] in failed)


def test_second_cycle_is_all_304_and_moves_few_bytes(collected):
    second = collected["second"]
    readable = [r for r, f in zip(second, collected["first"], strict=True) if not f.failed]
    assert all(r.not_modified for r in readable)
    first_bytes, second_bytes = collected["bytes"]
    assert second_bytes < 0.05 * first_bytes


def _find(archive: Archive, text: str) -> list:
    return archive.search(SearchQuery(text, limit=50))


def test_gb2312_feed_text_is_correct_chinese(collected):
    with Archive.open(collected["storage"]) as archive:
        hits = _find(archive, "崇尚英雄")
        assert any(hit.title == "习近平为何如此强调崇尚英雄？" for hit in hits)
        assert all(hit.language == "zh" for hit in hits)
        forum = _find(archive, "华表")
        assert any("建国35周年纪念" in hit.title for hit in forum)


def test_latin1_feeds_decode_accents(collected):
    with Archive.open(collected["storage"]) as archive:
        assert any(hit.title.startswith("Mãe de utente") for hit in _find(archive, "utente"))
        assert any("Glasfaserförder" in hit.title for hit in _find(archive, "Digitalministerium"))
        assert any(hit.title == "ZAŻÓŁĆ GĘSLĄ JAŹŃ" for hit in _find(archive, "GĘSLĄ"))


def test_relative_links_are_resolved(collected):
    with Archive.open(collected["storage"]) as archive:
        for article in _find(archive, "Pareto") + _find(archive, "Robots Run Amok"):
            assert article.url.startswith(("http://", "https://")), article.url
        insanity = _find(archive, "Pareto")
        assert insanity and insanity[0].url == "https://insanity.industries/post/pareto-optimal-compression/"


def test_entries_without_dates_are_kept_with_fetch_time(collected):
    with Archive.open(collected["storage"]) as archive:
        undated = _find(archive, "Missili Polonia")
        assert undated and undated[0].published_at is None and undated[0].fetched_at == NOW


def test_entries_without_links_get_a_stable_identity(collected):
    with Archive.open(collected["storage"]) as archive:
        hits = _find(archive, "信息交换用汉字编码字符集")
        assert len(hits) == 1 and hits[0].url.startswith("urn:pressbot:")


def test_billion_laughs_document_cannot_expand(tmp_path, bare_server):
    laughs = (
        b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
        + b"".join(
            f' <!ENTITY lol{i} "{"&lol" + (str(i - 1) if i > 1 else "") + ";"}{"&lol" + (str(i - 1) if i > 1 else "") + ";" * 1}">\n'.encode()
            for i in range(1, 10)
        )
        + b']>\n<rss version="2.0"><channel><title>&lol9;</title><item><title>safe &lol9;</title>'
        b"<link>http://example.com/a</link></item></channel></rss>"
    )
    bare_server.documents["laughs.xml"] = (laughs, "application/rss+xml")
    source = Source(
        id="laughs",
        name="laughs",
        kind="feed",
        url=bare_server.url("data/laughs.xml"),
        language="en",
        interval_s=600,
    )
    (report,), _ = run_cycle(tmp_path, [source])
    with Archive.open(tmp_path) as archive:
        articles = _find(archive, "safe")
    assert len(articles) <= 1
    if articles:
        assert len(articles[0].title) < 100  # the entity was not expanded
    else:
        assert report.failed and report.errors


def test_broken_sources_do_not_stop_the_cycle_and_lose_nothing(tmp_path, server):
    good = Source(
        id="good",
        name="good",
        kind="feed",
        url=server.url("feeds/en/guardian_us.rss"),
        language="en",
        interval_s=600,
    )
    bad = [
        replace(good, id="gone", url=server.url("status/404")),
        replace(good, id="down", url=server.url("status/500")),
        replace(good, id="slow", url=server.url("sleep/3/feeds/en/guardian_us.rss")),
        replace(good, id="huge", url=server.url("huge")),
        replace(good, id="notfeed", url=server.url("feeds/en/reuters_most_read_invalid.xml")),
    ]
    reports, _ = run_cycle(tmp_path, [good, *bad], timeout=1.0)
    by_id = {r.source_id: r for r in reports}
    assert by_id["good"].new == 55 and not by_id["good"].failed
    for source in bad:
        assert by_id[source.id].failed, source.id
    # A later failing cycle of the good source keeps everything it collected.
    again, _ = run_cycle(tmp_path, [replace(good, url=server.url("status/503"))], timeout=1.0)
    assert again[0].failed
    with Archive.open(tmp_path) as archive:
        states = archive.source_states()
        assert archive.count() == 55
    assert states["good"].failures == 1 and "HTTP 503" in (states["good"].last_error or "")
    assert states["good"].last_success == NOW
    assert "timeout" in (states["slow"].last_error or "")
    assert "larger than" in (states["huge"].last_error or "")
