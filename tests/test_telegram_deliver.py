"""Delivery through the real python-telegram-bot `Bot`, against the fake Bot API server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pressbot.config import Secret
from pressbot.errors import ConfigError
from pressbot.store import Archive
from pressbot.store.outbox import DigestRecord
from pressbot.telegram.deliver import DeliveryError, DeliveryOptions, DeliveryReport, Sender
from tests.faketelegram import FakeTelegram

# python-telegram-bot 22 warns, while building RetryAfter itself, that retry_after will become a timedelta
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")
NOW = datetime(2025, 4, 15, 8, 0, tzinfo=UTC)
TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"
FAST = DeliveryOptions(chat_interval=0.0, global_interval=0.0, timeout=5.0, retries=3, backoff=0.01)


class VirtualTime:
    """A clock that sleeps instantly: waits are recorded, not spent (for 429 storms)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture
def fake():
    with FakeTelegram(TOKEN) as server:
        yield server


@pytest.fixture
def archive(tmp_path):
    with Archive.open(tmp_path) as opened:
        yield opened


def queue(archive: Archive, channel_id: str, chat: str, texts: list[str]) -> int:
    record = DigestRecord(channel_id, chat, NOW - timedelta(hours=1), NOW, None, len(texts))
    return archive.queue_digest(record, texts, now=NOW, advance=True)


def deliver(archive: Archive, fake: FakeTelegram, *, token: str = TOKEN, **kwargs: Any) -> DeliveryReport:
    options = kwargs.pop("options", FAST)

    async def run() -> DeliveryReport:
        async with Sender(
            archive, token=Secret(token), base_url=fake.base_url, options=options, **kwargs
        ) as sender:
            return await sender.deliver()

    return asyncio.run(run())


def test_a_digest_reaches_the_channel_as_html_without_previews(archive, fake):
    queue(archive, "press-it", "@pressbot_it", ["<b>Rassegna</b> 1/2", "<i>parte</i> 2/2 &amp; fine"])
    report = deliver(archive, fake)
    assert (report.sent, report.failed, report.pending) == (2, 0, 0)
    assert fake.texts("@pressbot_it") == ["Rassegna 1/2", "parte 2/2 & fine"]
    assert {d.parse_mode for d in fake.delivered} == {"HTML"}
    assert all(d.link_preview_options == {"is_disabled": True} for d in fake.delivered)
    sent = archive.outbox_messages(statuses=("sent",))
    assert [(m.part, m.telegram_message_id, m.sent_at is not None) for m in sent] == [
        (1, 1, True),
        (2, 2, True),
    ]
    assert archive.open_messages() == []
    assert archive.channel_state("press-it").last_sent_at is not None
    assert deliver(archive, fake).sent == 0 and len(fake.delivered) == 2  # nothing sent twice


def test_a_429_storm_delivers_every_message_exactly_once_in_order(archive, fake):
    chats = {"press-it": "@pressbot_it", "press-zh": "-1001234567890", "press-en": "@pressbot_en"}
    for channel_id, chat in chats.items():
        queue(archive, channel_id, chat, [f"{channel_id} part {i}" for i in range(1, 21)])
    fake.rate_429 = 0.3
    fake.retry_after = 7
    time = VirtualTime()
    report = deliver(archive, fake, clock=time.clock, sleep=time.sleep)
    throttled = sum(1 for method, _ in fake.requests if method == "sendMessage") - 60
    assert throttled > 5  # the storm happened
    assert report.sent == 60 and report.pending == 0 and report.retries == throttled
    for channel_id, chat in chats.items():
        assert fake.texts(chat) == [f"{channel_id} part {i}" for i in range(1, 21)]
    assert max(Counter(d.text for d in fake.delivered).values()) == 1
    assert time.waits.count(7) >= 1 and time.now >= 7  # retry_after was waited out


def test_pacing_keeps_each_chat_under_its_rate(archive, fake):
    queue(archive, "a", "@chat_aaaa", ["a1", "a2", "a3", "a4"])
    queue(archive, "b", "@chat_bbbb", ["b1", "b2", "b3", "b4"])
    options = DeliveryOptions(chat_interval=0.15, global_interval=0.05, timeout=5.0)
    assert deliver(archive, fake, options=options).sent == 8
    times = {chat: [d.at for d in fake.delivered if d.chat == chat] for chat in ("@chat_aaaa", "@chat_bbbb")}
    for stamps in times.values():
        assert min(b - a for a, b in zip(stamps, stamps[1:], strict=False)) >= 0.14
    everything = sorted(d.at for d in fake.delivered)
    assert min(b - a for a, b in zip(everything, everything[1:], strict=False)) >= 0.04
    # the two chats were served side by side, not one after the other
    assert times["@chat_bbbb"][0] < times["@chat_aaaa"][-1]


def test_server_errors_and_timeouts_are_retried_with_backoff(archive, fake):
    queue(archive, "press-it", "@pressbot_it", ["one", "two"])
    fake.fail_next("500", 2)
    time = VirtualTime()
    report = deliver(archive, fake, clock=time.clock, sleep=time.sleep)
    assert report.sent == 2 and report.retries == 2 and fake.texts() == ["one", "two"]
    assert time.waits[:2] == [0.01, 0.02]  # backoff doubles

    queue(archive, "press-it", "@pressbot_it", ["three"])
    fake.fail_next("hang")  # no answer within the timeout
    fake.hang_seconds = 1.5
    options = DeliveryOptions(chat_interval=0, global_interval=0, timeout=0.5, backoff=0.01)
    report = deliver(archive, fake, options=options)
    assert report.sent == 1 and fake.texts() == ["one", "two", "three"]


def test_transient_failures_beyond_the_retries_wait_for_the_next_run_in_order(archive, fake):
    queue(archive, "press-it", "@pressbot_it", ["first", "second"])
    fake.fail_next("500", 10)
    options = DeliveryOptions(chat_interval=0, global_interval=0, timeout=5, retries=1, backoff=0.01)
    report = deliver(archive, fake, options=options)
    assert (report.sent, report.pending) == (0, 2)
    assert "Internal Server Error" in report.errors["press-it"] and "next run" in report.errors["press-it"]
    [first, second] = archive.open_messages()
    assert (
        first.status == "pending" and first.attempts == 2 and "Internal Server Error" in (first.error or "")
    )
    assert second.attempts == 0  # the later part did not overtake the first
    fake.failures.clear()
    assert deliver(archive, fake).sent == 2 and fake.texts() == ["first", "second"]


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda fake: fake.forbidden_chats.add("@pressbot_it"), "bot was kicked"),
        (lambda fake: fake.unknown_chats.add("@pressbot_it"), "chat not found"),
    ],
)
def test_permanent_errors_are_recorded_and_not_retried_until_asked(archive, fake, setup, expected):
    queue(archive, "press-it", "@pressbot_it", ["a", "b", "c"])
    queue(archive, "press-en", "@pressbot_en", ["other chat"])
    setup(fake)
    report = deliver(archive, fake)
    assert report.sent == 1 and report.failed == 3 and report.pending == 0
    assert (
        expected in report.errors["press-it"].lower() and "pressbot outbox retry" in report.errors["press-it"]
    )
    failed = archive.outbox_messages(statuses=("failed",))
    assert [m.text for m in failed] == ["a", "b", "c"] and all(
        expected in (m.error or "").lower() for m in failed
    )
    state = archive.channel_state("press-it")
    assert state.failures == 1 and expected in (state.last_error or "").lower()
    calls = len(fake.requests)
    assert deliver(archive, fake).sent == 0 and len(fake.requests) == calls + 1  # only getMe: no retry
    fake.forbidden_chats.clear()
    fake.unknown_chats.clear()
    assert archive.retry_failed(channel_id="press-it", chat="@pressbot_it") == 3
    assert deliver(archive, fake).sent == 3 and fake.texts("@pressbot_it") == ["a", "b", "c"]
    assert archive.channel_state("press-it").failures == 0


def test_a_message_telegram_refuses_fails_alone(archive, fake):
    queue(archive, "press-it", "@pressbot_it", ["ok 1", "<b>broken", "ok 3"])
    report = deliver(archive, fake)
    assert report.sent == 2 and report.failed == 1
    [failed] = archive.outbox_messages(statuses=("failed",))
    assert failed.text == "<b>broken" and "can't parse entities" in (failed.error or "").lower()
    assert fake.texts() == ["ok 1", "ok 3"]


def test_a_message_caught_sending_by_a_crash_is_sent_again_and_sent_ones_are_not(archive, fake):
    queue(archive, "press-it", "@pressbot_it", ["one", "two", "three"])
    first, second, _ = archive.open_messages()
    archive.mark_sending(first.id, now=NOW)
    archive.mark_sent(first, telegram_message_id=41, now=NOW)
    archive.mark_sending(second.id, now=NOW)  # …and the process died before Telegram answered
    report = deliver(archive, fake)
    assert report.sent == 2 and fake.texts() == ["two", "three"]
    assert [m.attempts for m in archive.outbox_messages(statuses=("sent",))] == [1, 2, 1]


def test_the_token_stays_out_of_logs_and_errors(archive, fake, caplog):
    caplog.set_level(logging.DEBUG)
    queue(archive, "press-it", "@pressbot_it", ["hello"])
    assert deliver(archive, fake).sent == 1
    assert "sendMessage" in caplog.text  # httpx logged the request…
    assert TOKEN not in caplog.text  # …without the token
    wrong = "999:WRONG-token-zzzzzzzzzzzzzzzzzzzzzzzzzz"
    with pytest.raises(DeliveryError) as caught:
        deliver(archive, fake, token=wrong)
    assert "refused the bot token" in str(caught.value) and wrong not in str(caught.value)
    assert wrong not in caplog.text and wrong not in repr(
        Sender(archive, token=Secret(wrong), base_url=fake.base_url)
    )
    with pytest.raises(ConfigError, match="PRESSBOT_TELEGRAM_TOKEN is not set"):
        Sender(archive, token=Secret(""), base_url=fake.base_url)
