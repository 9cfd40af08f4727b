"""The extract stage: article page HTML → body text, title, publication date, language hints.

Two extractors read every page: trafilatura (``favor_precision``, comments off) and readability-lxml.
Which body is kept is decided by :func:`choose_body`, a rule measured on the fixture sets with
``bench/bench_extract.py``:

* if one extractor found nothing, the other one's text is used;
* on Chinese/Japanese pages readability is used: trafilatura's length thresholds count characters,
  so it drops short CJK paragraphs and on some portals (163.com) picks the comment block instead;
* otherwise trafilatura's text is used, unless the two disagree: when about half or more of either
  text is missing from the other (4-token shingle containment below ``DISAGREEMENT``), trafilatura
  has locked on the wrong block, added teasers, or cut the article short, and readability was
  right in every such case measured.

Pure: no I/O, and the result does not depend on the clock; no library gets a chance to fetch
anything (they are given strings or parsed trees, never URLs).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import htmldate
import lxml.html
import trafilatura
from bs4 import BeautifulSoup
from lxml import etree
from lxml.html import defs
from readability import Document
from readability.readability import Unparseable
from soupsieve import SelectorSyntaxError

from pressbot.encoding import decode_document
from pressbot.errors import ExtractError
from pressbot.models import Extracted
from pressbot.quality import shingles

# A body shorter than this many word characters is not an article (a cookie notice, a caption).
MIN_BODY_CHARS = 25
# Below this agreement the extractors disagree and readability is kept. On the fixture sets the five
# pages below 0.50 all needed readability and every page from 0.59 up to 0.74 needed trafilatura.
DISAGREEMENT = 0.55
# Share of CJK characters among word characters above which a text is treated as Chinese/Japanese.
CJK_SHARE = 0.3

_CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD_CHAR_RE = re.compile(r"\w")
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_SPACES_RE = re.compile(r"[ \t\r\f\v\u00a0\u3000]+")
_LANG_RE = re.compile(r"^([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{2,8})*$")
_DATE_RE = re.compile(
    r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"
    r"(?:[T\s]+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?"
)
# GB2312 and GBK pages routinely contain characters outside their declared set; GB18030 is the superset.
# lxml's block tags (p, div, li, h1-h6, table cells...) plus line breaks and HTML5 sections.
_BLOCK_TAGS = defs.block_tags | {"br", "article", "section", "header", "footer", "figure", "figcaption"}
_DATE_META_KEYS = (
    "article:published_time",
    "og:article:published_time",
    "datepublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "publication_date",
    "dc.date.issued",
    "dcterms.created",
    "sailthru.date",
    "parsely-pub-date",
    "date",
)
_HTMLDATE_MAX = datetime(2100, 1, 1)
# Pages often give local time without an offset; read it in the outlet's zone when its language says it.
_NAIVE_ZONES: dict[str, tzinfo] = {"zh": timezone(timedelta(hours=8)), "it": ZoneInfo("Europe/Rome")}


@dataclass(frozen=True)
class _Page:
    """What the metadata lookups need from a parsed page."""

    tree: lxml.html.HtmlElement
    meta: dict[str, str]  # lower-cased name/property/itemprop/http-equiv → first content
    url: str


def extract_article(
    html: bytes | str, *, url: str = "", language_hint: str | None = None, charset: str | None = None
) -> Extracted:
    """Extract the article in ``html``.

    Bytes are decoded (``charset`` is the HTTP header's, if any). ``language_hint`` (the source's
    language) picks the time zone for dates given without one. Raises :class:`ExtractError` when
    neither extractor finds an article body.
    """
    text = decode_html(html, charset=charset) if isinstance(html, bytes) else _strip_xml_declaration(html)
    page = _parse(text, url=url)
    title = _title(page)
    extractor, body = choose_body(_trafilatura_text(text), _readability_text(text))
    body = _drop_heading(body, title)
    _require_body(
        body,
        url=url,
        what="neither trafilatura nor readability found an article body",
        advice="If the page needs JavaScript or has an unusual layout, configure a CSS body selector "
        "for this source, or turn off full_text for it.",
    )
    return _extracted(page, body=body, title=title, extractor=extractor, language_hint=language_hint)


def extract_with_selector(
    html: bytes | str, *, selector: str, url: str = "", charset: str | None = None
) -> Extracted:
    """Take the body from the elements matching the CSS ``selector`` (for sources that configure one)."""
    text = decode_html(html, charset=charset) if isinstance(html, bytes) else _strip_xml_declaration(html)
    soup = BeautifulSoup(text, "lxml")
    try:
        nodes = soup.select(selector)
    except SelectorSyntaxError as error:
        reason = str(error).splitlines()[0]
        raise ExtractError(
            f"The CSS body selector {selector!r} used for {url or 'this page'} is not valid ({reason}); "
            "fix it in sources.yaml."
        ) from error
    body = "\n".join(html_to_text(str(node)) for node in nodes).strip()
    _require_body(
        body,
        url=url,
        what=f"the CSS body selector {selector!r} matched no text",
        advice="The site's layout may have changed: check the selector against the page and update "
        "it in sources.yaml.",
    )
    page = _parse(text, url=url)
    return _extracted(page, body=body, title=_title(page), extractor="selector", language_hint=None)


def choose_body(precise: str, readable: str) -> tuple[str, str]:
    """Pick ``(extractor, text)`` from trafilatura's and readability's texts (rule in the module docstring)."""
    if not readable:
        return "trafilatura", precise
    if not precise or cjk_share(readable) > CJK_SHARE:
        return "readability", readable
    if agreement(precise, readable) < DISAGREEMENT:
        return "readability", readable
    return "trafilatura", precise


def agreement(first: str, second: str) -> float:
    """The smaller of the two shingle containments: how much of each text the other one confirms.

    Shingles are 4 tokens, with every CJK character a token of its own.
    """
    mine = shingles(first, tokenization="cjk-char")
    theirs = shingles(second, tokenization="cjk-char")
    shared = sum((mine & theirs).values())
    sizes = (sum(mine.values()), sum(theirs.values()))
    return min(shared / size for size in sizes) if all(sizes) else 0.0


def cjk_share(text: str) -> float:
    """Share of Chinese/Japanese characters among the word characters of ``text``."""
    words = len(_WORD_CHAR_RE.findall(text))
    return len(_CJK_RE.findall(text)) / words if words else 0.0


def decode_html(content: bytes, *, charset: str | None = None) -> str:
    """Decode page bytes (see :mod:`pressbot.encoding`: BOM, valid UTF-8, declared charset, detection)."""
    text, _codec = decode_document(content, http_charset=charset)
    return _strip_xml_declaration(text)


def _strip_xml_declaration(text: str) -> str:
    # lxml refuses str input that carries an encoding declaration.
    return _XML_DECL_RE.sub("", text, count=1)


def _trafilatura_text(text: str) -> str:
    return (
        trafilatura.extract(text, favor_precision=True, include_comments=False, include_tables=True) or ""
    ).strip()


def _readability_text(text: str) -> str:
    try:
        summary = Document(text).summary(html_partial=True)
    except (Unparseable, etree.ParserError, ValueError):
        return ""
    return html_to_text(summary)


def html_to_text(fragment: str) -> str:
    """Visible text of an HTML fragment, one line per block element."""
    if not fragment.strip():
        return ""
    try:
        root = lxml.html.fromstring(fragment)
    except (etree.ParserError, ValueError):
        return ""
    return _clean_lines("".join(_text_pieces(root)))


def _text_pieces(element: lxml.html.HtmlElement) -> Iterator[str]:
    tag = element.tag if isinstance(element.tag, str) else ""
    block = tag in _BLOCK_TAGS
    if block:
        yield "\n"
    if element.text and tag and tag not in ("script", "style"):  # tag "" = comment or PI
        yield element.text
    for child in element:
        yield from _text_pieces(child)
    if block:
        yield "\n"
    if element.tail:
        yield element.tail


def _clean_lines(text: str) -> str:
    lines = (_SPACES_RE.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _drop_heading(body: str, title: str) -> str:
    """Drop a first line that repeats the headline: the title is a field of its own."""
    first, _, rest = body.partition("\n")
    key, heading = _letters(first), _letters(title)
    if rest and key and heading.startswith(key) and len(key) >= 0.6 * len(heading):
        return rest
    return body


def _letters(text: str) -> str:
    return "".join(_WORD_CHAR_RE.findall(text)).casefold()


def _require_body(body: str, *, url: str, what: str, advice: str) -> None:
    if len(_WORD_CHAR_RE.findall(body)) < MIN_BODY_CHARS:
        raise ExtractError(f"No article text in {url or 'the page'}: {what}. {advice}")


def _parse(text: str, *, url: str) -> _Page:
    try:
        tree = lxml.html.document_fromstring(text or "<html></html>", base_url=url or None)
    except (etree.ParserError, ValueError):
        tree = lxml.html.document_fromstring("<html></html>")
    meta: dict[str, str] = {}
    for node in tree.iter("meta"):
        key = node.get("property") or node.get("name") or node.get("itemprop") or node.get("http-equiv")
        content = node.get("content")
        if key and content and content.strip():
            meta.setdefault(key.strip().lower(), content.strip())
    return _Page(tree=tree, meta=meta, url=url)


def _extracted(page: _Page, *, body: str, title: str, extractor: str, language_hint: str | None) -> Extracted:
    hints = language_hints(page.tree, page.meta)
    return Extracted(
        body=body,
        title=title,
        published=published(page, zone=_naive_zone(language_hint, hints, body)),
        language_hints=hints,
        extractor=extractor,
    )


def _naive_zone(language_hint: str | None, hints: tuple[str, ...], body: str) -> tzinfo:
    # A Chinese body beats <html lang>: Chinese CMS templates often say lang="en".
    if language_hint:
        language = language_hint
    elif cjk_share(body) > CJK_SHARE:
        language = "zh"
    else:
        language = hints[0] if hints else ""
    return _NAIVE_ZONES.get(language.lower()[:2], UTC)


def _title(page: _Page) -> str:
    for candidate in (
        page.meta.get("og:title"),
        _first_text(page.tree, "//h1"),
        _first_text(page.tree, "//title"),
    ):
        if candidate:
            return _SPACES_RE.sub(" ", candidate).strip()
    return ""


def _first_text(tree: lxml.html.HtmlElement, xpath: str) -> str:
    for node in tree.xpath(xpath):
        text = node.text_content().strip()
        if text:
            return text
    return ""


def language_hints(tree: lxml.html.HtmlElement, meta: dict[str, str]) -> tuple[str, ...]:
    """ISO 639 codes declared by ``<html lang>``, ``og:locale`` and ``content-language``, in that order."""
    declared = [
        tree.get("lang"),
        tree.get("{http://www.w3.org/XML/1998/namespace}lang"),
        tree.get("xml:lang"),
    ]
    declared += [meta.get("og:locale"), meta.get("content-language"), meta.get("language")]
    hints: list[str] = []
    for value in declared:
        for part in (value or "").split(","):
            match = _LANG_RE.match(part.strip())
            if match and match.group(1).lower() not in hints:
                hints.append(match.group(1).lower())
    return tuple(hints)


def published(page: _Page, *, zone: tzinfo = UTC) -> datetime | None:
    """Publication time from JSON-LD, ``<meta>``, ``<time>``, then htmldate; naive values are read in ``zone``."""
    for value in _date_values(page):
        moment = parse_datetime(value, zone=zone)
        if moment is not None:
            return moment
    # htmldate gets the parsed tree: given a string that starts with "http" it would download it. A fixed
    # max_date keeps the result independent of the clock (its default is "end of today").
    found = htmldate.find_date(
        page.tree,
        extensive_search=False,
        original_date=True,
        outputformat="%Y-%m-%d %H:%M:%S",
        url=page.url or None,
        max_date=_HTMLDATE_MAX,
    )
    return parse_datetime(found, zone=zone) if found else None


def _date_values(page: _Page) -> Iterator[str]:
    yield from _json_ld_dates(page.tree)
    for key in _DATE_META_KEYS:
        if key in page.meta:
            yield page.meta[key]
    for node in page.tree.xpath("//time[@datetime]"):
        yield node.get("datetime", "")


def _json_ld_dates(tree: lxml.html.HtmlElement) -> Iterator[str]:
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text_content() or "null")
        except json.JSONDecodeError:
            continue
        yield from _find_key(data, "datePublished")


def _find_key(data: object, key: str) -> Iterator[str]:
    if isinstance(data, dict):
        value = data.get(key)
        if isinstance(value, str):
            yield value
        for child in data.values():
            yield from _find_key(child, key)
    elif isinstance(data, list):
        for child in data:
            yield from _find_key(child, key)


def parse_datetime(value: str, *, zone: tzinfo = UTC) -> datetime | None:
    """Parse an ISO-8601-like or Chinese (``2019年9月5日 11:10``) date; naive results get ``zone``."""
    value = value.strip()
    moment: datetime | None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = _regex_datetime(value)
    if moment is None or not 1990 <= moment.year <= 2100:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def _regex_datetime(value: str) -> datetime | None:
    match = _DATE_RE.search(value)
    if match is None:
        return None
    year, month, day, hour, minute, second, offset = match.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError:
        return None
    if offset:
        if offset == "Z":
            return moment.replace(tzinfo=UTC)
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        return moment.replace(tzinfo=timezone(sign * delta))
    return moment
