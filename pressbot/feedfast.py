"""A fast path for plain, well-formed RSS 2.0 and Atom 1.0 feeds (lxml), with feedparser as the reference.

feedparser spends about a millisecond per item in Python callbacks; most news feeds are plain,
well-formed RSS 2.0 or Atom 1.0, which lxml reads in C. :func:`fast_entries` handles exactly
those and returns ``None`` for anything else (ill-formed XML, RSS 0.9x/1.0, XHTML content, …),
so the caller falls back to feedparser. ``tests/test_feedfast.py`` parses every well-formed
fixture feed both ways and requires the same articles. Only :mod:`pressbot.parse` uses this.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from lxml import etree

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT_ENCODED = "{http://purl.org/rss/1.0/modules/content/}encoded"
DC = "{http://purl.org/dc/elements/1.1/}"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
WFW = "{http://wellformedweb.org/CommentAPI/}"
SLASH = "{http://purl.org/rss/1.0/modules/slash/}"
MEDIA = "{http://search.yahoo.com/mrss/}"
MEDIA_INNER = frozenset({f"{MEDIA}credit", f"{MEDIA}thumbnail"})  # nested media elements with no bearing
# Item children whose meaning for pressbot's fields is exactly reproduced here (or that feedparser
# does not map onto them). Anything else — itunes:*, media:*, <author>, <source> — and the feed is
# left to feedparser, whose precedence rules decide.
RSS_ITEM_TAGS = frozenset(
    {"title", "link", "description", "guid", "pubDate", "category", "comments", "enclosure", CONTENT_ENCODED,
     f"{DC}creator", f"{DC}date", f"{DC}subject", f"{WFW}commentRss", f"{SLASH}comments",
     f"{MEDIA}content", f"{MEDIA}credit", f"{MEDIA}thumbnail", f"{MEDIA}description", f"{ATOM}link"}
)  # fmt: skip
ATOM_ENTRY_TAGS = frozenset(
    f"{ATOM}{name}"
    for name in ("title", "link", "id", "published", "updated", "summary", "content", "author", "category")
)
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, recover=False, huge_tree=False, remove_comments=True
)


@dataclass(frozen=True)
class RawItem:
    link: str
    title: str
    summary: str
    content: str
    guid: str
    dates: tuple[str, ...]  # published-like first, then updated
    authors: tuple[str, ...]


@dataclass(frozen=True)
class RawFeed:
    items: list[RawItem]
    language: str | None


class _Decline(Exception):
    """The feed uses something the fast path does not reproduce exactly: let feedparser read it."""


def fast_entries(xml: bytes, *, url: str) -> RawFeed | None:
    """Items of a plain RSS 2.0 / Atom 1.0 document, or None when feedparser should read it."""
    try:
        root = etree.fromstring(xml, _PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return None
    try:
        if root.tag == "rss" and root.get("version", "").startswith("2."):
            return _rss(root, url=url)
        if root.tag == f"{ATOM}feed":
            return _atom(root, url=url)
    except _Decline:
        return None
    return None


def _only(element: etree._Element, allowed: frozenset[str]) -> None:
    for child in element:
        if not isinstance(child.tag, str) or child.tag not in allowed:
            raise _Decline
        if child.tag.startswith(MEDIA) and any(g.tag not in MEDIA_INNER for g in child):
            raise _Decline  # media:content may nest media:title / media:description, which feedparser maps
        if (
            child.tag == f"{ATOM}link"
            and element.tag == "item"
            and child.get("rel", "alternate") == "alternate"
        ):
            raise _Decline  # an alternate atom:link competes with <link> in feedparser


def _text(element: etree._Element | None) -> str:
    if element is None:
        return ""
    if len(element):  # markup inside a text element: feedparser's rules apply
        raise _Decline
    return (element.text or "").strip()


def _base(element: etree._Element, url: str) -> str:
    chain = [e.get(XML_BASE) for e in [*reversed(list(element.iterancestors())), element]]
    base = url
    for value in chain:
        if value:
            base = urljoin(base, value)
    return base


def _rss(root: etree._Element, *, url: str) -> RawFeed:
    channel = root.find("channel")
    if channel is None:
        raise _Decline
    items = []
    for item in channel.iter("item"):
        _only(item, RSS_ITEM_TAGS)
        link = _text(item.find("link"))
        guid_element = item.find("guid")
        guid = _text(guid_element)
        if guid.startswith("/"):
            guid = urljoin(_base(item, url), guid)  # a relative guid, resolved as feedparser does
        if (
            not link
            and guid
            and guid_element is not None
            and guid_element.get("isPermaLink", "true") == "true"
        ):
            link = guid if guid.startswith(("http://", "https://")) else ""
        items.append(
            RawItem(
                link=urljoin(_base(item, url), link) if link else "",
                title=_text(item.find("title")),
                # feedparser: the first description wins; media:description stands in for a missing one
                summary=_text(item.find("description")) or _text(item.find(f"{MEDIA}description")),
                content=_text(item.find(CONTENT_ENCODED)),
                guid=guid,
                dates=tuple(filter(None, (_text(item.find("pubDate")), _text(item.find(f"{DC}date"))))),
                authors=tuple(filter(None, (_text(item.find(f"{DC}creator")),))),
            )
        )
    return RawFeed(items=items, language=_text(channel.find("language")) or None)


def _atom_text(element: etree._Element | None) -> str:
    if element is None:
        return ""
    if element.get("type", "text") not in ("text", "html", "text/html", "text/plain"):
        raise _Decline  # xhtml or other media types
    return _text(element)


def _atom_link(entry: etree._Element, url: str) -> str:
    for link in entry.findall(f"{ATOM}link"):
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return urljoin(_base(link, url), link.get("href", ""))
    return ""


def _atom(root: etree._Element, *, url: str) -> RawFeed:
    items = []
    for entry in root.iter(f"{ATOM}entry"):
        _only(entry, ATOM_ENTRY_TAGS)
        content = _atom_text(entry.find(f"{ATOM}content"))
        guid = _text(entry.find(f"{ATOM}id"))
        if guid and not urlsplit(guid).scheme:
            guid = urljoin(_base(entry, url), guid)  # a relative id, resolved as feedparser does
        link = _atom_link(entry, url) or (guid if guid.startswith(("http://", "https://")) else "")
        items.append(
            RawItem(
                link=link,
                title=_atom_text(entry.find(f"{ATOM}title")),
                summary=_atom_text(entry.find(f"{ATOM}summary")) or content,  # feedparser's fallback
                content=content,
                guid=guid,
                dates=tuple(
                    filter(None, (_text(entry.find(f"{ATOM}published")), _text(entry.find(f"{ATOM}updated"))))
                ),
                authors=tuple(
                    filter(None, (_text(a.find(f"{ATOM}name")) for a in entry.findall(f"{ATOM}author")))
                ),
            )
        )
    return RawFeed(items=items, language=root.get(XML_LANG))
