"""The press officers' bot: the real python-telegram-bot Application polling the fake Bot API server,
answering from a real archive (stories stored through pressbot's own code)."""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from pressbot.config import Config, load_settings, parse_config
from pressbot.models import Article
from pressbot.store import Archive
from pressbot.telegram.bot import build_application, run_bot
from pressbot.telegram.commands import COMMANDS
from pressbot.translate.engine import Translator
from pressbot.translate.packages import install_package
from tests.faketelegram import FakeTelegram, parse_telegram_html
from tests.test_telegram_digest import NOW, SOURCES_YAML, seed

TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"
OFFICER, ADMIN, STRANGER, MEMBER = 1001, 1002, 1003, 1004
GROUP, OTHER_GROUP = -100555, -100666
README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


class RunningBot:
    """``run_bot`` in a thread with its own event loop, as ``pressbot bot`` runs it."""

    def __init__(self, application) -> None:
        self.application = application
        self.loop = asyncio.new_event_loop()
        self.stop = asyncio.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.loop.run_until_complete(run_bot(self.application, stop=self.stop, poll_timeout=1))
        except BaseException as error:  # reported by the test
            self.error = error

    def __enter__(self) -> RunningBot:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(timeout=15)
        assert not self.thread.is_alive() and self.error is None, self.error


@pytest.fixture
def config() -> Config:
    return parse_config(SOURCES_YAML, path=Path("sources.yaml"))


@pytest.fixture
def archive(tmp_path) -> Iterator[Archive]:
    with Archive.open(tmp_path / "storage") as opened:
        seed(opened)
        yield opened


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(TOKEN) as server:
        yield server


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory, request) -> Path:
    fixtures = request.getfixturevalue("fixtures_dir")
    folder = tmp_path_factory.mktemp("models")
    for direction in ("en_it", "it_en", "en_zh", "zh_en"):
        install_package(folder, fixtures / "argos" / f"translate-{direction}-tiny.argosmodel")
    return folder


def settings_for(fake: FakeTelegram):
    return load_settings(
        {
            "PRESSBOT_TELEGRAM_TOKEN": TOKEN,
            "PRESSBOT_TELEGRAM_BASE_URL": fake.base_url,
            "PRESSBOT_TELEGRAM_OFFICERS": str(OFFICER),
            "PRESSBOT_TELEGRAM_ADMINS": str(ADMIN),
            "PRESSBOT_TELEGRAM_CHATS": str(GROUP),
        }
    )


def start(fake, config, archive, *, models: Path | None = None, collect=None) -> RunningBot:
    application = build_application(
        settings_for(fake),
        config,
        archive,
        translator=(lambda: Translator(models)) if models else None,
        collect=collect,
        now=lambda: NOW + timedelta(minutes=5),
    )
    running = RunningBot(application).__enter__()
    fake.wait_for(lambda: "getUpdates" in fake.methods())
    return running


@pytest.fixture
def bot(fake, config, archive):
    running = start(fake, config, archive)
    yield running
    running.__exit__()


def ask(fake: FakeTelegram, user: int, text: str, *, count: int = 1, chat: int | None = None, **kw):
    """Send a command and return the texts of the replies (waiting for ``count`` of them)."""
    before = len(fake.replies(chat or user))
    chat_id = fake.send_command(user, text, chat=chat, **kw)
    replies = fake.wait_replies(chat_id, before + count)[before:]
    for reply in replies:
        parse_telegram_html(reply.html)  # valid Telegram HTML, or the fake would have refused it
        assert reply.link_preview_options == {"is_disabled": True}
    return [reply.text for reply in replies]


def test_start_up_publishes_the_commands(bot, fake):
    everyone = {c["command"] for c in fake.commands["default"]}
    admins = {c["command"] for c in fake.commands[f"chat:{ADMIN}"]}
    assert everyone == {s.name for s in COMMANDS if not s.admin}
    assert admins == {s.name for s in COMMANDS} and {"sources", "fetch"} <= admins - everyone


def test_strangers_get_one_polite_refusal_and_nothing_else(bot, fake):
    [refusal] = ask(fake, STRANGER, "/search Shenzhen")
    assert "press office only" in refusal and str(STRANGER) in refusal
    fake.send_command(STRANGER, "/latest")
    fake.send_command(STRANGER, "/help")
    [member] = ask(fake, MEMBER, "/latest 1", chat=GROUP, chat_type="supergroup")  # the group is allowed
    assert "/story" in member
    # the stranger's later commands were read (they came before the group's) and not answered
    assert len(fake.replies(STRANGER)) == 1
    [refused_in_group] = ask(fake, STRANGER + 10, "/latest", chat=OTHER_GROUP, chat_type="group")
    assert "press office only" in refused_in_group


def test_admin_commands_are_for_admins(bot, fake, archive):
    [refusal] = ask(fake, OFFICER, "/sources")
    assert refusal == "/sources is for administrators only."
    archive.record_failure("cctv", now=NOW, error="https://cctv.example/rss: HTTP 503 <Service Unavailable>")
    archive.record_success("corriere", now=NOW - timedelta(hours=2), etag=None, last_modified=None)
    [health] = ask(fake, ADMIN, "/sources")
    assert "4 enabled · 1 failing · 2 not collected yet" in health
    assert "CCTV (cctv) — failed 1 time(s) in a row" in health
    assert "HTTP 503 <Service Unavailable>" in health and "last success: never" in health
    [fetch] = ask(fake, ADMIN, "/fetch")
    assert fetch == "Manual collection is not available in this bot process."
    [officer_help] = ask(fake, OFFICER, "/help")
    [admin_help] = ask(fake, ADMIN, "/help")
    assert "/fetch" not in officer_help and "/fetch" in admin_help and "/coverage" in officer_help


@pytest.mark.parametrize(
    ("command", "usage"),
    [
        ("/digest 3x", "no topic '3x'"),
        ("/digest 24h 7d", "'7d': one period only — Usage: /digest [6h|24h|7d] [en|it|zh] [topic]"),
        ("/digest 900d", "the period must be from 1h to 90d"),
        ("/search", "Usage: /search <words> [en|it|zh] [page N]"),
        ("/latest many", "Usage: /latest [n]"),
        ("/story x", "Usage: /story <id>"),
        ("/translate", "Usage: /translate <article id> [en|it|zh]"),
        ("/translate 3 fr", "'fr' is not one of zh, it, en"),
        ("/coverage", "Usage: /coverage <topic> [7d]"),
        ("/coverage nope", "no topic 'nope' (topics: bi-city-fashion-week)"),
    ],
)
def test_bad_arguments_get_a_one_line_usage(bot, fake, command, usage):
    [reply] = ask(fake, OFFICER, command)
    assert usage in reply and "\n" not in reply


def test_digest_on_demand(bot, fake):
    [digest] = ask(fake, OFFICER, "/digest 24h it")
    assert digest.startswith("Rassegna stampa\n") and "4 notizie" in digest
    assert "1. Moda, Shenzhen e Milano più vicine" in digest
    assert "Budget <b>cuts</b> & protests" in digest  # escaped on the way, literal on arrival
    assert "Si apre la China International Import Expo" in digest  # the cached translation
    [topic] = ask(fake, OFFICER, "/digest bi-city-fashion-week zh 7d")
    assert (
        topic.startswith("新闻摘要 · Bi-City Fashion Week")
        and "深圳（龙华）—米兰双城时装周在米兰开幕" in topic
    )


def test_search_pages_one_hit_per_story(bot, fake, archive):
    archive.upsert(
        [
            Article(
                source_id="corriere",
                url=f"https://corriere.example/moda/{i}",
                title=f"Moda a Milano, giorno {i}",
                language="it",
                fetched_at=NOW - timedelta(minutes=i),
                published_at=NOW - timedelta(minutes=i),
                content_hash=f"moda{i}",
            )
            for i in range(7)
        ],
        now=NOW,
    )
    [first] = ask(fake, OFFICER, "/search Moda")
    numbers = re.findall(r"^(\d+)\. ", first, re.M)
    assert numbers == ["1", "2", "3", "4", "5"] and "page 1 · stories 1–5" in first
    message = fake.replies(OFFICER)[-1]
    [[more]] = fake.markups[(str(OFFICER), message.message_id)]["inline_keyboard"]
    assert more["text"] == "More ›"
    fake.press_button(OFFICER, message, more["callback_data"])
    edit = fake.wait_for(lambda: fake.edits and fake.edits[-1])
    assert edit.message_id == message.message_id and "page 2 · stories 6–8 (the last)" in edit.text
    assert re.findall(r"^(\d+)\. ", edit.text, re.M) == ["6", "7", "8"]
    assert [b["text"] for b in edit.reply_markup["inline_keyboard"][0]] == ["‹ Back"]
    assert fake.answered  # the button's spinner was stopped
    # one hit per story: the Corriere article of the fashion story stands for the whole story
    assert sum("Moda, Shenzhen e Milano più vicine" in t for t in (first, edit.text)) == 1
    [typed] = ask(fake, OFFICER, "/search Moda it page 2")
    assert re.findall(r"^(\d+)\. ", typed, re.M) == ["6", "7", "8"]
    [none] = ask(fake, OFFICER, "/search zebra")
    assert none == "No story matches zebra."


def test_latest_and_story(bot, fake, archive):
    [latest] = ask(fake, OFFICER, "/latest 2", language="it")
    assert latest.startswith("Le 2 notizie più recenti")
    assert re.findall(r"/story (\d+)", latest) == sorted(re.findall(r"/story (\d+)", latest), reverse=True)
    fashion = archive.story_of([1])[1]
    [story] = ask(fake, OFFICER, f"/story {fashion}")
    assert story.startswith(f"Story {fashion}\n3 articles · 3 outlets · en 1 · it 1 · zh 1")
    for outlet in ("[zh] Xinhua", "[it] Corriere della Sera", "[en] ANSA English"):
        assert outlet in story
    expo = archive.story_of([4])[4]
    [translated] = ask(fake, OFFICER, f"/story {expo}", language="it")
    assert "traduzione automatica dal cinese:\nSi apre la China International Import Expo" in translated
    [missing] = ask(fake, OFFICER, "/story 999")
    assert missing == "No story 999 — find stories with /latest or /search."


def test_coverage_sends_a_chart_and_the_numbers(bot, fake):
    replies = ask(fake, OFFICER, "/coverage bi-city-fashion-week 7d")
    [photo] = fake.photos
    assert photo.data.startswith(b"\x89PNG\r\n\x1a\n") and len(photo.data) > 2000
    assert photo.chat == str(OFFICER) and "Bi-City Fashion Week: 3 articles" in photo.caption
    [text] = replies
    assert "3 articles in 3 outlets" in text
    assert "04-15  3  (en 1 · it 1 · zh 1)" in text
    for line in ("Xinhua (xinhua-zh): 1", "Corriere della Sera (corriere): 1", "ANSA English (ansa-en): 1"):
        assert line in text
    assert re.search(r"Per language\n(zh|it|en) 1 · (zh|it|en) 1 · (zh|it|en) 1$", text)


def test_translate_splits_a_long_article_at_sentence_ends(fake, config, archive, models_dir):
    sentence = "hello world, the president and the government of the city say good morning. "
    [(_, article_id)] = archive.upsert(
        [
            Article(
                source_id="ansa-en",
                url="https://ansa.example/long",
                title="hello world",
                language="en",
                body=sentence * 80,
                fetched_at=NOW,
                published_at=NOW,
                content_hash="long",
            )
        ],
        now=NOW,
    )
    running = start(fake, config, archive, models=models_dir)
    try:
        replies = ask(fake, OFFICER, f"/translate {article_id} it", count=2)
        assert replies[0].startswith("ciao mondo\ntraduzione automatica dal inglese · hello world")
        assert "ciao mondo" in replies[0] and "governo" in replies[0]
        body = [reply.split("\n\n", 1)[1] for reply in replies]
        assert all(part.rstrip().endswith(".") for part in body)  # cut at sentence ends
        assert replies[1].startswith(f"article {article_id} 2/2")
        [again] = ask(fake, OFFICER, f"/translate {article_id} zh")  # (one message: Chinese is shorter)
        assert "你好" in again
    finally:
        running.__exit__()
    # cached: a second bot translates nothing (the cache answers)
    cached = archive.latest_translations(["hello world"], source="en")
    assert cached["it"]["hello world"][0] == "ciao mondo"


def test_translate_without_a_model_says_what_to_do(bot, fake):
    [reply] = ask(fake, OFFICER, "/translate 1 it")
    assert reply == "Translation is not available in this bot."


def test_fetch_runs_the_injected_cycle_once_at_a_time(fake, config, archive):
    release = threading.Event()
    calls = []

    async def collect() -> str:
        calls.append(1)
        await asyncio.to_thread(release.wait, 10)
        return "collected: 3 new, 0 failed <ok>"

    running = start(fake, config, archive, collect=collect)
    try:
        [started] = ask(fake, ADMIN, "/fetch")
        assert started == "Collecting every enabled source now…"
        [busy] = ask(fake, ADMIN, "/fetch")
        assert busy.startswith("A collection cycle is already running")
        release.set()
        assert fake.wait_replies(ADMIN, 3)[-1].text == "collected: 3 new, 0 failed <ok>"
        assert calls == [1]
    finally:
        running.__exit__()


def test_the_token_never_reaches_the_logs(fake, config, archive, caplog):
    caplog.set_level(logging.DEBUG)
    running = start(fake, config, archive)
    try:
        ask(fake, OFFICER, "/help")
        ask(fake, STRANGER, "/help")
    finally:
        running.__exit__()
    messages = [record.getMessage() for record in caplog.records]
    assert any("getUpdates" in m for m in messages)  # httpx logged the URLs…
    assert any("<token>" in m for m in messages)  # …with the token rewritten
    assert not [m for m in messages if TOKEN in m or TOKEN.split(":")[1] in m]
    assert TOKEN not in caplog.text


def test_unknown_commands_and_text_point_to_help(bot, fake):
    [reply] = ask(fake, OFFICER, "/nope")
    assert reply == "I don't know /nope — /help lists the commands."
    [start_reply] = ask(fake, OFFICER, "/start")
    assert "/digest" in start_reply


def test_every_bot_command_is_in_the_readme():
    for spec in COMMANDS:
        assert f"`/{spec.name}" in README, f"/{spec.name} is not documented in README.md"
