"""The ``channels:`` section of ``sources.yaml``: where digests go, in which language, when.

Input → output: the raw YAML list → validated :class:`Channel` objects (or a ConfigError that
names the file, the entry, the key and a hint, like every other section). ``pressbot.config``
calls :func:`parse_channels`; this module reuses its validators.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from pressbot.config import (
    ID_RE,
    _check_bool,
    _check_keys,
    _check_str,
    _did_you_mean,
    _unique,
    _Where,
)
from pressbot.errors import ConfigError
from pressbot.models import LANGUAGES, Topic

CHANNEL_KEYS = ("id", "chat", "language", "schedule", "timezone", "topics", "max_stories", "skip_empty")
REQUIRED_CHANNEL_KEYS = ("id", "chat", "language")
DEFAULT_MAX_STORIES = 20
MAX_STORIES = 500  # a long weekly digest; each message still stays within Telegram's 4,096 characters
# A public username (@name, 5–32 characters) or a numeric chat id (channels: -100…).
USERNAME_RE = re.compile(r"@[A-Za-z][A-Za-z0-9_]{3,31}")
CHAT_ID_RE = re.compile(r"-?\d{1,20}")


@dataclass(frozen=True)
class Channel:
    """A Telegram channel or group that receives digests."""

    id: str
    chat: str  # "@username" or a numeric id as text ("-1001234567890"): what sendMessage takes
    language: str  # zh | it | en: the language headlines are shown in
    schedule: str | None = None  # cron ("0 8,18 * * *"), read in ``timezone``; None = only on demand
    timezone: str = "UTC"
    topics: tuple[str, ...] = ()  # topic ids; empty = every story
    max_stories: int = DEFAULT_MAX_STORIES
    skip_empty: bool = False  # True: no message when nothing is new; False: a one-line "nothing new"


def cron_trigger(schedule: str, zone: str) -> CronTrigger:
    """A cron expression with standard cron meanings → an APScheduler trigger in ``zone``.

    APScheduler 3 reads day-of-week numbers from Monday = 0, cron from Sunday = 0 (7 too): digits
    in the fifth field are turned into day names first, so "0 8 * * 1-5" means Monday to Friday.
    """
    fields = schedule.split()
    if len(fields) == 5:
        fields[4] = re.sub(r"(?<![/\d])\d+", lambda m: _weekday(m.group(0)), fields[4])
    return CronTrigger.from_crontab(" ".join(fields), timezone=zone)


def _weekday(number: str) -> str:
    if int(number) > 7:
        raise ValueError(f"day of week {number} is out of range (0–7, Sunday = 0 or 7)")
    return ("sun", "mon", "tue", "wed", "thu", "fri", "sat")[int(number) % 7]


def parse_channels(raw: Any, *, path: Any, topics: Sequence[Topic]) -> tuple[Channel, ...]:
    """Validate the ``channels:`` list; the first problem raises ConfigError."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: 'channels' must be a list (each channel starts with '- id: …')")
    topic_ids = [topic.id for topic in topics]
    channels = [_parse_channel(_Where(path, "channels", i, e), e, topic_ids) for i, e in enumerate(raw)]
    _unique(path, "channels", channels)
    return tuple(channels)


def _parse_channel(where: _Where, entry: Any, topic_ids: list[str]) -> Channel:
    if not isinstance(entry, dict):
        raise where.error("each channel must be a mapping of keys (id, chat, language, schedule, …)")
    _check_keys(where, entry, CHANNEL_KEYS, "")
    for key in REQUIRED_CHANNEL_KEYS:
        if key not in entry or entry[key] in (None, ""):
            raise where.error(
                f"key '{key}' is missing — every channel needs {', '.join(REQUIRED_CHANNEL_KEYS)}"
            )
    channel_id = _check_str(where, entry, "id")
    if not ID_RE.fullmatch(channel_id):
        raise where.error(
            f"key 'id': '{channel_id}' must be lower-case letters, digits and '-' (e.g. press-it)"
        )
    language = entry["language"]
    if language not in LANGUAGES:
        raise where.error(
            f"key 'language': '{language}' is not one of {', '.join(LANGUAGES)}"
            f"{_did_you_mean(str(language), LANGUAGES)}"
        )
    zone = _check_str(where, entry, "timezone", "UTC")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise where.error(
            f"key 'timezone': '{zone}' is not a time zone like Europe/Rome or Asia/Shanghai"
        ) from None
    return Channel(
        id=channel_id,
        chat=_check_chat(where, entry["chat"]),
        language=language,
        schedule=_check_schedule(where, entry.get("schedule"), zone),
        timezone=zone,
        topics=_check_topics(where, entry.get("topics"), topic_ids),
        max_stories=_check_max_stories(where, entry.get("max_stories", DEFAULT_MAX_STORIES)),
        skip_empty=_check_bool(where, entry, "skip_empty", False),
    )


def _check_chat(where: _Where, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise where.error("key 'chat' must be a @username or a numeric chat id such as -1001234567890")
    chat = str(value).strip()
    if USERNAME_RE.fullmatch(chat) or CHAT_ID_RE.fullmatch(chat):
        return chat
    hint = " — did you mean '@" + chat + "'?" if USERNAME_RE.fullmatch("@" + chat) else ""
    raise where.error(
        f"key 'chat': '{chat}' is neither a @username (5–32 letters, digits, _) nor a numeric chat id{hint}"
    )


def _check_schedule(where: _Where, value: Any, zone: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise where.error("key 'schedule' must be a cron expression in quotes, e.g. \"0 8,18 * * *\"")
    try:
        cron_trigger(value, zone)
    except ValueError as error:
        raise where.error(
            f"key 'schedule': '{value}' is not a valid cron expression ({error}) — five fields: "
            'minute hour day-of-month month day-of-week, e.g. "0 8,18 * * *"'
        ) from None
    return " ".join(value.split())


def _check_topics(where: _Where, value: Any, topic_ids: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise where.error("key 'topics' must be a list of topic ids, e.g. [bi-city-fashion-week]")
    for topic_id in value:
        if topic_id not in topic_ids:
            hint = _did_you_mean(topic_id, topic_ids) or (
                f" — topics defined: {', '.join(topic_ids)}" if topic_ids else " — no topics are defined"
            )
            raise where.error(f"key 'topics': no topic '{topic_id}'{hint}")
    return tuple(dict.fromkeys(value))


def _check_max_stories(where: _Where, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_STORIES:
        raise where.error(f"key 'max_stories' must be a whole number from 1 to {MAX_STORIES}, not {value!r}")
    return value
