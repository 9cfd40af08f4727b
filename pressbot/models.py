"""The vocabulary every stage speaks: plain dataclasses, no I/O.

An *article* is one outlet's piece; a *source* is one outlet endpoint from ``sources.yaml``;
a *topic* is a named watch list. Stages take and return these, never library objects.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Language = Literal["zh", "it", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "it", "en")
SourceKind = Literal["feed", "page", "json"]
SOURCE_KINDS: tuple[SourceKind, ...] = ("feed", "page", "json")


@dataclass(frozen=True)
class PageSelectors:
    """CSS selectors for an HTML listing page (``kind: page``).

    ``item`` selects one element per article; ``link``/``title``/``date``/``summary`` are
    looked up inside it. When ``link`` is empty the item element itself must be an ``<a>``.
    """

    item: str
    link: str = ""
    title: str = ""
    date: str = ""
    summary: str = ""


@dataclass(frozen=True)
class JsonFields:
    """Dotted field paths for a JSON endpoint (``kind: json``); JSONP wrappers are accepted.

    ``items`` points at the list of entries (``data.list`` for CCTV), the others are looked up
    inside each entry.
    """

    items: str
    url: str
    title: str
    date: str = ""
    summary: str = ""
    id: str = ""


@dataclass(frozen=True)
class Source:
    id: str
    name: str
    kind: SourceKind
    url: str
    language: Language | None  # None = detect per article
    interval_s: int
    full_text: bool = False
    enabled: bool = True
    selectors: PageSelectors | None = None
    fields: JsonFields | None = None
    timezone: str | None = None  # IANA zone for dates the source gives without an offset


@dataclass(frozen=True)
class Topic:
    id: str
    name: str
    keywords: dict[str, tuple[str, ...]]  # language → keywords


@dataclass(frozen=True)
class SourceState:
    """What the archive remembers about a source between cycles."""

    source_id: str
    etag: str | None = None
    last_modified: str | None = None
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    failures: int = 0  # consecutive
    last_error: str | None = None
    last_error_at: datetime | None = None
    articles: int = 0


@dataclass(frozen=True)
class FetchedDocument:
    """A response body that passed the fetch stage's checks."""

    url: str  # final URL after redirects
    status: int
    content: bytes
    content_type: str = ""
    charset: str | None = None  # from the Content-Type header, if any
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False


@dataclass(frozen=True)
class Entry:
    """One item as a source listed it (feed entry, listing-page link, JSON record), not yet normalized."""

    url: str  # "" when the item has no link (normalize then derives an identity)
    title: str = ""
    summary: str = ""  # may hold HTML; normalize cleans it
    content: str = ""  # full content (content:encoded, Atom content) when the feed carries it
    guid: str = ""
    published: datetime | None = None  # timezone-aware when known
    authors: tuple[str, ...] = ()
    language_hint: str | None = None


@dataclass(frozen=True)
class Extracted:
    """What the extract stage finds in an article page."""

    body: str
    title: str = ""
    published: datetime | None = None
    language_hints: tuple[str, ...] = ()  # e.g. from <html lang>, og:locale, content-language
    extractor: str = ""  # which extractor produced the body


@dataclass
class Article:
    """One outlet's piece, normalized, as stored in the archive."""

    source_id: str
    url: str  # canonical; urn:pressbot:… for items that have no link
    title: str
    language: str
    summary: str = ""
    body: str = ""
    guid: str = ""
    original_url: str = ""
    published_at: datetime | None = None  # UTC
    fetched_at: datetime | None = None  # UTC
    authors: tuple[str, ...] = ()
    content_hash: str = ""
    id: int | None = None
    updated_at: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceReport:
    """The outcome of one source in one collection cycle."""

    source_id: str
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    not_modified: bool = False
    errors: tuple[str, ...] = ()  # readable messages; the first is the source's error, others per article
    failed: bool = False  # the source itself failed (its feed/page could not be read)
    seconds: float = 0.0


@dataclass(frozen=True)
class StoryLink:
    """Why an article belongs to a story (and its fingerprints, kept for later arrivals)."""

    article_id: int
    story_id: int
    score: float
    reason: str
    moment: datetime
    minhash: bytes
    vector: bytes
    model: str
    clues: tuple[str, ...] = ()
    near_copy_of: int | None = None
    matched_article: int | None = None


@dataclass(frozen=True)
class Story:
    """The cluster of articles about one event, across outlets and languages."""

    id: int
    first_seen: datetime
    last_seen: datetime
    articles: tuple[Article, ...]
    reasons: dict[int, str] = field(default_factory=dict)  # article id → why it joined

    @property
    def languages(self) -> dict[str, int]:
        return dict(Counter(article.language for article in self.articles))

    @property
    def outlets(self) -> dict[str, int]:
        return dict(Counter(article.source_id for article in self.articles))

    def representative(self, language: str) -> Article | None:
        """The first article in that language (the story's headline there)."""
        return next((a for a in self.articles if a.language == language), None)
