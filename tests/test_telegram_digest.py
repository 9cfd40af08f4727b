"""Digests from a real archive: the period, topics, ranking, cached translations, the outbox rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from pressbot.config import Config, parse_config
from pressbot.errors import ConfigError
from pressbot.models import Article, StoryLink
from pressbot.store import Archive, migrations
from pressbot.telegram.service import DigestRequest, prepare_digest, queue_digest
from tests.faketelegram import parse_telegram_html

NOW = datetime(2025, 4, 15, 8, 0, tzinfo=UTC)
SOURCES_YAML = """
sources:
  - {id: xinhua-zh, name: Xinhua, kind: feed, url: "https://xinhua.example/rss", language: zh}
  - {id: corriere, name: Corriere della Sera, kind: feed, url: "https://corriere.example/rss", language: it}
  - {id: ansa-en, name: ANSA English, kind: feed, url: "https://ansa.example/rss", language: en}
  - {id: cctv, name: CCTV, kind: feed, url: "https://cctv.example/rss", language: zh}
topics:
  - id: bi-city-fashion-week
    name: Bi-City Fashion Week
    keywords: {zh: [双城时装周], it: [Shenzhen], en: [Bi-City Fashion Week]}
channels:
  - {id: press-it, chat: "@pressbot_it", language: it, schedule: "0 8,18 * * *", timezone: Europe/Rome}
  - {id: press-zh, chat: "-1001234567890", language: zh, timezone: Asia/Shanghai, topics: [bi-city-fashion-week]}
  - {id: quiet-en, chat: "@pressbot_quiet", language: en, skip_empty: true}
"""


def article(n: int, source: str, language: str, title: str, *, hours_ago: float) -> Article:
    moment = NOW - timedelta(hours=hours_ago)
    return Article(
        source_id=source,
        url=f"https://{source}.example/{n}",
        title=title,
        language=language,
        fetched_at=moment,
        published_at=moment,
        content_hash=f"h{n}",
    )


def seed(archive: Archive, *, now: datetime = NOW) -> dict[str, int]:
    """Three stories and a loose article in the last day, and an old story outside it."""
    articles = [
        article(1, "xinhua-zh", "zh", "深圳（龙华）—米兰双城时装周在米兰开幕", hours_ago=5),
        article(2, "corriere", "it", "Moda, Shenzhen e Milano più vicine", hours_ago=4),
        article(3, "ansa-en", "en", "Bi-City Fashion Week opens in Milan", hours_ago=3),
        article(4, "cctv", "zh", "中国国际进口博览会开幕", hours_ago=2),
        article(5, "ansa-en", "en", "Budget <b>cuts</b> & protests", hours_ago=1),
        article(6, "corriere", "it", "Un articolo non ancora in una storia", hours_ago=0.5),
        article(7, "corriere", "it", "Notizia di tre giorni fa", hours_ago=72),
    ]
    ids = [stored for _, stored in archive.upsert(articles, now=now)]
    groups = {"fashion": ids[0:3], "expo": [ids[3]], "budget": [ids[4]], "old": [ids[6]]}
    stories: dict[str, int] = {}
    by_id = {stored: a for stored, a in zip(ids, articles, strict=True)}
    for name, members in groups.items():
        first = min(by_id[m].published_at for m in members)  # type: ignore[type-var]
        stories[name] = archive.create_story(first)
        archive.record_links(
            [
                StoryLink(
                    article_id=m,
                    story_id=stories[name],
                    score=1.0,
                    reason="test",
                    moment=by_id[m].published_at,  # type: ignore[arg-type]
                    minhash=b"",
                    vector=b"",
                    model="test",
                )
                for m in members
            ],
            now=now,
        )
    archive.store_translations(
        [("中国国际进口博览会开幕", "Si apre la China International Import Expo")],
        source="zh",
        target="it",
        model="zh→en+en→it",
        now=now,
    )
    return stories


@pytest.fixture
def config() -> Config:
    return parse_config(SOURCES_YAML, path=Path("sources.yaml"))


@pytest.fixture
def archive(tmp_path):
    with Archive.open(tmp_path) as opened:
        seed(opened)
        yield opened


def channel(config: Config, channel_id: str):
    return next(c for c in config.channels if c.id == channel_id)


def test_digest_ranks_by_coverage_and_recency_and_translates_from_the_cache(archive, config):
    prepared = prepare_digest(archive, config, DigestRequest(channel(config, "press-it")), now=NOW)
    entries = prepared.digest.entries
    headlines = [e.headline for e in entries]
    # the three-outlet story first; the 72-hour-old story is outside the default 24 hours
    assert headlines[0] == "Moda, Shenzhen e Milano più vicine" and entries[0].native
    assert [o.name for o in entries[0].outlets] == ["Corriere della Sera", "Xinhua", "ANSA English"]
    assert "Notizia di tre giorni fa" not in headlines
    expo = next(e for e in entries if e.original == "中国国际进口博览会开幕")
    assert expo.headline == "Si apre la China International Import Expo"
    assert expo.machine_translated and expo.model == "zh→en+en→it" and expo.original_language == "zh"
    loose = next(e for e in entries if e.story_id is None)
    assert loose.headline == "Un articolo non ancora in una storia"
    budget = next(e for e in entries if e.original.startswith("Budget"))
    assert not budget.machine_translated and budget.headline == budget.original  # no translation cached
    shown = parse_telegram_html(prepared.messages[0])
    assert "Budget <b>cuts</b> & protests" in shown and "traduzione automatica dal cinese" in shown
    assert len(entries) == prepared.digest.candidates == 4


def test_topic_and_language_filters(archive, config):
    zh = prepare_digest(archive, config, DigestRequest(channel(config, "press-zh")), now=NOW)
    [story] = zh.digest.entries
    assert story.headline == "深圳（龙华）—米兰双城时装周在米兰开幕" and story.native
    assert zh.digest.title == "Bi-City Fashion Week"
    preview = prepare_digest(
        archive,
        config,
        DigestRequest(channel(config, "press-it"), topic="bi-city-fashion-week", language="en"),
        now=NOW,
    )
    assert [e.headline for e in preview.digest.entries] == ["Bi-City Fashion Week opens in Milan"]
    with pytest.raises(ConfigError, match="no topic 'bi-city-fashionweek' in sources.yaml — did you mean"):
        request = DigestRequest(channel(config, "press-it"), topic="bi-city-fashionweek")
        prepare_digest(archive, config, request, now=NOW)


def test_max_stories_and_an_explicit_period(archive, config):
    request = DigestRequest(channel(config, "press-it"), since=NOW - timedelta(hours=100))
    prepared = prepare_digest(archive, config, request, now=NOW)
    assert "Notizia di tre giorni fa" in [e.headline for e in prepared.digest.entries]
    assert not request.scheduled


def test_queued_digest_moves_the_channel_on_and_the_next_one_is_empty(archive, config):
    press_it = channel(config, "press-it")
    prepared = prepare_digest(archive, config, DigestRequest(press_it), now=NOW)
    digest_id = queue_digest(archive, prepared, now=NOW)
    [message] = archive.open_messages()
    assert (message.digest_id, message.chat, message.status, message.part, message.parts) == (
        digest_id,
        "@pressbot_it",
        "pending",
        1,
        1,
    )
    assert archive.channel_state("press-it").last_digest_at == NOW
    later = NOW + timedelta(hours=1)
    empty = prepare_digest(archive, config, DigestRequest(press_it), now=later)
    assert empty.digest.since == NOW and not empty.digest.entries
    assert parse_telegram_html(empty.messages[0]) == "Rassegna stampa\nNessuna novità dal 15/04 10:00."
    # a one-off (topic or period) digest does not move the channel's clock
    queue_digest(
        archive,
        prepare_digest(archive, config, DigestRequest(press_it, topic="bi-city-fashion-week"), now=later),
        now=later,
    )
    assert archive.channel_state("press-it").last_digest_at == NOW


def test_empty_digest_is_skipped_when_the_channel_says_so(archive, config):
    quiet = channel(config, "quiet-en")
    # the regular digest first, to have an empty period after it
    queue_digest(archive, prepare_digest(archive, config, DigestRequest(quiet), now=NOW), now=NOW)
    skipped = prepare_digest(archive, config, DigestRequest(quiet), now=NOW + timedelta(hours=1))
    assert skipped.skipped and skipped.messages == ()
    queue_digest(archive, skipped, now=NOW + timedelta(hours=1))
    assert len([m for m in archive.open_messages() if m.channel_id == "quiet-en"]) == 1
    assert archive.channel_state("quiet-en").last_digest_at == NOW + timedelta(hours=1)


def test_a_version_5_archive_is_migrated_to_the_outbox_keeping_its_rows(tmp_path):
    with Archive.open(tmp_path) as opened:
        seed(opened)
        with opened.engine.begin() as conn:  # pretend v6 never ran
            for table in ("outbox", "digests", "channel_state"):
                conn.execute(text(f"DROP TABLE {table}"))
            conn.execute(text("DELETE FROM schema_version WHERE version = 6"))
    with Archive.open(tmp_path) as reopened:
        assert reopened.count() == 7
        with reopened.engine.connect() as conn:
            assert migrations.current_version(conn) == migrations.CURRENT_VERSION == 6
        assert reopened.open_messages() == [] and reopened.channel_states() == {}
    assert list((tmp_path / "backups").glob("pressbot-v5-*.db"))
