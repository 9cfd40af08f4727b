"""The parse stage: a fetched body → :class:`Entry` items, for each source kind.

- ``feed``: RSS/Atom via feedparser, always on bytes. pressbot decodes the bytes itself first
  (see :mod:`pressbot.encoding`) and hands feedparser UTF-8, because feedparser's own guess goes
  wrong on GB2312 feeds that use GBK characters and on mislabelled Latin feeds. DTD internal
  subsets are dropped before parsing: no entity expansion ("billion laughs") can happen.
- ``page``: an HTML listing page, with the source's CSS selectors (beautifulsoup4).
- ``json``: a JSON or JSONP endpoint with dotted field paths (CCTV's lists are JSONP).

Pure functions: no I/O, no clock. feedparser and beautifulsoup4 are imported only here (and
bs4 in extract/normalize for their own concerns).
"""

from __future__ import annotations

import calendar
import json
import re
from datetime import UTC, datetime, timezone
from html.entities import name2codepoint
from typing import Any
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

import feedparser
from bs4 import BeautifulSoup, Tag

from pressbot.encoding import decode_document
from pressbot.errors import ParseError
from pressbot.feedfast import RawFeed, RawItem, fast_entries
from pressbot.models import Entry, FetchedDocument, JsonFields, PageSelectors

DOCTYPE_SUBSET_RE = re.compile(r"<!DOCTYPE[^>\[]*\[.*?\]\s*>", re.S | re.I)
XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.S)
CDATA_RE = re.compile(r"(<!\[CDATA\[.*?\]\]>)", re.S)
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
BARE_AMP_RE = re.compile(r"&(?!(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});)")
NAMED_ENTITY_RE = re.compile(r"&([A-Za-z][A-Za-z0-9]{1,31});")
XML_ENTITIES = frozenset({"amp", "lt", "gt", "quot", "apos"})
JSONP_RE = re.compile(r"^\s*[\w$.]+\s*\((.*)\)\s*;?\s*$", re.S)
DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日%H:%M",
    "%Y年%m月%d日",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
)


# ----------------------------------------------------------------------------- dates


def parse_date(value: Any, *, tz: str | None = None) -> datetime | None:
    """A date as outlets write it → aware UTC datetime, or None when unreadable.

    Accepts ISO 8601, RFC 822, common Chinese and Italian layouts and Unix timestamps
    (seconds or milliseconds). Dates without an offset are read in ``tz`` (the source's
    ``timezone``), else UTC.
    """
    if value is None or value == "":
        return None
    zone = ZoneInfo(tz) if tz else UTC
    if isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
        number = float(value)
        if number > 1e11:  # milliseconds
            number /= 1000
        try:
            return datetime.fromtimestamp(number, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    text = " ".join(str(value).split())
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return _aware(moment, zone)
    except ValueError:
        pass
    for layout in DATE_FORMATS:
        try:
            return _aware(datetime.strptime(text, layout), zone)
        except ValueError:
            continue
    parsed = feedparser.datetimes._parse_date(text)  # RFC 822 and a dozen other layouts
    if parsed:
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    return None


def _aware(moment: datetime, zone: timezone | ZoneInfo) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


# ----------------------------------------------------------------------------- feeds


def _entity(match: re.Match[str]) -> str:
    name = match.group(1)
    if name in XML_ENTITIES:
        return match.group(0)
    codepoint = name2codepoint.get(name)
    return f"&#{codepoint};" if codepoint else f"&amp;{name};"


def repair_xml(text: str) -> str:
    """Fix the two faults that make most real feeds ill-formed, outside CDATA sections.

    Bare ``&`` in URLs (``?a=1&b=2``) and HTML entities (``&nbsp;``) are made XML, and C0 control
    characters (invalid in XML 1.0) are removed. expat then parses feeds it would reject, which is
    more faithful and about 5x faster than feedparser's fallback parser.
    """
    pieces = CDATA_RE.split(CONTROL_RE.sub("", text))
    for index in range(0, len(pieces), 2):  # even pieces are outside CDATA
        pieces[index] = NAMED_ENTITY_RE.sub(_entity, BARE_AMP_RE.sub("&amp;", pieces[index]))
    return "".join(pieces)


def _utf8_feed_bytes(document: FetchedDocument) -> bytes:
    text, _codec = decode_document(document.content, http_charset=document.charset)
    text = repair_xml(DOCTYPE_SUBSET_RE.sub("", text, count=1))
    text = XML_DECL_RE.sub('<?xml version="1.0" encoding="utf-8"?>', text, count=1)
    return text.encode("utf-8")


def _entry_date(entry: Any, tz: str | None) -> datetime | None:
    for key in ("published", "updated", "created", "dc_date"):
        raw = dict.get(entry, key)  # plain dict access: FeedParserDict's key aliasing warns
        if raw and tz is not None:
            local = parse_date(raw, tz=tz)  # honour the source's zone for offset-less dates
            if local:
                return local
        parsed = dict.get(entry, f"{key}_parsed")
        if parsed:
            return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
        if raw:
            fallback = parse_date(raw, tz=tz)
            if fallback:
                return fallback
    return None


def _entry_content(entry: Any) -> str:
    contents = entry.get("content") or []
    values = [c.get("value", "") for c in contents if isinstance(c, dict)]
    return max(values, key=len) if values else ""


def parse_feed(document: FetchedDocument, *, tz: str | None = None) -> list[Entry]:
    """RSS/Atom bytes → entries. ParseError when the body is not a feed and nothing can be recovered."""
    if not document.content.strip():
        raise ParseError(f"{document.url}: the server sent an empty body — check the feed URL in a browser.")
    utf8 = _utf8_feed_bytes(document)
    fast = fast_entries(utf8, url=document.url)
    if fast is not None:
        return [_fast_entry(item, feed=fast, tz=tz) for item in fast.items]
    return _feedparser_entries(utf8, document, tz=tz)


def _fast_entry(item: RawItem, *, feed: RawFeed, tz: str | None) -> Entry:
    published = next((moment for moment in (parse_date(d, tz=tz) for d in item.dates) if moment), None)
    return Entry(
        url=item.link,
        title=item.title,
        summary=item.summary,
        content=item.content,
        guid=item.guid,
        published=published,
        authors=item.authors,
        language_hint=feed.language,
    )


def _feedparser_entries(utf8: bytes, document: FetchedDocument, *, tz: str | None) -> list[Entry]:
    result = feedparser.parse(
        utf8,
        response_headers={"content-type": "application/xml; charset=utf-8", "content-location": document.url},
        # Both passes rewrite HTML that normalize strips anyway; off, feedparser is twice as fast
        # (bench_ingest.py). Item links are still resolved: feedparser resolves <link>, and
        # pressbot joins what is left against the feed's own link and URL below.
        resolve_relative_uris=False,
        sanitize_html=False,
    )
    base = result.feed.get("link") or document.url
    entries: list[Entry] = []
    for raw in result.entries:
        link = raw.get("link") or _alternate_link(raw) or ""
        guid = str(raw.get("id") or "")
        if not link and guid.startswith(("http://", "https://")):
            link = guid
        entries.append(
            Entry(
                # An item without a link is kept: normalize gives it an identity from guid/content.
                url=urljoin(document.url, urljoin(base, link))
                if link and not link.startswith("http")
                else link,
                title=str(raw.get("title") or ""),
                summary=str(raw.get("summary") or ""),
                content=_entry_content(raw),
                guid=guid,
                published=_entry_date(raw, tz),
                authors=tuple(str(a.get("name")) for a in raw.get("authors", []) if a.get("name")),
                language_hint=result.feed.get("language") or None,
            )
        )
    if not entries and not _looks_like_empty_feed(result):
        reason = result.get("bozo_exception")
        detail = f" ({reason})" if reason else ""
        raise ParseError(
            f"{document.url}: not a readable RSS/Atom feed{detail}, and no items could be recovered — "
            "open the URL in a browser; if the site moved its feed, update sources.yaml."
        )
    return entries


def _alternate_link(entry: Any) -> str:
    for link in entry.get("links", []):
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return str(link["href"])
    return ""


def _looks_like_empty_feed(result: Any) -> bool:
    """A well-formed feed that simply has no items right now is not an error."""
    return not result.get("bozo") and bool(result.get("version"))


# ----------------------------------------------------------------------------- listing pages


def _text_of(tag: Tag | None) -> str:
    return " ".join(tag.get_text(" ").split()) if tag else ""


def _first(item: Tag, selector: str) -> Tag | None:
    return item.select_one(selector) if selector else None


def parse_listing(
    document: FetchedDocument, selectors: PageSelectors, *, tz: str | None = None
) -> list[Entry]:
    """An HTML listing page → one entry per ``selectors.item`` that has a link."""
    text, _codec = decode_document(document.content, http_charset=document.charset)
    soup = BeautifulSoup(text, "lxml")
    base_tag = soup.find("base", href=True)
    base = urljoin(document.url, str(base_tag["href"])) if isinstance(base_tag, Tag) else document.url
    try:
        items = soup.select(selectors.item)
    except Exception as error:  # soupsieve's SelectorSyntaxError; an edge: the selector comes from the user
        raise ParseError(
            f"{document.url}: the CSS selector '{selectors.item}' is invalid ({error}) — fix it in sources.yaml."
        ) from None
    entries: list[Entry] = []
    seen: set[str] = set()
    for item in items:
        anchor = _first(item, selectors.link) if selectors.link else item
        href = anchor.get("href") if isinstance(anchor, Tag) else None
        if not isinstance(href, str) or not href.strip() or href.startswith(("javascript:", "mailto:", "#")):
            continue
        url = urljoin(base, href.strip())
        if url in seen:
            continue
        seen.add(url)
        date_tag = _first(item, selectors.date)
        raw_date = (date_tag.get("datetime") or _text_of(date_tag)) if date_tag else None
        entries.append(
            Entry(
                url=url,
                title=_text_of(_first(item, selectors.title))
                or _text_of(anchor if isinstance(anchor, Tag) else None),
                summary=_text_of(_first(item, selectors.summary)),
                guid=url,
                published=parse_date(raw_date, tz=tz) if isinstance(raw_date, str) else None,
            )
        )
    if not entries:
        raise ParseError(
            f"{document.url}: the listing page has no element matching '{selectors.item}' with a link — "
            "the site's markup may have changed; update the source's selectors in sources.yaml."
        )
    return entries


# ----------------------------------------------------------------------------- JSON endpoints


def _path(record: Any, dotted: str) -> Any:
    current = record
    for part in dotted.split("."):
        if isinstance(current, dict):
            current = current.get(part)
        elif (
            isinstance(current, list)
            and part.lstrip("-").isdigit()
            and -len(current) <= int(part) < len(current)
        ):
            current = current[int(part)]
        else:
            return None
    return current


def load_json_document(document: FetchedDocument) -> Any:
    text, _codec = decode_document(document.content, http_charset=document.charset)
    match = JSONP_RE.match(text)
    try:
        return json.loads(match.group(1) if match else text)
    except json.JSONDecodeError as error:
        raise ParseError(
            f"{document.url}: not valid JSON or JSONP ({error.msg} at line {error.lineno}, column {error.colno}) — "
            "check the endpoint in a browser."
        ) from None


def parse_json(document: FetchedDocument, fields: JsonFields, *, tz: str | None = None) -> list[Entry]:
    """A JSON/JSONP endpoint → entries, using the source's dotted ``fields`` paths."""
    data = load_json_document(document)
    records = _path(data, fields.items)
    if not isinstance(records, list):
        raise ParseError(
            f"{document.url}: the JSON has no list at '{fields.items}' — check the source's fields.items in sources.yaml."
        )
    entries = []
    for record in records:
        url = _path(record, fields.url)
        if not isinstance(url, str) or not url.strip():
            continue
        url = urljoin(document.url, url.strip())
        guid = _path(record, fields.id) if fields.id else None
        entries.append(
            Entry(
                url=url,
                title=str(_path(record, fields.title) or ""),
                summary=str(_path(record, fields.summary) or "") if fields.summary else "",
                guid=str(guid) if guid not in (None, "") else url,
                published=parse_date(_path(record, fields.date), tz=tz) if fields.date else None,
            )
        )
    return entries
