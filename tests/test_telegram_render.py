"""Telegram HTML rendering: escaping, the 4096 limit counted as Telegram counts, splitting, shortening."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pressbot.telegram.digest import Digest, DigestEntry, Outlet
from pressbot.telegram.render import (
    TELEGRAM_LIMIT,
    render_digest,
    shorten,
    telegram_length,
    to_plain,
    utf16_length,
)
from tests.faketelegram import parse_telegram_html

NOW = datetime(2025, 4, 15, 8, 0, tzinfo=UTC)


def entry(
    headline: str,
    *,
    n: int = 1,
    original: str = "",
    language: str = "it",
    mt: bool = False,
    native: bool = False,
) -> DigestEntry:
    return DigestEntry(
        story_id=n,
        headline=headline,
        machine_translated=mt,
        model="zh→en+en→it" if mt else None,
        original=original or headline,
        original_language=language,
        outlets=(Outlet("corriere", "Corriere della Sera", f"https://example.it/{n}?a=1&b=2", "it"),),
        languages={language: 1},
        articles=1,
        first_seen=NOW - timedelta(hours=1),
        last_seen=NOW,
        score=1.0,
        native=native or (not mt and language == "it"),
    )


def digest(*entries: DigestEntry, language: str = "it", zone: str = "Europe/Rome") -> Digest:
    return Digest(
        language=language,
        timezone=zone,
        since=NOW - timedelta(hours=24),
        until=NOW,
        entries=entries,
        candidates=len(entries),
    )


def test_untrusted_text_is_escaped_and_shows_literally():
    title = 'Moda <b>bold</b> & "Milano" </a><script>'
    [message] = render_digest(digest(entry(title)))
    shown = parse_telegram_html(message)  # the fake Bot API's parser: refuses stray tags and bare '&'
    assert f"1. {title}" in shown
    assert '<a href="https://example.it/1?a=1&amp;b=2">Corriere della Sera</a>' in message


def test_machine_translation_is_marked_with_the_original_and_times_are_local():
    [message] = render_digest(
        digest(entry("Si apre l'Expo", original="进口博览会开幕", language="zh", mt=True))
    )
    shown = parse_telegram_html(message)
    assert "traduzione automatica dal cinese" in shown
    assert "Originale (zh): 进口博览会开幕" in shown
    assert "prima uscita 15/04 09:00" in shown  # 07:00 UTC in Rome (CEST)
    [shanghai] = render_digest(
        digest(entry("双城时装周", language="zh", native=True), language="zh", zone="Asia/Shanghai")
    )
    assert "4月15日 15:00" in parse_telegram_html(shanghai)
    assert "未翻译" not in shanghai  # a native headline is not flagged


def test_an_untranslated_foreign_headline_says_so():
    [message] = render_digest(digest(entry("进口博览会开幕", language="zh")))
    assert "cinese, non tradotto" in parse_telegram_html(message)


def test_empty_digest_is_one_short_message():
    [message] = render_digest(digest())
    assert parse_telegram_html(message) == "Rassegna stampa\nNessuna novità dal 14/04 10:00."


def test_length_is_counted_in_utf16_units_after_entity_parsing():
    assert utf16_length("a😀") == 3 and utf16_length("深圳") == 2
    assert telegram_length("<b>a &amp; b</b>") == 5


def test_many_stories_are_split_between_stories_only():
    entries = [entry(f"Notizia numero {i} " + "parola " * 60 + "😀" * 10, n=i) for i in range(1, 61)]
    messages = render_digest(digest(*entries))
    assert len(messages) > 1
    numbers = []
    for message in messages:
        shown = parse_telegram_html(message)
        assert utf16_length(shown) <= TELEGRAM_LIMIT
        numbers += [
            int(line.split(".")[0]) for line in shown.split("\n") if line[:1].isdigit() and ". " in line
        ]
    assert numbers == list(range(1, 61))  # every story once, in order, none cut across messages
    assert parse_telegram_html(messages[1]).startswith(f"Rassegna stampa (continua) 2/{len(messages)}")


def test_an_overlong_story_is_shortened_at_a_sentence_end():
    sentence = "这是一个很长的句子，用来测试截断。"
    headline = sentence * 400  # ~6,800 characters
    [message] = render_digest(digest(entry(headline, language="zh", native=True), language="zh"))
    shown = parse_telegram_html(message)
    assert telegram_length(message) <= TELEGRAM_LIMIT
    [headline_line] = [line for line in shown.split("\n") if line.startswith("1. ")]
    assert headline_line.startswith("1. 这是") and headline_line.endswith("。…")
    assert utf16_length(headline_line) > 3500  # shortened only as much as needed


@pytest.mark.parametrize(
    ("text", "budget", "expected"),
    [
        ("First sentence. Second sentence is longer.", 30, "First sentence. …"),
        ("Prima frase! Seconda frase?", 20, "Prima frase! …"),
        ("第一句。第二句很长很长很长。", 10, "第一句。…"),
        ("no sentence end in this long text at all", 20, "no sentence end in…"),
        ("short", 10, "short"),
        ("😀😀😀😀", 5, "😀😀…"),  # never half of a surrogate pair
    ],
)
def test_shorten(text, budget, expected):
    result = shorten(text, budget)
    assert result == expected
    assert utf16_length(result) <= budget


def test_plain_rendering_for_the_terminal_keeps_links():
    [message] = render_digest(digest(entry("A & B")))
    plain = to_plain(message)
    assert "1. A & B" in plain and "Corriere della Sera <https://example.it/1?a=1&b=2>" in plain
