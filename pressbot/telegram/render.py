"""Digests → Telegram HTML messages (pure).

Input → output: a :class:`~pressbot.telegram.digest.Digest` (or any list of entries with a
title, for bot answers such as /search) → message texts ready for ``sendMessage`` with
``parse_mode=HTML``. Every field from an outlet is escaped, so a headline with ``<b>`` or ``&``
shows literally. Telegram counts its 4096-character limit on the text *after* entity parsing
and in UTF-16 code units (an emoji or a rare CJK character outside the BMP counts twice), so
that is what :func:`telegram_length` measures. Messages are split only between entries; one
entry too long for a message on its own has its headlines shortened at a sentence end.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from pressbot.telegram.digest import Digest, DigestEntry

TELEGRAM_LIMIT = 4096
MAX_OUTLETS = 8  # links shown per entry; the rest are counted
TAG_RE = re.compile(r"<[^>]*>")
# A sentence ends at . ! ? … (followed by a space or the end) or at Chinese 。！？ (no space needed).
SENTENCE_END_RE = re.compile(r"(?:[.!?…](?=\s|$)|[。！？])[\"'”’」』）)]*")
ELLIPSIS = "…"

LANGUAGE_NAMES = {
    "en": {"zh": "Chinese", "it": "Italian", "en": "English"},
    "it": {"zh": "cinese", "it": "italiano", "en": "inglese"},
    "zh": {"zh": "中文", "it": "意大利语", "en": "英语"},
}
LABELS = {
    "en": {
        "digest": "Press digest",
        "stories": "{n} stories",
        "story": "1 story",
        "more_stories": "{n} more not shown",
        "mt": "machine translation from {lang}",
        "original": "Original ({lang})",
        "untranslated": "{lang}, not translated",
        "outlets": "{n} outlets",
        "outlet": "1 outlet",
        "more": "+{n} more",
        "first_seen": "first seen {when}",
        "nothing": "Nothing new since {when}.",
        "continued": "continued",
        "alert": "Alert",
    },
    "it": {
        "digest": "Rassegna stampa",
        "stories": "{n} notizie",
        "story": "1 notizia",
        "more_stories": "altre {n} non mostrate",
        "mt": "traduzione automatica dal {lang}",
        "original": "Originale ({lang})",
        "untranslated": "{lang}, non tradotto",
        "outlets": "{n} testate",
        "outlet": "1 testata",
        "more": "+{n} altre",
        "first_seen": "prima uscita {when}",
        "nothing": "Nessuna novità dal {when}.",
        "continued": "continua",
        "alert": "Allerta",
    },
    "zh": {
        "digest": "新闻摘要",
        "stories": "{n} 条新闻",
        "story": "1 条新闻",
        "more_stories": "另有 {n} 条未列出",
        "mt": "机器翻译自{lang}",
        "original": "原文（{lang}）",
        "untranslated": "{lang}，未翻译",
        "outlets": "{n} 家媒体",
        "outlet": "1 家媒体",
        "more": "另 {n} 家",
        "first_seen": "首次出现 {when}",
        "nothing": "自 {when} 以来没有新报道。",
        "continued": "续",
        "alert": "提醒",
    },
}
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# --------------------------------------------------------------------------- measuring


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def visible_text(message: str) -> str:
    """What Telegram shows of a message made by this module: tags gone, entities decoded."""
    return html.unescape(TAG_RE.sub("", message))


def telegram_length(message: str) -> int:
    """The length Telegram checks against its 4096 limit."""
    return utf16_length(visible_text(message))


def _prefix(text: str, units: int) -> str:
    """The longest prefix of ``text`` within ``units`` UTF-16 units (never half a surrogate pair)."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > units:
            return text[:index]
    return text


def shorten(text: str, budget: int) -> str:
    """``text`` cut to at most ``budget`` UTF-16 units: after the last sentence end that fits
    (Chinese 。！？ included), else at the last space, else anywhere; an ellipsis marks the cut."""
    if utf16_length(text) <= budget:
        return text
    if budget < 2:
        return ELLIPSIS[:budget]
    head = _prefix(text, budget - 2)  # room for " …"
    ends = [m.end() for m in SENTENCE_END_RE.finditer(head)]
    if ends and ends[-1] >= len(head) // 3:
        sentence = head[: ends[-1]].rstrip()
        return sentence + ("" if sentence[-1] in "。！？" else " ") + ELLIPSIS
    head = _prefix(text, budget - 1)
    space = head.rfind(" ")
    if space >= len(head) // 2:
        head = head[:space]
    return head.rstrip() + ELLIPSIS


# --------------------------------------------------------------------------- formatting


def _e(text: str) -> str:
    return html.escape(text, quote=False)


def format_time(moment: datetime, *, language: str, zone: str) -> str:
    local = moment.astimezone(ZoneInfo(zone))
    if language == "zh":
        return f"{local.month}月{local.day}日 {local:%H:%M}"
    if language == "it":
        return f"{local:%d/%m %H:%M}"
    return f"{local.day} {MONTHS_EN[local.month - 1]} {local:%H:%M}"


def _labels(language: str) -> dict[str, str]:
    return LABELS.get(language, LABELS["en"])


def _lang(code: str, language: str) -> str:
    return LANGUAGE_NAMES.get(language, LANGUAGE_NAMES["en"]).get(code, code)


def render_entry(
    entry: DigestEntry, number: int, *, language: str, zone: str, headline: str = "", original: str = ""
) -> str:
    """One entry as an HTML block (``headline``/``original`` override the entry's, when shortened)."""
    labels = _labels(language)
    headline = headline or entry.headline
    original = original or entry.original
    lines = [f"<b>{number}. {_e(headline)}</b>"]
    source_language = _lang(entry.original_language, language)
    if entry.machine_translated:
        lines.append(f"<i>{_e(labels['mt'].format(lang=source_language))}</i>")
        lines.append(f"{_e(labels['original'].format(lang=entry.original_language))}: {_e(original)}")
    elif not entry.native:
        lines.append(f"<i>{_e(labels['untranslated'].format(lang=source_language))}</i>")
    links = [
        f'<a href="{html.escape(o.url, quote=True)}">{_e(o.name)}</a>' if o.url else _e(o.name)
        for o in entry.outlets[:MAX_OUTLETS]
    ]
    if len(entry.outlets) > MAX_OUTLETS:
        links.append(_e(labels["more"].format(n=len(entry.outlets) - MAX_OUTLETS)))
    lines.append(" · ".join(links))
    count = labels["outlet"] if len(entry.outlets) == 1 else labels["outlets"].format(n=len(entry.outlets))
    spread = " ".join(f"{code} {n}" for code, n in sorted(entry.languages.items()))
    when = labels["first_seen"].format(when=format_time(entry.first_seen, language=language, zone=zone))
    lines.append(f"<i>{_e(count)} · {_e(spread)} · {_e(when)}</i>")
    return "\n".join(lines)


def fit_entry(entry: DigestEntry, number: int, *, language: str, zone: str, limit: int) -> str:
    """The entry's block, its headlines shortened at a sentence end when it alone exceeds ``limit``."""
    block = render_entry(entry, number, language=language, zone=zone)
    if telegram_length(block) <= limit:
        return block
    fixed = telegram_length(
        render_entry(entry, number, language=language, zone=zone, headline="x", original="x")
    )
    room = max(limit - fixed + 2, 2)  # (+2: the two placeholder characters)
    shown_original = entry.machine_translated
    head_room = room // 2 if shown_original else room
    headline = shorten(entry.headline, head_room)
    original = shorten(entry.original, room - utf16_length(headline)) if shown_original else ""
    return render_entry(entry, number, language=language, zone=zone, headline=headline, original=original)


# --------------------------------------------------------------------------- messages


def header(digest: Digest) -> str:
    labels = _labels(digest.language)
    count = len(digest.entries)
    period = (
        f"{format_time(digest.since, language=digest.language, zone=digest.timezone)} – "
        f"{format_time(digest.until, language=digest.language, zone=digest.timezone)} ({digest.timezone})"
    )
    stories = labels["story"] if count == 1 else labels["stories"].format(n=count)
    if digest.candidates > count:
        stories += f", {labels['more_stories'].format(n=digest.candidates - count)}"
    title = f"{labels['digest']} · {digest.title}" if digest.title else labels["digest"]
    return f"<b>{_e(title)}</b>\n<i>{_e(period)} · {_e(stories)}</i>"


def render_digest(digest: Digest, *, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """The digest as messages of at most ``limit`` (Telegram) characters each."""
    labels = _labels(digest.language)
    if not digest.entries:
        since = format_time(digest.since, language=digest.language, zone=digest.timezone)
        title = f"{labels['digest']} · {digest.title}" if digest.title else labels["digest"]
        return [f"<b>{_e(title)}</b>\n{_e(labels['nothing'].format(when=since))}"]
    title = f"{labels['digest']} · {digest.title}" if digest.title else labels["digest"]
    continued = f"{title} ({labels['continued']})"
    top = header(digest)
    # An entry must fit a message alone, below the first message's header or a later one's line.
    room = limit - max(continuation_reserve(continued), telegram_length(top) + 2)
    return render_blocks(
        top,
        [
            fit_entry(entry, number, language=digest.language, zone=digest.timezone, limit=room)
            for number, entry in enumerate(digest.entries, start=1)
        ],
        continued=continued,
        limit=limit,
    )


def continuation_reserve(continued: str) -> int:
    """Room taken at the top of a later message by ``continued`` + " 12/13" + a blank line."""
    return utf16_length(continued) + 12


def render_blocks(
    first_header: str, blocks: Sequence[str], *, continued: str, limit: int = TELEGRAM_LIMIT
) -> list[str]:
    """Pack blocks into messages, splitting only between blocks; later messages start with
    ``continued`` (plain text, escaped here) and the part number."""
    messages: list[list[str]] = [[first_header]]
    reserve = continuation_reserve(continued)
    for block in blocks:
        current = messages[-1]
        candidate = "\n\n".join([*current, block])
        budget = limit if len(messages) == 1 else limit - reserve
        if telegram_length(candidate) <= budget:
            current.append(block)
        else:
            messages.append([block])
    total = len(messages)
    texts = []
    for index, parts in enumerate(messages, start=1):
        if index > 1:
            parts = [f"<i>{_e(continued)} {index}/{total}</i>", *parts]
        texts.append("\n\n".join(parts))
    return texts


def render_alert(
    entry: DigestEntry, *, topic: str, language: str, zone: str, limit: int = TELEGRAM_LIMIT
) -> str:
    """One new story of an alert topic as a single message."""
    top = f"<b>{_e(_labels(language)['alert'])} · {_e(topic)}</b>"
    block = fit_entry(entry, 1, language=language, zone=zone, limit=limit - telegram_length(top) - 2)
    return f"{top}\n\n{block}"


def split_text(text: str, limit: int) -> list[str]:
    """Plain text in pieces of at most ``limit`` UTF-16 units, cut between paragraphs when they fit,
    else at sentence ends (Chinese 。！？ included), else at a space; nothing is dropped."""
    units: list[tuple[str, str]] = []  # (separator before, piece)
    for paragraph in (p.strip() for p in text.splitlines()):
        if not paragraph:
            continue
        separator = "\n\n" if units else ""
        if utf16_length(paragraph) <= limit:
            units.append((separator, paragraph))
            continue
        first = True
        for sentence_separator, sentence in _sentences(paragraph):
            for index, chunk in enumerate(_hard_split(sentence, limit)):
                if first:
                    units.append((separator, chunk))
                    first = False
                else:
                    units.append((sentence_separator if index == 0 else " ", chunk))
    chunks: list[str] = []
    current = ""
    for separator, piece in units:
        candidate = current + separator + piece if current else piece
        if utf16_length(candidate) <= limit:
            current = candidate
        else:
            chunks.append(current)
            current = piece
    if current:
        chunks.append(current)
    return chunks


def _sentences(paragraph: str) -> list[tuple[str, str]]:
    """(separator before, sentence) pairs: the separator is a space where the text had one."""
    pieces: list[tuple[str, str]] = []
    start = 0
    for match in SENTENCE_END_RE.finditer(paragraph):
        raw = paragraph[start : match.end()]
        if raw.strip():
            pieces.append((" " if raw[:1].isspace() else "", raw.strip()))
        start = match.end()
    rest = paragraph[start:]
    if rest.strip():
        pieces.append((" " if rest[:1].isspace() else "", rest.strip()))
    return pieces


def _hard_split(text: str, limit: int) -> list[str]:
    """A sentence longer than ``limit``: cut at the last space that fits, else anywhere."""
    parts: list[str] = []
    while utf16_length(text) > limit:
        head = _prefix(text, limit)
        space = head.rfind(" ")
        if space >= len(head) // 2:
            head = head[:space]
        parts.append(head.rstrip())
        text = text[len(head) :].lstrip()
    if text:
        parts.append(text)
    return parts


def to_plain(message: str) -> str:
    """A message as readable plain text for a terminal: links become ``name <url>``."""
    linked = re.sub(
        r'<a href="([^"]*)">(.*?)</a>',
        lambda m: f"{m.group(2)} &lt;{m.group(1)}&gt;",
        message,
    )
    return visible_text(linked)
