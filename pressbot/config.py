"""Settings (environment) and ``sources.yaml``: read, validated once, passed explicitly.

Input → output: an environment mapping → :class:`Settings`; a YAML file → :class:`Config`
(sources and topics). This is the only module that reads ``os.environ`` — and only when the
CLI hands it over. Every setting lives in :data:`SETTINGS`, the table the README is made from.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from pressbot.errors import ConfigError
from pressbot.glossary import Glossary, parse_glossary
from pressbot.models import LANGUAGES, SOURCE_KINDS, JsonFields, PageSelectors, Source, Topic

if TYPE_CHECKING:
    from pressbot.channels import Channel

# --------------------------------------------------------------------------- settings table


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected 1/0, true/false or yes/no, got {value!r}")


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(f"expected a whole number ≥ 1, got {value!r}")
    return number


def _non_negative_int(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(f"expected a whole number ≥ 0, got {value!r}")
    return number


def _positive_float(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError(f"expected a number > 0, got {value!r}")
    return number


def _fraction(value: str) -> float:
    number = float(value)
    if not 0 < number <= 1:
        raise ValueError(f"expected a number between 0 and 1, got {value!r}")
    return number


def _device(value: str) -> str:
    if value not in ("cpu", "cuda", "auto"):
        raise ValueError(f"expected cpu, cuda or auto, got {value!r}")
    return value


def _positive_duration(value: str) -> timedelta:
    duration = parse_duration(value)
    if duration <= timedelta(0):
        raise ValueError(f"expected a duration above zero, got {value!r}")
    return duration


def _log_format(value: str) -> str:
    if value not in ("text", "json"):
        raise ValueError(f"expected text or json, got {value!r}")
    return value


def _size(value: str) -> int:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)[bB]?\s*", value)
    if not match:
        raise ValueError(f"expected a size such as 10MB, 512KB or 1000000, got {value!r}")
    scale = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[match.group(2).lower()]
    return int(float(match.group(1)) * scale)


class Secret:
    """A value (the bot token) that never shows in a repr, a log line or an error message."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')" if self._value else "Secret('')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _user_ids(value: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in value.replace(" ", "").split(",") if part)
    except ValueError:
        raise ValueError(
            f"expected comma-separated Telegram user ids such as 12345,67890, got {value!r}"
        ) from None


def _http_url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an http:// or https:// address, got {value!r}")
    return value.strip()


@dataclass(frozen=True)
class Setting:
    name: str  # attribute on Settings
    env: str
    default: str
    help: str
    parse: Callable[[str], Any]


SETTINGS: tuple[Setting, ...] = (
    Setting("sources", "PRESSBOT_SOURCES", "./sources.yaml", "The sources file (outlets and topics).", Path),
    Setting(
        "storage", "PRESSBOT_STORAGE", "./storage", "Folder of the archive (pressbot.db) and models.", Path
    ),
    Setting(
        "allow_private_networks",
        "PRESSBOT_ALLOW_PRIVATE_NETWORKS",
        "0",
        "Allow URLs found in feeds to point at loopback/private addresses (tests and local servers only).",
        _bool,
    ),
    Setting(
        "user_agent",
        "PRESSBOT_USER_AGENT",
        "pressbot/0.1 (+https://github.com/pressbot/pressbot; press monitoring)",
        "User-Agent sent with every request; also the name matched against robots.txt.",
        str,
    ),
    Setting(
        "concurrency",
        "PRESSBOT_CONCURRENCY",
        "32",
        "Requests in flight at once, all hosts together.",
        _positive_int,
    ),
    Setting("per_host", "PRESSBOT_PER_HOST", "4", "Requests in flight at once to one host.", _positive_int),
    Setting(
        "timeout",
        "PRESSBOT_TIMEOUT",
        "20",
        "Seconds one request may take in all (connect, wait, read).",
        _positive_float,
    ),
    Setting(
        "max_bytes", "PRESSBOT_MAX_BYTES", "10MB", "Largest response body read (after decompression).", _size
    ),
    Setting(
        "retries", "PRESSBOT_RETRIES", "2", "Extra tries after a timeout, a 5xx or a 429.", _non_negative_int
    ),
    Setting(
        "max_redirects",
        "PRESSBOT_MAX_REDIRECTS",
        "5",
        "Redirects followed before giving up.",
        _non_negative_int,
    ),
    Setting(
        "max_retry_after",
        "PRESSBOT_MAX_RETRY_AFTER",
        "60",
        "Longest Retry-After (seconds) waited for within a cycle; longer ones fail the fetch until the next cycle.",
        _positive_float,
    ),
    Setting(
        "respect_robots",
        "PRESSBOT_RESPECT_ROBOTS",
        "1",
        "Obey robots.txt when fetching article pages.",
        _bool,
    ),
    Setting(
        "models",
        "PRESSBOT_MODELS",
        "",
        "Folder of the installed translation packages (.argosmodel); empty means <storage>/models.",
        lambda value: Path(value) if value else None,
    ),
    Setting(
        "translate_device",
        "PRESSBOT_TRANSLATE_DEVICE",
        "cpu",
        "Where translation runs: cpu, or cuda when a GPU is configured.",
        _device,
    ),
    Setting(
        "translate_beam",
        "PRESSBOT_TRANSLATE_BEAM",
        "4",
        "Beam size of the translation search.",
        _positive_int,
    ),
    Setting(
        "translate_threads",
        "PRESSBOT_TRANSLATE_THREADS",
        "0",
        "CPU threads per translation batch (0 = automatic: parallel batches, one per core, share the cores).",
        _non_negative_int,
    ),
    Setting(
        "near_copy",
        "PRESSBOT_NEAR_COPY",
        "0.8",
        "Jaccard similarity of shingles (0–1) from which an article is a near-copy of another.",
        _fraction,
    ),
    Setting(
        "same_story",
        "PRESSBOT_SAME_STORY",
        "0.20",
        "Story score from which an article joins a story: the encoder's cosine × PRESSBOT_SEMANTIC_WEIGHT "
        "+ the TF-IDF cosine of the words × the rest (compared in English, through the pivot translation, "
        "across languages) + 0.02 per shared number, name, date or place (up to 0.06).",
        _fraction,
    ),
    Setting(
        "semantic_weight",
        "PRESSBOT_SEMANTIC_WEIGHT",
        "0.3",
        "The multilingual sentence encoder's share of the story score (0–1); the words have the rest.",
        _fraction,
    ),
    Setting(
        "cross_language",
        "PRESSBOT_CROSS_LANGUAGE",
        "0.55",
        "Between languages without a translation model for the English pivot, the encoder's cosine alone "
        "(+0.05 per shared fact) decides; it must reach this and share a fact unless 0.05 above it.",
        _fraction,
    ),
    Setting(
        "story_window",
        "PRESSBOT_STORY_WINDOW",
        "72h",
        "How far apart in time two articles of one story may be (s/m/h/d).",
        lambda value: parse_duration(value),
    ),
    Setting(
        "telegram_token",
        "PRESSBOT_TELEGRAM_TOKEN",
        "",
        "The bot's token from @BotFather; needed to post digests (never printed or logged).",
        lambda value: Secret(value.strip()),  # never raises: an error message would show the token
    ),
    Setting(
        "telegram_base_url",
        "PRESSBOT_TELEGRAM_BASE_URL",
        "https://api.telegram.org/bot",
        "Bot API address the token is appended to (a local Bot API server, or a test server).",
        _http_url,
    ),
    Setting(
        "telegram_officers",
        "PRESSBOT_TELEGRAM_OFFICERS",
        "",
        "Telegram user ids (comma-separated) of the press officers who may use the bot.",
        _user_ids,
    ),
    Setting(
        "telegram_admins",
        "PRESSBOT_TELEGRAM_ADMINS",
        "",
        "Telegram user ids (comma-separated) who may also use the admin commands.",
        _user_ids,
    ),
    Setting(
        "telegram_chats",
        "PRESSBOT_TELEGRAM_CHATS",
        "",
        "Telegram chat ids (comma-separated) of groups in which every member may use the bot's commands.",
        _user_ids,
    ),
    Setting(
        "telegram_chat_rate",
        "PRESSBOT_TELEGRAM_CHAT_RATE",
        "20",
        "Most messages per minute sent to one channel or group (Telegram allows about 20).",
        _positive_float,
    ),
    Setting(
        "telegram_rate",
        "PRESSBOT_TELEGRAM_RATE",
        "30",
        "Most messages per second sent in all (Telegram allows about 30).",
        _positive_float,
    ),
    Setting(
        "log_format",
        "PRESSBOT_LOG_FORMAT",
        "text",
        "How `pressbot run` and `pressbot bot` log, one line per event: text, or json (one object per line).",
        _log_format,
    ),
    Setting(
        "backlog_interval",
        "PRESSBOT_BACKLOG_INTERVAL",
        "15m",
        "`pressbot run`: how often the translation backlog is worked on (s/m/h/d).",
        _positive_duration,
    ),
    Setting(
        "backlog_batch",
        "PRESSBOT_BACKLOG_BATCH",
        "200",
        "`pressbot run`: most backlog articles translated per run.",
        _positive_int,
    ),
    Setting(
        "digest_catch_up",
        "PRESSBOT_DIGEST_CATCH_UP",
        "6h",
        "`pressbot run`: a scheduled digest missed while pressbot was not running is sent at start-up "
        "if it was due less than this long ago (s/m/h/d).",
        lambda value: parse_duration(value),
    ),
    Setting(
        "shutdown_grace",
        "PRESSBOT_SHUTDOWN_GRACE",
        "20",
        "`pressbot run`: seconds running jobs get to finish after SIGTERM or Ctrl-C before they are "
        "abandoned (what they stored is kept; the rest is picked up at the next start).",
        _positive_float,
    ),
)


@dataclass(frozen=True)
class Settings:
    sources: Path = Path("./sources.yaml")
    storage: Path = Path("./storage")
    allow_private_networks: bool = False
    user_agent: str = SETTINGS[3].default
    concurrency: int = 32
    per_host: int = 4
    timeout: float = 20.0
    max_bytes: int = 10 * 1024**2
    retries: int = 2
    max_redirects: int = 5
    max_retry_after: float = 60.0
    respect_robots: bool = True
    models: Path | None = None
    translate_device: str = "cpu"
    translate_beam: int = 4
    translate_threads: int = 0
    near_copy: float = 0.8
    same_story: float = 0.20
    semantic_weight: float = 0.3
    cross_language: float = 0.55
    story_window: timedelta = timedelta(hours=72)
    telegram_token: Secret = Secret("")
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_officers: tuple[int, ...] = ()
    telegram_admins: tuple[int, ...] = ()
    telegram_chats: tuple[int, ...] = ()
    telegram_chat_rate: float = 20.0
    telegram_rate: float = 30.0
    log_format: str = "text"
    backlog_interval: timedelta = timedelta(minutes=15)
    backlog_batch: int = 200
    digest_catch_up: timedelta = timedelta(hours=6)
    shutdown_grace: float = 20.0

    @property
    def database_path(self) -> Path:
        return self.storage / "pressbot.db"

    @property
    def models_dir(self) -> Path:
        return self.models or self.storage / "models"


def load_settings(environ: Mapping[str, str], **overrides: Any) -> Settings:
    """Build :class:`Settings` from an environment mapping; ``overrides`` (CLI flags) win."""
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(setting.env, setting.default)
        try:
            values[setting.name] = setting.parse(raw)
        except ValueError as error:
            raise ConfigError(
                f"environment variable {setting.env}={raw!r} is invalid: {error}. {setting.help}"
            ) from None
    values.update({key: value for key, value in overrides.items() if value is not None})
    return Settings(**values)


# --------------------------------------------------------------------------- sources.yaml


@dataclass(frozen=True)
class Config:
    """The validated contents of ``sources.yaml``."""

    path: Path
    sources: tuple[Source, ...]
    topics: tuple[Topic, ...] = ()
    channels: tuple[Channel, ...] = ()  # Telegram channels (pressbot.channels)
    glossary: Glossary = Glossary()  # names translation keeps or renders a fixed way (pressbot.glossary)
    alert_topics: tuple[str, ...] = ()  # topics marked `alert: true`: new stories are posted at once

    def source(self, source_id: str) -> Source:
        for source in self.sources:
            if source.id == source_id:
                return source
        hint = _did_you_mean(source_id, [s.id for s in self.sources])
        raise ConfigError(f"no source '{source_id}' in {self.path}{hint}. `pressbot sources` lists them.")

    def topic(self, topic_id: str) -> Topic:
        for topic in self.topics:
            if topic.id == topic_id:
                return topic
        known = ", ".join(t.id for t in self.topics) or "none"
        hint = _did_you_mean(topic_id, [t.id for t in self.topics])
        raise ConfigError(f"no topic '{topic_id}' in {self.path}{hint} (topics: {known}).")

    def channel(self, channel_id: str) -> Channel:
        for channel in self.channels:
            if channel.id == channel_id:
                return channel
        known = ", ".join(c.id for c in self.channels) or "none — add a 'channels:' section"
        hint = _did_you_mean(channel_id, [c.id for c in self.channels])
        raise ConfigError(f"no channel '{channel_id}' in {self.path}{hint} (channels: {known}).")


TOP_LEVEL_KEYS = ("sources", "topics", "channels", "glossary")
SOURCE_KEYS = (
    "id",
    "name",
    "kind",
    "url",
    "language",
    "interval",
    "full_text",
    "enabled",
    "selectors",
    "fields",
    "timezone",
)
REQUIRED_SOURCE_KEYS = ("id", "kind", "url")
SELECTOR_KEYS = ("item", "link", "title", "date", "summary")
FIELD_KEYS = ("items", "url", "title", "date", "summary", "id")
TOPIC_KEYS = ("id", "name", "keywords", "alert")
ID_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
DURATION_RE = re.compile(r"(\d+)\s*([smhd])")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_INTERVAL_S = 10


def _did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" — did you mean '{close[0]}'?" if close else ""


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``24h``, ``7d`` → timedelta; ValueError otherwise."""
    match = DURATION_RE.fullmatch(str(text).strip())
    if not match:
        raise ValueError(f"'{text}' is not a duration like 90s, 15m, 2h or 1d")
    return timedelta(seconds=int(match.group(1)) * UNIT_SECONDS[match.group(2)])


def parse_when(text: str, *, now: datetime) -> datetime:
    """A ``WHEN``: an ISO 8601 date/time (UTC when no offset) or a duration back from ``now``."""
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"'{text}' is neither a date/time (2025-04-09, 2025-04-09T18:00+02:00) "
            "nor a duration back from now (90m, 24h, 7d)."
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class _Where:
    """Builds the 'file, entry N (id), key' prefix of every sources.yaml error."""

    def __init__(self, path: Path, section: str, index: int, entry: Any):
        self.path = path
        ident = entry.get("id") if isinstance(entry, dict) else None
        self.prefix = f"{path}, {section} entry {index + 1}" + (f" ({ident})" if ident else "")

    def error(self, message: str) -> ConfigError:
        return ConfigError(f"{self.prefix}: {message}")


def _check_keys(where: _Where, entry: dict[str, Any], allowed: tuple[str, ...], what: str) -> None:
    for key in entry:
        if key not in allowed:
            hint = _did_you_mean(str(key), allowed) or f" — allowed keys: {', '.join(allowed)}"
            raise where.error(f"unknown key '{key}'{' in ' + what if what else ''}{hint}")


def _check_url(where: _Where, url: Any) -> str:
    if not isinstance(url, str) or not url.strip():
        raise where.error("key 'url' must be an http:// or https:// address")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise where.error(f"key 'url': '{url}' is not an http:// or https:// address with a host name")
    return url.strip()


def _check_interval(where: _Where, value: Any) -> int:
    try:
        seconds = int(parse_duration(str(value)).total_seconds())
    except ValueError as error:
        raise where.error(f"key 'interval': {error}") from None
    if seconds < MIN_INTERVAL_S:
        raise where.error(f"key 'interval': {value} is too short — poll at most every {MIN_INTERVAL_S}s")
    return seconds


def _check_bool(where: _Where, entry: dict[str, Any], key: str, default: bool) -> bool:
    value = entry.get(key, default)
    if not isinstance(value, bool):
        raise where.error(f"key '{key}' must be true or false, not {value!r}")
    return value


def _check_str(where: _Where, entry: dict[str, Any], key: str, default: str = "") -> str:
    value = entry.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str | int | float):
        raise where.error(f"key '{key}' must be text, not {type(value).__name__}")
    return str(value)


def _sub_mapping(where: _Where, entry: dict[str, Any], key: str, allowed: tuple[str, ...]) -> dict[str, str]:
    value = entry.get(key)
    if not isinstance(value, dict):
        raise where.error(f"key '{key}' must be a mapping with keys {', '.join(allowed)}")
    _check_keys(where, value, allowed, f"'{key}'")
    return {k: _check_str(where, value, k) for k in value}


def _parse_source(where: _Where, entry: Any) -> Source:
    if not isinstance(entry, dict):
        raise where.error("each source must be a mapping of keys (id, name, kind, url, …)")
    _check_keys(where, entry, SOURCE_KEYS, "")
    for key in REQUIRED_SOURCE_KEYS:
        if key not in entry:
            raise where.error(
                f"key '{key}' is missing — every source needs {', '.join(REQUIRED_SOURCE_KEYS)}"
            )
    source_id = _check_str(where, entry, "id")
    if not ID_RE.fullmatch(source_id):
        raise where.error(
            f"key 'id': '{source_id}' must be lower-case letters, digits and '-' (e.g. xinhua-zh)"
        )
    kind = entry["kind"]
    if kind not in SOURCE_KINDS:
        raise where.error(
            f"key 'kind': '{kind}' is not one of {', '.join(SOURCE_KINDS)}{_did_you_mean(str(kind), SOURCE_KINDS)}"
        )
    language = entry.get("language")
    if language is not None and language not in LANGUAGES:
        raise where.error(
            f"key 'language': '{language}' is not one of {', '.join(LANGUAGES)} (omit it to detect)"
        )
    selectors = fields = None
    if kind == "page":
        raw = _sub_mapping(where, entry, "selectors", SELECTOR_KEYS)
        if not raw.get("item"):
            raise where.error(
                "key 'selectors': 'item' (a CSS selector for one element per article) is required"
            )
        selectors = PageSelectors(**raw)
    elif "selectors" in entry:
        raise where.error("key 'selectors' only applies to kind: page")
    if kind == "json":
        raw = _sub_mapping(where, entry, "fields", FIELD_KEYS)
        for required in ("items", "url", "title"):
            if not raw.get(required):
                raise where.error(f"key 'fields': '{required}' (a dotted path such as data.list) is required")
        fields = JsonFields(**raw)
    elif "fields" in entry:
        raise where.error("key 'fields' only applies to kind: json")
    zone = None
    if "timezone" in entry:
        zone = _check_str(where, entry, "timezone")
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise where.error(
                f"key 'timezone': '{entry['timezone']}' is not a time zone like Asia/Shanghai"
            ) from None
    return Source(
        id=source_id,
        name=_check_str(where, entry, "name", source_id),
        kind=kind,
        url=_check_url(where, entry["url"]),
        language=language,
        interval_s=_check_interval(where, entry.get("interval", "30m")),
        full_text=_check_bool(where, entry, "full_text", False),
        enabled=_check_bool(where, entry, "enabled", True),
        selectors=selectors,
        fields=fields,
        timezone=zone,
    )


def _parse_topic(where: _Where, entry: Any) -> Topic:
    if not isinstance(entry, dict):
        raise where.error("each topic must be a mapping with id, name and keywords")
    _check_keys(where, entry, TOPIC_KEYS, "")
    topic_id = _check_str(where, entry, "id")
    if not ID_RE.fullmatch(topic_id):
        raise where.error(f"key 'id': '{topic_id}' must be lower-case letters, digits and '-'")
    keywords = entry.get("keywords")
    if not isinstance(keywords, dict) or not keywords:
        raise where.error(
            "key 'keywords' must map languages to lists, e.g. {zh: [双城时装周], en: [Bi-City Fashion Week]}"
        )
    parsed: dict[str, tuple[str, ...]] = {}
    for language, words in keywords.items():
        if language not in LANGUAGES:
            raise where.error(f"key 'keywords': '{language}' is not one of {', '.join(LANGUAGES)}")
        if isinstance(words, str):
            words = [words]
        if not isinstance(words, list) or not all(isinstance(w, str | int) and str(w).strip() for w in words):
            raise where.error(f"key 'keywords.{language}' must be a list of non-empty words")
        parsed[language] = tuple(str(w).strip() for w in words)
    return Topic(id=topic_id, name=_check_str(where, entry, "name", topic_id), keywords=parsed)


def _unique(path: Path, section: str, items: list[Any]) -> None:
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        if item.id in seen:
            raise ConfigError(
                f"{path}, {section} entry {index + 1} ({item.id}): key 'id': '{item.id}' is already used by "
                f"entry {seen[item.id] + 1} — ids must be unique"
            )
        seen[item.id] = index


def parse_config(text: str, *, path: Path) -> Config:
    """Validate the text of a sources file; the first problem raises ConfigError naming file, entry and key."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ConfigError(
            f"{path}: not valid YAML{where}: {problem} — check indentation and quoting"
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping with 'sources:' and 'topics:'")
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            hint = _did_you_mean(str(key), TOP_LEVEL_KEYS) or f" — allowed: {', '.join(TOP_LEVEL_KEYS)}"
            raise ConfigError(f"{path}: unknown top-level key '{key}'{hint}")
    raw_sources = data.get("sources") or []
    raw_topics = data.get("topics") or []
    if not isinstance(raw_sources, list) or not isinstance(raw_topics, list):
        raise ConfigError(f"{path}: 'sources' and 'topics' must be lists (each item starts with '- ')")
    sources = [_parse_source(_Where(path, "sources", i, e), e) for i, e in enumerate(raw_sources)]
    topics = [_parse_topic(_Where(path, "topics", i, e), e) for i, e in enumerate(raw_topics)]
    _unique(path, "sources", sources)
    _unique(path, "topics", topics)
    alerts = tuple(
        t.id
        for i, (t, e) in enumerate(zip(topics, raw_topics, strict=True))
        if _check_bool(_Where(path, "topics", i, e), e, "alert", False)
    )
    from pressbot.channels import parse_channels  # (it reuses this module's validators)

    channels = parse_channels(data.get("channels"), path=path, topics=topics)
    glossary = parse_glossary(data.get("glossary"), path=path)
    return Config(
        path=path,
        sources=tuple(sources),
        topics=tuple(topics),
        channels=channels,
        glossary=glossary,
        alert_topics=alerts,
    )


def load_config(path: Path) -> Config:
    """Read and validate ``sources.yaml``; a missing or unreadable file is a ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such file — create it (see the README) or point --sources / PRESSBOT_SOURCES at it"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot be read ({error}) — it must be a UTF-8 text file") from None
    return parse_config(text, path=path)


def settings_markdown() -> str:
    """The README's settings table, made from :data:`SETTINGS` (tests/test_docs.py keeps them equal)."""
    lines = ["| environment variable | default | what it does |", "| --- | --- | --- |"]
    lines += [f"| `{s.env}` | `{s.default}` | {s.help} |" for s in SETTINGS]
    return "\n".join(lines)
