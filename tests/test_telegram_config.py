"""The `channels:` section and the Telegram settings: strict validation, readable errors, a secret token."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pressbot.channels import Channel, cron_trigger
from pressbot.config import Secret, load_config, load_settings, parse_config
from pressbot.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent
HEAD = """
sources: []
topics:
  - id: bi-city-fashion-week
    name: Bi-City Fashion Week
    keywords: {zh: [双城时装周], en: [Bi-City Fashion Week]}
channels:
"""
GOOD = (
    HEAD
    + """
  - id: press-it
    chat: "@pressbot_it"
    language: it
    schedule: "0 8,18 * * *"
    timezone: Europe/Rome
    topics: [bi-city-fashion-week]
  - id: press-zh
    chat: -1001234567890
    language: zh
    schedule: "30 9 * * 1-5"
    timezone: Asia/Shanghai
    max_stories: 5
    skip_empty: true
"""
)


def test_channels_are_parsed_with_defaults():
    config = parse_config(GOOD, path=Path("sources.yaml"))
    italian, chinese = config.channels
    assert italian == Channel(
        id="press-it",
        chat="@pressbot_it",
        language="it",
        schedule="0 8,18 * * *",
        timezone="Europe/Rome",
        topics=("bi-city-fashion-week",),
        max_stories=20,
        skip_empty=False,
    )
    assert chinese.chat == "-1001234567890" and chinese.max_stories == 5 and chinese.skip_empty
    assert config.channel("press-zh") is chinese


BAD = [
    ("  - {id: press-it, chat: '@pressbot_it', language: it, shedule: '0 8 * * *'}", "channels entry 1 (press-it): unknown key 'shedule' — did you mean 'schedule'?"),
    ("  - {id: press-it, language: it}", "channels entry 1 (press-it): key 'chat' is missing"),
    ("  - {id: press-it, chat: '@pressbot_it', language: de}", "key 'language': 'de' is not one of zh, it, en"),
    ("  - {id: press-it, chat: '@pressbot_it', language: it, schedule: '0 25 * * *'}", "key 'schedule': '0 25 * * *' is not a valid cron expression"),
    ("  - {id: press-it, chat: '@pressbot_it', language: it, schedule: '0 8 * *'}", "five fields: minute hour day-of-month month day-of-week"),
    ("  - {id: press-it, chat: '@pressbot_it', language: it, timezone: Europe/Milano}", "key 'timezone': 'Europe/Milano' is not a time zone"),
    ("  - {id: press-it, chat: '@pressbot_it', language: it, topics: [bi-city-fashionweek]}", "key 'topics': no topic 'bi-city-fashionweek' — did you mean 'bi-city-fashion-week'?"),
    ("  - {id: press-it, chat: pressbot_it, language: it}", "key 'chat': 'pressbot_it' is neither a @username (5–32 letters, digits, _) nor a numeric chat id — did you mean '@pressbot_it'?"),
    ("  - {id: press-it, chat: '@pressbot_it', language: it, max_stories: 0}", "key 'max_stories' must be a whole number from 1 to 500"),
    ("  - {id: press-it, chat: '@pressbot_it', language: it, skip_empty: maybe}", "key 'skip_empty' must be true or false"),
    ("  - {id: Press_IT, chat: '@pressbot_it', language: it}", "key 'id': 'Press_IT' must be lower-case letters"),
    ("  - {id: a, chat: '@pressbot_it', language: it}\n  - {id: a, chat: '@other_chat', language: en}", "channels entry 2 (a): key 'id': 'a' is already used by entry 1"),
]  # fmt: skip


@pytest.mark.parametrize(("entry", "message"), BAD)
def test_every_channel_mistake_names_file_entry_and_key(entry, message):
    with pytest.raises(ConfigError) as caught:
        parse_config(HEAD + entry + "\n", path=Path("sources.yaml"))
    assert str(caught.value).startswith("sources.yaml, channels entry"), str(caught.value)
    assert message in str(caught.value)


def test_channels_must_be_a_list_and_unknown_top_level_keys_get_a_hint():
    with pytest.raises(ConfigError, match="'channels' must be a list"):
        parse_config("channels: {id: x}\n", path=Path("s.yaml"))
    with pytest.raises(ConfigError, match="unknown top-level key 'channel' — did you mean 'channels'"):
        parse_config("channel: []\n", path=Path("s.yaml"))


def test_unknown_channel_is_named_with_a_hint():
    config = parse_config(GOOD, path=Path("sources.yaml"))
    with pytest.raises(ConfigError, match="no channel 'press-iy' in sources.yaml — did you mean 'press-it'"):
        config.channel("press-iy")


def test_cron_day_of_week_has_the_standard_meaning():
    # APScheduler 3 alone would read 0 as Monday; cron (and the README) mean Sunday.
    monday_noon = datetime(2025, 4, 14, 12, 0, tzinfo=UTC)
    sunday = cron_trigger("0 8 * * 0", "UTC").get_next_fire_time(None, monday_noon)
    weekdays = cron_trigger("0 8 * * 1-5", "Europe/Rome").get_next_fire_time(None, monday_noon)
    assert sunday is not None and sunday.strftime("%A %d") == "Sunday 20"
    assert weekdays is not None and weekdays.strftime("%A %H:%M %Z") == "Tuesday 08:00 CEST"


def test_shipped_sources_yaml_loads_and_its_commented_channels_example_is_valid():
    shipped = (REPO / "sources.yaml").read_text(encoding="utf-8")
    load_config(REPO / "sources.yaml")
    example = shipped[shipped.index("#channels:") :]
    uncommented = "\n".join(line[1:] if line.startswith("#") else line for line in example.splitlines())
    config = parse_config(shipped.replace(example, uncommented), path=REPO / "sources.yaml")
    assert [(c.id, c.language, c.timezone) for c in config.channels] == [
        ("press-it", "it", "Europe/Rome"),
        ("press-zh", "zh", "Asia/Shanghai"),
    ]


# --------------------------------------------------------------------------- settings

TOKEN = "123456:AAH-very-secret-token_value"


def test_telegram_settings_are_read_from_the_environment():
    settings = load_settings(
        {
            "PRESSBOT_TELEGRAM_TOKEN": TOKEN,
            "PRESSBOT_TELEGRAM_BASE_URL": "http://127.0.0.1:8081/bot",
            "PRESSBOT_TELEGRAM_OFFICERS": "111, 222",
            "PRESSBOT_TELEGRAM_ADMINS": "111",
            "PRESSBOT_TELEGRAM_CHAT_RATE": "10",
        }
    )
    assert settings.telegram_token.reveal() == TOKEN
    assert settings.telegram_base_url == "http://127.0.0.1:8081/bot"
    assert settings.telegram_officers == (111, 222) and settings.telegram_admins == (111,)
    assert settings.telegram_chat_rate == 10.0 and settings.telegram_rate == 30.0
    assert not load_settings({}).telegram_token


def test_the_token_never_shows_in_reprs_or_errors():
    settings = load_settings({"PRESSBOT_TELEGRAM_TOKEN": TOKEN})
    assert TOKEN not in repr(settings) and TOKEN not in str(settings)
    assert TOKEN not in repr(Secret(TOKEN)) and TOKEN not in f"{Secret(TOKEN)}"
    with pytest.raises(ConfigError) as caught:  # another setting wrong: the message names only that one
        load_settings({"PRESSBOT_TELEGRAM_TOKEN": TOKEN, "PRESSBOT_TELEGRAM_OFFICERS": "alice"})
    assert "PRESSBOT_TELEGRAM_OFFICERS='alice' is invalid" in str(caught.value)
    assert TOKEN not in str(caught.value)


@pytest.mark.parametrize(
    ("env", "value", "message"),
    [
        ("PRESSBOT_TELEGRAM_BASE_URL", "127.0.0.1:8081", "expected an http:// or https:// address"),
        ("PRESSBOT_TELEGRAM_ADMINS", "12,x", "comma-separated Telegram user ids"),
        ("PRESSBOT_TELEGRAM_RATE", "0", "expected a number > 0"),
    ],
)
def test_bad_telegram_settings_are_clear(env, value, message):
    with pytest.raises(ConfigError, match=message):
        load_settings({env: value})
