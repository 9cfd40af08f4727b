"""`pressbot digest` and `pressbot outbox` as a user runs them, posting to the fake Bot API server."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from click.testing import CliRunner, Result

from pressbot.cli import main
from pressbot.models import Article
from pressbot.store import Archive
from tests.faketelegram import FakeTelegram, parse_telegram_html
from tests.test_telegram_digest import NOW, SOURCES_YAML, seed

TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"
SINCE = ["--since", "2025-04-14T00:00Z"]


@pytest.fixture
def home(tmp_path):
    (tmp_path / "sources.yaml").write_text(SOURCES_YAML, encoding="utf-8")
    with Archive.open(tmp_path / "storage") as archive:
        seed(archive)
    return tmp_path


@pytest.fixture
def fake():
    with FakeTelegram(TOKEN) as server:
        yield server


def pressbot(home, *args: str, check: bool = True, env: dict[str, str] | None = None) -> Result:
    """The real command, in-process (a subprocess start costs seconds); the kill test uses a real process."""
    environ = {"PRESSBOT_SOURCES": str(home / "sources.yaml"), "PRESSBOT_STORAGE": str(home / "storage")}
    result = CliRunner().invoke(main, list(args), env=environ | (env or {}), catch_exceptions=False)
    if check:
        assert result.exit_code == 0, result.stderr
    return result


def env(fake: FakeTelegram, **extra: str) -> dict[str, str]:
    return {"PRESSBOT_TELEGRAM_TOKEN": TOKEN, "PRESSBOT_TELEGRAM_BASE_URL": fake.base_url} | extra


def test_digest_prints_what_the_channel_would_get(home):
    result = pressbot(home, "digest", "--channel", "press-it", *SINCE)
    assert "── press-it → @pressbot_it (it, Europe/Rome) · 4 of 4 stories · 1 message(s)" in result.stdout
    assert re.search(r"── message 1/1 · \d+/4096 characters", result.stdout)
    assert "1. Moda, Shenzhen e Milano più vicine" in result.stdout
    assert "Budget <b>cuts</b> & protests" in result.stdout
    assert "Corriere della Sera <https://corriere.example/2>" in result.stdout
    preview = pressbot(home, "digest", "--channel", "press-it", "--lang", "zh", "--json", *SINCE)
    [digest] = json.loads(preview.stdout)["digests"]
    assert digest["language"] == "zh" and digest["scheduled"] is False and digest["digest_id"] is None
    assert digest["stories"][0]["headline"] == "深圳（龙华）—米兰双城时装周在米兰开幕"
    assert json.loads(preview.stdout)["delivery"] is None


def test_usage_and_configuration_errors_are_one_line_and_queue_nothing(home, fake):
    both = pressbot(home, "digest", "--since", "24h", "--hours", "3", check=False)
    assert both.exit_code == 2 and "give --since or --hours, not both" in both.stderr
    no_token = pressbot(home, "digest", "--post", check=False)
    assert no_token.exit_code == 2 and "PRESSBOT_TELEGRAM_TOKEN is not set" in no_token.stderr
    unknown = pressbot(home, "digest", "--channel", "press-iy", check=False)
    assert (
        unknown.exit_code == 2
        and "no channel 'press-iy'" in unknown.stderr
        and "did you mean 'press-it'" in unknown.stderr
    )
    preview_post = pressbot(home, "digest", "--post", "--lang", "en", check=False, env=env(fake))
    assert preview_post.exit_code == 2 and "--lang only previews" in preview_post.stderr
    status = json.loads(pressbot(home, "outbox", "--json").stdout)
    assert status["messages"] == [] and all(row["last_digest_at"] is None for row in status["channels"])


def test_post_delivers_through_the_outbox_and_status_shows_it(home, fake):
    result = pressbot(home, "digest", "--channel", "press-it", "--post", *SINCE, env=env(fake))
    assert "delivered: 1 sent, 0 failed, 0 still pending" in result.stdout
    [message] = fake.delivered
    assert message.chat == "@pressbot_it" and message.text.startswith("Rassegna stampa\n")
    assert "Budget <b>cuts</b> & protests" in message.text  # escaped on the way, literal on arrival
    status = json.loads(pressbot(home, "outbox", "--json").stdout)
    row = next(r for r in status["channels"] if r["channel"] == "press-it")
    assert (row["sent"], row["pending"], row["failed"], row["last_error"]) == (1, 0, 0, None)
    assert row["last_sent_at"] is not None


def test_a_removed_bot_is_reported_then_retried_after_the_fix(home, fake):
    fake.forbidden_chats.add("@pressbot_it")
    result = pressbot(home, "digest", "--post", *SINCE, check=False, env=env(fake))
    assert result.exit_code == 1
    assert "pressbot: press-it: the bot may not post to @pressbot_it" in result.stderr
    assert fake.texts("-1001234567890") and fake.texts("@pressbot_quiet")  # the other channels got theirs
    table = pressbot(home, "outbox").stdout
    assert "press-it" in table and "failed" in table and "add the bot" in table
    fake.forbidden_chats.clear()
    assert "1 failed message(s) are pending again" in pressbot(home, "outbox", "retry").stdout
    sent = pressbot(home, "outbox", "send", "--json", env=env(fake))
    assert json.loads(sent.stdout)["sent"] == 1 and len(fake.texts("@pressbot_it")) == 1


def test_a_sender_killed_mid_digest_resumes_without_losing_or_repeating(home, fake):
    with Archive.open(home / "storage") as archive:  # enough stories for several messages
        archive.upsert(
            [
                Article(
                    source_id="corriere",
                    url=f"https://corriere.example/long/{i}",
                    title=f"Notizia {i}: " + "una frase lunga che riempie il messaggio. " * 12,
                    language="it",
                    fetched_at=NOW - timedelta(minutes=i),
                    published_at=NOW - timedelta(minutes=i),
                    content_hash=f"long{i}",
                )
                for i in range(40)
            ],
            now=NOW,
        )
    environ = (
        os.environ
        | {
            "PRESSBOT_SOURCES": str(home / "sources.yaml"),
            "PRESSBOT_STORAGE": str(home / "storage"),
            "PRESSBOT_TELEGRAM_CHAT_RATE": "120",  # a message every 0.5 s: time to be killed between two
        }
        | env(fake)
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pressbot",
            "digest",
            "--channel",
            "press-it",
            "--post",
            "--since",
            "2025-01-01",
        ],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )

    def kill_after_second(delivered) -> None:
        if len(fake.texts()) == 2:  # killed in the pause after Telegram confirmed message 2
            threading.Timer(0.25, process.send_signal, (signal.SIGKILL,)).start()

    fake.on_delivered = kill_after_second
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert len(fake.texts()) == 2
    status = json.loads(pressbot(home, "outbox", "--json").stdout)
    parts = {m["part"]: m["parts"] for m in status["messages"]}
    assert parts and min(parts) == 3  # messages 1-2 are known as sent, the rest pending
    resumed = pressbot(home, "outbox", "send", "--json", env=env(fake, PRESSBOT_TELEGRAM_CHAT_RATE="6000"))
    total = next(iter(parts.values()))
    assert json.loads(resumed.stdout)["sent"] == total - 2
    texts = fake.texts()
    assert len(texts) == total == len(set(texts))  # none lost, none twice
    numbers = [int(m.group(1)) for text in texts for m in re.finditer(r"^(\d+)\. ", text, re.M)]
    assert numbers == list(range(1, len(numbers) + 1))  # in order
    assert [t.split("\n")[0] for t in texts[1:]] == [
        f"Rassegna stampa (continua) {i}/{total}" for i in range(2, total + 1)
    ]
    for message in fake.delivered:
        parse_telegram_html(message.html)
