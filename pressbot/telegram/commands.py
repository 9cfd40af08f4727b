"""The press officers' bot commands: their arguments, and the answers (no Telegram library here).

Input → output: a command's words, the archive and ``sources.yaml`` → a :class:`Reply` of Telegram
HTML messages (every field from an outlet escaped, each ≤ 4096 characters as Telegram counts
them), and for some commands a chart or a next page. ``bot.py`` adapts them to python-telegram-bot
and calls them in worker threads: they block (SQLite, translation, drawing). Wrong arguments raise
:class:`UsageError`, whose text is the one-line usage.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from pressbot.channels import Channel
from pressbot.config import Config, parse_duration
from pressbot.errors import PressbotError
from pressbot.leads import cut_lead, lead_text
from pressbot.models import LANGUAGES, Article
from pressbot.store import Archive, SearchQuery
from pressbot.telegram.digest import build_digest
from pressbot.telegram.render import (
    LANGUAGE_NAMES,
    TELEGRAM_LIMIT,
    fit_entry,
    format_time,
    render_blocks,
    split_text,
    telegram_length,
)
from pressbot.telegram.service import DigestRequest, cached_headlines, prepare_digest
from pressbot.translate.cached import TextTranslator, translate_cached

# Times are shown in the zone the team reading that language works in.
ZONES = {"zh": "Asia/Shanghai", "it": "Europe/Rome", "en": "UTC"}
PERIOD_RE = re.compile(r"\d{1,4}[hd]")
MAX_PERIOD = timedelta(days=90)
PAGE_SIZE = 5
MAX_LATEST = 30
DEFAULT_LATEST = 10
SEARCH_SCAN = 400  # hits read to fill a page with one hit per story


@dataclass(frozen=True)
class CommandSpec:
    name: str
    arguments: str
    description: str
    admin: bool = False

    @property
    def usage(self) -> str:
        return f"Usage: /{self.name} {self.arguments}".rstrip()


COMMANDS = (
    CommandSpec("digest", "[6h|24h|7d] [en|it|zh] [topic]", "Stories of a period, best covered first"),
    CommandSpec("search", "<words> [en|it|zh] [page N]", "Search the archive, one hit per story"),
    CommandSpec("latest", "[n]", "The newest stories"),
    CommandSpec("story", "<id>", "A story's articles side by side, with translations"),
    CommandSpec("translate", "<article id> [en|it|zh]", "An article's full text, machine-translated"),
    CommandSpec("coverage", "<topic> [7d]", "Coverage per day, outlet and language, as a chart"),
    CommandSpec("sources", "", "Admins: source health — failing feeds, last success", admin=True),
    CommandSpec("fetch", "", "Admins: collect every source now", admin=True),
    CommandSpec("status", "", "Admins: uptime, next runs, backlogs", admin=True),
    CommandSpec("help", "", "What the bot can do"),
)
SPECS = {spec.name: spec for spec in COMMANDS}


class UsageError(PressbotError):
    """Arguments a command cannot take; ``str()`` is the one-line usage (and what was wrong)."""

    def __init__(self, command: str, problem: str = ""):
        usage = SPECS[command].usage
        super().__init__(f"{problem} — {usage}" if problem else usage)


@dataclass(frozen=True)
class Reply:
    messages: tuple[str, ...] = ()  # Telegram HTML
    photo: bytes | None = None  # a PNG, sent before the messages
    caption: str = ""  # HTML, under the photo (≤ 1024 characters)
    next_page: int | None = None  # /search: the page a "more" button under the last message shows


def e(text: str) -> str:
    return html.escape(text, quote=False)


def zone_for(language: str) -> str:
    return ZONES.get(language, "UTC")


def language_of(code: str | None) -> str:
    """A Telegram user's language_code (``it``, ``zh-hans``, ``en-US``) → zh | it | en."""
    base = (code or "").split("-")[0].lower()
    return base if base in LANGUAGES else "en"


def parse_period(word: str, command: str) -> timedelta:
    period = parse_duration(word)
    if not timedelta(0) < period <= MAX_PERIOD:
        raise UsageError(command, f"the period must be from 1h to {MAX_PERIOD.days}d")
    return period


# ----------------------------------------------------------------------------- /help


def answer_help(*, admin: bool) -> Reply:
    lines = ["<b>pressbot</b> — press monitoring in Chinese, Italian and English.", ""]
    for spec in COMMANDS:
        if spec.admin and not admin:
            continue
        arguments = f" {e(spec.arguments)}" if spec.arguments else ""
        lines.append(f"/{spec.name}{arguments} — {e(spec.description)}")
    lines += [
        "",
        "Examples: <code>/digest 7d it</code> · <code>/search 双城时装周</code> · <code>/latest 5</code>",
    ]
    return Reply(("\n".join(lines),))


# ----------------------------------------------------------------------------- /digest


def answer_digest(
    archive: Archive, config: Config, words: Sequence[str], *, language: str, now: datetime
) -> Reply:
    period, topic = timedelta(hours=24), None
    seen: set[str] = set()
    for word in words:
        kind = "period" if PERIOD_RE.fullmatch(word) else "language" if word in LANGUAGES else "topic"
        if kind in seen:
            raise UsageError("digest", f"'{word}': one {kind} only")
        seen.add(kind)
        if kind == "period":
            period = parse_period(word, "digest")
        elif kind == "language":
            language = word
        else:
            if word not in {t.id for t in config.topics}:
                known = ", ".join(t.id for t in config.topics) or "none in sources.yaml"
                raise UsageError("digest", f"no topic '{word}' (topics: {known})")
            topic = word
    channel = Channel(id="officer", chat="", language=language, timezone=zone_for(language))
    prepared = prepare_digest(archive, config, DigestRequest(channel, now - period, topic), now=now)
    return Reply(prepared.messages)


# ----------------------------------------------------------------------------- /search


@dataclass(frozen=True)
class SearchArgs:
    words: str
    language: str | None = None
    page: int = 1


def parse_search(words: Sequence[str]) -> SearchArgs:
    rest = list(words)
    page = 1
    if len(rest) >= 2 and rest[-2].lower() == "page":
        if not rest[-1].isdigit() or not 1 <= int(rest[-1]) <= 100:
            raise UsageError("search", "the page is a number from 1 to 100")
        page = int(rest[-1])
        rest = rest[:-2]
    language = None
    if len(rest) >= 2 and rest[-1] in LANGUAGES:
        language = rest.pop()
    if not rest:
        raise UsageError("search", "what should I look for?")
    return SearchArgs(" ".join(rest), language, page)


def answer_search(archive: Archive, config: Config, query: SearchArgs, *, language: str) -> Reply:
    hits = archive.search(SearchQuery(text=query.words, language=query.language, limit=SEARCH_SCAN))
    story_of = archive.story_of(hit.id for hit in hits if hit.id is not None)
    seen: set[int] = set()
    unique: list[Article] = []
    for hit in hits:
        story = story_of.get(hit.id or 0)
        if story is None or story not in seen:
            unique.append(hit)
            if story is not None:
                seen.add(story)
    start = (query.page - 1) * PAGE_SIZE
    page = unique[start : start + PAGE_SIZE]
    scope = f" ({query.language})" if query.language else ""
    if not page:
        what = "No story matches" if query.page == 1 else f"No more hits after page {query.page - 1} for"
        return Reply((f"{what} <b>{e(query.words)}</b>{scope}.",))
    translations = _title_translations(archive, page, language)
    blocks = []
    zone = zone_for(language)
    for number, hit in enumerate(page, start=start + 1):
        lines = [f"<b>{number}. {_link(hit.title or hit.url, hit.url)}</b>"]
        if (found := translations.get((hit.title, hit.language))) is not None:
            lines.append(f"<i>{_mt(hit.language, language)}:</i> {e(found)}")
        when = hit.published_at or hit.fetched_at
        meta = [_outlet(config, hit.source_id), hit.language]
        if when:
            meta.append(format_time(when, language=language, zone=zone))
        meta.append(f"article {hit.id}")
        if (story := story_of.get(hit.id or 0)) is not None:
            meta.append(f"/story {story}")
        lines.append(f"<i>{e(' · '.join(meta))}</i>")
        blocks.append("\n".join(lines))
    more = len(unique) > start + PAGE_SIZE
    header = (
        f"<b>Search: {e(query.words)}</b>{e(scope)}\n"
        f"<i>page {query.page} · stories {start + 1}–{start + len(page)}{'' if more else ' (the last)'}</i>"
    )
    messages = render_blocks(header, blocks, continued=f"Search: {query.words}")
    return Reply(tuple(messages), next_page=query.page + 1 if more else None)


# ----------------------------------------------------------------------------- /latest


def parse_count(words: Sequence[str]) -> int:
    if not words:
        return DEFAULT_LATEST
    if len(words) > 1 or not words[0].isdigit() or not 1 <= int(words[0]) <= MAX_LATEST:
        raise UsageError("latest", f"n is a number from 1 to {MAX_LATEST}")
    return int(words[0])


def answer_latest(archive: Archive, config: Config, count: int, *, language: str, now: datetime) -> Reply:
    stories = archive.stories(limit=count)
    if not stories:
        return Reply(("No story yet — an admin can collect with /fetch.",))
    zone = zone_for(language)
    digest = build_digest(
        stories,
        [],
        language=language,
        timezone=zone,
        since=min(s.first_seen for s in stories),
        until=now,
        now=now,
        translations=cached_headlines(archive, [s.articles for s in stories], language),
        outlet_names=_outlet_names(config),
        max_stories=count,
    )
    entries = sorted(digest.entries, key=lambda entry: (entry.last_seen, entry.story_id or 0), reverse=True)
    digest = replace(digest, entries=tuple(entries))
    header = f"<b>{e(_latest_title(language, len(entries)))}</b>"
    room = TELEGRAM_LIMIT - telegram_length(header) - 40
    blocks = [
        fit_entry(entry, number, language=language, zone=zone, limit=room) + f"\n/story {entry.story_id}"
        for number, entry in enumerate(digest.entries, start=1)
    ]
    return Reply(tuple(render_blocks(header, blocks, continued=_latest_title(language, len(entries)))))


def _latest_title(language: str, count: int) -> str:
    return {"it": f"Le {count} notizie più recenti", "zh": f"最新 {count} 条新闻"}.get(
        language, f"The {count} latest stories"
    )


# ----------------------------------------------------------------------------- /story


def parse_id(words: Sequence[str], command: str) -> int:
    if not words or not words[0].isdigit():
        raise UsageError(command)
    return int(words[0])


def answer_story(archive: Archive, config: Config, story_id: int, *, language: str) -> Reply:
    story = archive.story(story_id)
    if story is None:
        raise PressbotError(f"No story {story_id} — find stories with /latest or /search.")
    zone = zone_for(language)
    by_language: dict[str, list[str]] = {}
    for article in story.articles:
        if article.language != language:
            by_language.setdefault(article.language, []).extend([article.title, lead_text(article)])
    found = {
        source: archive.latest_translations(texts, source=source, targets=[language]).get(language, {})
        for source, texts in by_language.items()
    }
    spread = " · ".join(f"{lang} {n}" for lang, n in sorted(story.languages.items()))
    header = (
        f"<b>Story {story.id}</b>\n<i>{len(story.articles)} articles · {len(story.outlets)} outlets · "
        f"{e(spread)} · first seen {e(format_time(story.first_seen, language=language, zone=zone))} ({zone})</i>"
    )
    blocks = []
    for article in story.articles:
        when = article.published_at or article.fetched_at
        stamp = f" · {e(format_time(when, language=language, zone=zone))}" if when else ""
        lines = [
            f"<b>[{article.language}] {e(_outlet(config, article.source_id))}</b>{stamp} · article {article.id}",
            _link(article.title or article.url, article.url),
        ]
        lead = cut_lead(lead_text(article), 300)
        if lead and lead != article.title:
            lines.append(e(lead))
        cache = found.get(article.language, {})
        title_mt = cache.get(article.title)
        lead_mt = cache.get(lead_text(article))
        if title_mt or lead_mt:
            lines.append(f"<i>{_mt(article.language, language)}:</i>")
            lines += [f"<b>{e(title_mt[0])}</b>"] if title_mt else []
            lines += [e(cut_lead(lead_mt[0], 300))] if lead_mt else []
        blocks.append("\n".join(lines))
    return Reply(tuple(render_blocks(header, blocks, continued=f"Story {story.id}")))


# ----------------------------------------------------------------------------- helpers


def _outlet_names(config: Config) -> dict[str, str]:
    return {source.id: source.name for source in config.sources}


def _outlet(config: Config, source_id: str) -> str:
    return _outlet_names(config).get(source_id, source_id)


def _link(text: str, url: str) -> str:
    if url.startswith(("http://", "https://")):
        return f'<a href="{html.escape(url, quote=True)}">{e(text)}</a>'
    return e(text)


def _mt(source: str, target: str) -> str:
    name = LANGUAGE_NAMES.get(target, LANGUAGE_NAMES["en"]).get(source, source)
    return e(
        {"it": f"traduzione automatica dal {name}", "zh": f"机器翻译自{name}"}.get(
            target, f"machine translation from {name}"
        )
    )


def _title_translations(
    archive: Archive, articles: Sequence[Article], language: str
) -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for source in {a.language for a in articles if a.language != language}:
        titles = [a.title for a in articles if a.language == source]
        cached = archive.latest_translations(titles, source=source, targets=[language]).get(language, {})
        found.update({(title, source): value[0] for title, value in cached.items()})
    return found


def split_message(header: str, text: str, *, continued: str) -> list[str]:
    """A header (HTML) and a long plain text → messages, the text cut at sentence ends."""
    reserve = max(telegram_length(header) + 2, len(continued) + 12)
    chunks = split_text(text, TELEGRAM_LIMIT - reserve) or [""]
    total = len(chunks)
    messages = []
    for index, chunk in enumerate(chunks, start=1):
        top = header if index == 1 else f"<i>{e(continued)} {index}/{total}</i>"
        messages.append(f"{top}\n\n{e(chunk)}" if chunk else top)
    return messages


# ----------------------------------------------------------------------------- /translate


def parse_translate(words: Sequence[str], *, language: str) -> tuple[int, str]:
    if not 1 <= len(words) <= 2 or not words[0].isdigit():
        raise UsageError("translate")
    if len(words) == 2:
        if words[1] not in LANGUAGES:
            raise UsageError("translate", f"'{words[1]}' is not one of {', '.join(LANGUAGES)}")
        language = words[1]
    return int(words[0]), language


def answer_translate(
    archive: Archive, translator: TextTranslator, article_id: int, *, target: str, now: datetime
) -> Reply:
    """The article's title and full text in ``target``, translated now unless cached."""
    article = archive.get(article_id)
    if article is None:
        raise PressbotError(f"No article {article_id} — /search shows article ids.")
    body = article.body or article.summary
    if article.language == target:
        header = f"<b>{_link(article.title or article.url, article.url)}</b>\n<i>already in {e(target)}</i>"
        return Reply(tuple(split_message(header, body, continued=f"article {article_id}")))
    if not translator.can_translate(article.language, target):
        raise PressbotError(
            f"No {article.language}→{target} translation model is installed — an admin can add one "
            "with `pressbot models install`."
        )
    result = translate_cached(
        translator, archive, [article.title, body], source=article.language, target=target, now=now
    )
    title, text = result.texts
    header = (
        f"<b>{_link(title or article.url, article.url)}</b>\n"
        f"<i>{_mt(article.language, target)} · {e(article.title)}</i>"
    )
    return Reply(tuple(split_message(header, text, continued=f"article {article_id}")))
