"""Alerts: new stories of topics marked `alert: true`, queued once per channel through the outbox,
and `pressbot bot` as a user starts and stops it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from pressbot.config import Config, Secret, parse_config
from pressbot.errors import ConfigError
from pressbot.models import Article, StoryLink
from pressbot.store import Archive
from pressbot.telegram.alerts import queue_alerts
from pressbot.telegram.deliver import DeliveryOptions, Sender
from tests.faketelegram import FakeTelegram, parse_telegram_html
from tests.test_telegram_cli import pressbot
from tests.test_telegram_digest import NOW, SOURCES_YAML, seed

TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"
ALERT_YAML = SOURCES_YAML.replace(
    "    name: Bi-City Fashion Week\n", "    name: Bi-City Fashion Week\n    alert: true\n"
)


@pytest.fixture
def config() -> Config:
    return parse_config(ALERT_YAML, path=Path("sources.yaml"))


@pytest.fixture
def archive(tmp_path):
    with Archive.open(tmp_path / "storage") as opened:
        seed(opened)
        yield opened


def add_article(archive: Archive, n: int, title: str, *, story: int | None, minutes_after: int) -> int:
    moment = NOW + timedelta(minutes=minutes_after)
    [(_, article_id)] = archive.upsert(
        [
            Article(
                source_id="corriere",
                url=f"https://corriere.example/alert/{n}",
                title=title,
                language="it",
                fetched_at=moment,
                published_at=moment,
                content_hash=f"alert{n}",
            )
        ],
        now=moment,
    )
    story_id = story if story is not None else archive.create_story(moment)
    archive.record_links(
        [
            StoryLink(
                article_id=article_id,
                story_id=story_id,
                score=1.0,
                reason="test",
                moment=moment,
                minhash=b"",
                vector=b"",
                model="test",
            )
        ],
        now=moment,
    )
    return story_id


def test_the_alert_key_is_validated():
    assert parse_config(ALERT_YAML, path=Path("s.yaml")).alert_topics == ("bi-city-fashion-week",)
    assert parse_config(SOURCES_YAML, path=Path("s.yaml")).alert_topics == ()
    with pytest.raises(ConfigError, match="key 'alert' must be true or false"):
        parse_config(ALERT_YAML.replace("alert: true", "alert: sometimes"), path=Path("s.yaml"))


def test_a_new_matching_story_is_queued_once_per_following_channel(archive, config):
    report = queue_alerts(archive, config, since=NOW - timedelta(hours=6), now=NOW)
    fashion = archive.story_of([1])[1]
    # press-zh follows the topic; press-it and quiet-en have no topics, so they follow everything
    assert report.queued == {"press-it": [fashion], "press-zh": [fashion], "quiet-en": [fashion]}
    messages = {m.channel_id: m for m in archive.open_messages()}
    zh = parse_telegram_html(messages["press-zh"].text)
    assert zh.startswith("提醒 · Bi-City Fashion Week\n\n1. 深圳（龙华）—米兰双城时装周在米兰开幕")
    assert messages["press-zh"].chat == "-1001234567890"
    assert parse_telegram_html(messages["press-it"].text).startswith(
        "Allerta · Bi-City Fashion Week\n\n1. Moda, Shenzhen e Milano più vicine"
    )
    # the same period again, a wider one, and a new article joining the same story: nothing new
    assert queue_alerts(archive, config, since=NOW - timedelta(hours=6), now=NOW).total == 0
    add_article(archive, 1, "Shenzhen, la sfilata continua", story=fashion, minutes_after=10)
    assert (
        queue_alerts(archive, config, since=NOW - timedelta(days=3), now=NOW + timedelta(hours=1)).total == 0
    )
    # a new story about the topic: alerted; one about something else: not
    fresh = add_article(archive, 2, "Shenzhen porta la moda a Milano", story=None, minutes_after=20)
    add_article(archive, 3, "Il meteo di domani", story=None, minutes_after=21)
    later = queue_alerts(archive, config, since=NOW + timedelta(minutes=15), now=NOW + timedelta(hours=1))
    assert later.queued == {"press-it": [fresh], "press-zh": [fresh], "quiet-en": [fresh]}
    assert len(archive.open_messages()) == 6


def test_alerts_are_delivered_through_the_outbox_exactly_once(archive, config):
    async def deliver(fake: FakeTelegram):
        options = DeliveryOptions(chat_interval=0, global_interval=0, backoff=0)
        async with Sender(archive, token=Secret(TOKEN), base_url=fake.base_url, options=options) as sender:
            return await sender.deliver()

    with FakeTelegram(TOKEN) as fake:
        fake.fail_next("429")
        fake.retry_after = 0
        queue_alerts(archive, config, since=NOW - timedelta(hours=6), now=NOW)
        report = asyncio.run(deliver(fake))
        assert report.sent == 3 and report.pending == 0
        queue_alerts(archive, config, since=NOW - timedelta(hours=6), now=NOW + timedelta(minutes=1))
        assert asyncio.run(deliver(fake)).sent == 0
        assert sorted(d.chat for d in fake.delivered) == ["-1001234567890", "@pressbot_it", "@pressbot_quiet"]


@pytest.fixture
def home(tmp_path):
    (tmp_path / "sources.yaml").write_text(ALERT_YAML, encoding="utf-8")
    with Archive.open(tmp_path / "storage") as archive:
        seed(archive)
    return tmp_path


def test_pressbot_bot_needs_a_token(home):
    result = pressbot(home, "bot", check=False)
    assert result.exit_code == 2 and "PRESSBOT_TELEGRAM_TOKEN is not set" in result.stderr


def test_pressbot_bot_answers_and_sends_until_sigterm(home):
    with FakeTelegram(TOKEN) as fake, Archive.open(home / "storage") as archive:
        queue_alerts(
            archive, parse_config(ALERT_YAML, path=Path("s.yaml")), since=NOW - timedelta(hours=6), now=NOW
        )
        environ = os.environ | {
            "PRESSBOT_SOURCES": str(home / "sources.yaml"),
            "PRESSBOT_STORAGE": str(home / "storage"),
            "PRESSBOT_TELEGRAM_TOKEN": TOKEN,
            "PRESSBOT_TELEGRAM_BASE_URL": fake.base_url,
            "PRESSBOT_TELEGRAM_OFFICERS": "1001",
            "PRESSBOT_TELEGRAM_CHAT_RATE": "6000",
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "pressbot", "bot", "--deliver-every", "1"],
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            fake.send_command(1001, "/help")
            [reply] = fake.wait_replies(1001, 1, timeout=60)
            assert "/digest" in reply.text
            fake.wait_for(lambda: len([d for d in fake.delivered if d.chat != "1001"]) == 3, timeout=30)
            deadline = time.monotonic() + 30
            while archive.open_messages() and time.monotonic() < deadline:  # confirmed in the outbox too
                time.sleep(0.05)
            assert archive.open_messages() == []
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr.decode()
    log = stderr.decode()
    assert "bot running" in log and "pressbot: bot stopped." in log
    assert TOKEN not in log and TOKEN.split(":")[1] not in log
