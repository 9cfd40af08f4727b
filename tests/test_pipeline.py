"""A whole collection cycle over every captured feed in ../shared/fixtures/feeds, served over HTTP."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pressbot.fetch import Fetcher, FetchOptions
from pressbot.glossary import Glossary, GlossaryEntry
from pressbot.leads import lead_text
from pressbot.models import Source, SourceReport
from pressbot.pipeline import Collector, TranslationReport, translate_backlog
from pressbot.store import Archive, SearchQuery
from pressbot.translate.engine import EngineOptions, Translator
from pressbot.translate.packages import install_package

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


# ----------------------------------------------------------------------------- translation in the cycle

EN_FEED = b"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>en</title>
<item><title>hello world</title><link>http://example.com/en/1</link>
<description>good morning, president. the city news today.</description></item>
<item><title>news of the Bi-City Fashion Week</title><link>http://example.com/en/2</link></item>
</channel></rss>"""
ZH_FEED = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>zh</title>
<item><title>你好世界</title><link>http://example.com/zh/1</link><description>今天新闻。</description></item>
</channel></rss>""".encode()
EN_IT = "argos:translate-en_it-0.0.1"


def install_models(folder: Path, fixtures_dir: Path, *directions: tuple[str, str]) -> Path:
    for source, target in directions:
        install_package(folder, fixtures_dir / "argos" / f"translate-{source}_{target}-tiny.argosmodel")
    return folder


def translation_sources(server) -> list[Source]:
    server.documents["en.xml"] = (EN_FEED, "application/rss+xml")
    server.documents["zh.xml"] = (ZH_FEED, "application/rss+xml")
    return [
        Source(
            id="en-feed", name="en", kind="feed", url=server.url("data/en.xml"), language="en", interval_s=600
        ),
        Source(
            id="zh-feed", name="zh", kind="feed", url=server.url("data/zh.xml"), language="zh", interval_s=600
        ),
    ]


def cycle_and_translate(
    storage: Path, sources: list[Source], translator: Translator
) -> tuple[list[SourceReport], TranslationReport]:
    async def go() -> tuple[list[SourceReport], TranslationReport]:
        opts = FetchOptions(user_agent="pressbot-test", timeout=5, retries=0, allow_private_networks=True)
        async with Fetcher(opts) as fetcher:
            with Archive.open(storage) as archive:
                collector = Collector(archive=archive, fetcher=fetcher, clock=lambda: NOW)
                try:
                    reports = await collector.run_cycle(sources)
                    return reports, await collector.translate(translator)
                finally:
                    collector.close()

    return asyncio.run(go())


def translations_of(storage: Path, title: str) -> dict[str, dict[str, tuple[str, str]]]:
    with Archive.open(storage) as archive:
        [hit] = [a for a in _find(archive, title) if a.title == title]
        return archive.latest_translations([hit.title, lead_text(hit)], source=hit.language)


def test_a_cycle_translates_new_titles_and_leads_and_the_backlog_catches_up(
    tmp_path, bare_server, fixtures_dir
):
    models = install_models(tmp_path / "models", fixtures_dir, ("en", "it"), ("it", "en"))
    glossary = Glossary(
        (GlossaryEntry(terms={"en": ("Bi-City Fashion Week",), "it": ("Settimana della moda Bi-City",)}),)
    )
    translator = Translator(models, EngineOptions(intra_threads=1), glossary=glossary)
    storage = tmp_path / "storage"
    reports, report = cycle_and_translate(storage, translation_sources(bare_server), translator)
    assert [r.new for r in reports] == [2, 1]
    assert report.articles == 3 and report.translated_articles == 2
    assert report.texts == 3  # two titles and one lead (the second article has none) en→it
    assert report.unavailable == {("en", "zh"): 2, ("zh", "en"): 1, ("zh", "it"): 1}
    assert report.errors == []
    assert translations_of(storage, "hello world") == {
        "it": {
            "hello world": ("ciao mondo", EN_IT),
            "good morning, president. the city news today.": (
                "buono mattina, presidente. the città notizie oggi.",
                EN_IT,
            ),
        }
    }
    [(event_title, event_model)] = translations_of(storage, "news of the Bi-City Fashion Week")["it"].values()
    assert event_title == "notizie of the Settimana della moda Bi-City"
    assert event_model.startswith(EN_IT + "+glossary-")
    assert translations_of(storage, "你好世界") == {}  # no zh model yet: the backlog

    # A second cycle brings nothing new, so translates nothing.
    _, again = cycle_and_translate(storage, translation_sources(bare_server), translator)
    assert again.articles == 0 and again.texts == 0

    # The missing models arrive: the backlog translates exactly what is missing, once.
    install_models(models, fixtures_dir, ("en", "zh"), ("zh", "en"))
    complete = Translator(models, EngineOptions(intra_threads=1), glossary=glossary)
    seen: list[int] = []
    with Archive.open(storage) as archive:
        backlog = translate_backlog(
            complete, archive, now=NOW, batch=2, progress=lambda checked, running: seen.append(checked)
        )
        assert seen == [2, 3]  # two pages of at most 2 articles
        assert (backlog.articles, backlog.translated_articles) == (3, 3)
        assert backlog.texts == 3 + 2 + 2  # en→zh (2 titles, 1 lead), zh→en and zh→it (title, lead)
        assert backlog.cached == 3 and not backlog.unavailable
        done = translate_backlog(complete, archive, now=NOW)
        assert (done.translated_articles, done.texts, done.cached) == (0, 0, 10)
    chinese = translations_of(storage, "你好世界")
    assert chinese["it"]["你好世界"] == ("ciao mondo", "argos:translate-zh_en-0.0.1+translate-en_it-0.0.1")
    # Searches see the translations: Italian words find the Chinese article by its translated title.
    with Archive.open(storage) as archive:
        [hit] = archive.search(SearchQuery(text="ciao mondo", language="zh"))
        assert hit.title == "你好世界"
        assert archive.search(SearchQuery(text="buongiorno", language="zh")) == []
    assert chinese["en"]["今天新闻。"][0] == "today news。"
    assert translations_of(storage, "hello world")["zh"]["hello world"][0] == "你好世界"


def test_backlog_limit_counts_only_articles_that_needed_a_translation(tmp_path, bare_server, fixtures_dir):
    models = install_models(tmp_path / "models", fixtures_dir, ("en", "it"))
    translator = Translator(models, EngineOptions(intra_threads=1))
    storage = tmp_path / "storage"
    cycle_and_translate(storage, translation_sources(bare_server), Translator(tmp_path / "none"))
    with Archive.open(storage) as archive:
        first = translate_backlog(translator, archive, now=NOW, limit=1)
        assert first.translated_articles == 1 and first.unavailable == {
            ("zh", "en"): 1,
            ("zh", "it"): 1,
            ("en", "zh"): 1,
        }
        second = translate_backlog(translator, archive, now=NOW, limit=1)
        assert second.translated_articles == 1
        third = translate_backlog(translator, archive, now=NOW, limit=5)
        assert third.translated_articles == 0 and third.texts == 0
    assert set(translations_of(storage, "hello world")) == {"it"}
    assert set(translations_of(storage, "news of the Bi-City Fashion Week")) == {"it"}


def test_a_failing_model_does_not_break_the_cycle_and_leaves_a_backlog(tmp_path, bare_server, fixtures_dir):
    models = install_models(tmp_path / "models", fixtures_dir, ("en", "it"))
    model_bin = models / "translate-en_it" / "model" / "model.bin"
    good = model_bin.read_bytes()
    model_bin.write_bytes(b"not a model" * 100)  # damaged after installation
    storage = tmp_path / "storage"
    reports, report = cycle_and_translate(storage, translation_sources(bare_server), Translator(models))
    assert [r.new for r in reports] == [2, 1] and not any(r.failed for r in reports)
    assert report.texts == 0 and report.translated_articles == 0
    [error] = report.errors
    assert error.startswith("en→it (2 articles): the en→it model") and "pressbot models install" in error
    with Archive.open(storage) as archive:
        assert archive.count() == 3  # everything collected is kept
    assert translations_of(storage, "hello world") == {}
    model_bin.write_bytes(good)  # repaired: the backlog translates what the cycle could not
    with Archive.open(storage) as archive:
        backlog = translate_backlog(Translator(models), archive, now=NOW)
    assert backlog.translated_articles == 2 and backlog.texts == 3
    assert translations_of(storage, "hello world")["it"]["hello world"][0] == "ciao mondo"
