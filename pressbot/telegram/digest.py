"""Select and rank the stories of a period for one audience (pure: no I/O, ``now`` passed in).

Input → output: stories and loose articles (not yet in a story) from the archive, cached headline
translations, outlet names → a :class:`Digest` of :class:`DigestEntry` items, best first. Each
entry carries the headline in the audience's language when there is one: an article of the story
written in it, else a cached machine translation (marked as such), else the original.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pressbot.models import Article, Story

# Ranking: coverage (distinct outlets, plus half a point per extra language) decays by half every
# RECENCY_HALF_LIFE since the story was last seen — a story picked up by five outlets yesterday
# still beats a single item from an hour ago.
RECENCY_HALF_LIFE = timedelta(hours=24)
LANGUAGE_BONUS = 0.5

# (text, its language) → (translation into the digest's language, model)
Translations = Mapping[tuple[str, str], tuple[str, str]]


@dataclass(frozen=True)
class Outlet:
    source_id: str
    name: str
    url: str  # the article's link ("" when it has none to give: urn:pressbot: items)
    language: str


@dataclass(frozen=True)
class DigestEntry:
    story_id: int | None  # None: an article not (yet) joined to a story
    headline: str  # in the digest's language when possible
    machine_translated: bool
    model: str | None  # the translation model, when machine-translated
    original: str  # the headline as the outlet wrote it
    original_language: str
    outlets: tuple[Outlet, ...]  # one per outlet, the digest's language first
    languages: dict[str, int]  # language → articles
    articles: int
    first_seen: datetime
    last_seen: datetime
    score: float
    native: bool = False  # an outlet wrote the headline in the digest's language


@dataclass(frozen=True)
class Digest:
    language: str
    timezone: str
    since: datetime
    until: datetime
    entries: tuple[DigestEntry, ...]
    candidates: int  # entries before the max_stories cut
    title: str = ""  # the topic(s) or channel it is about, for the header
    channel_id: str | None = None


def lead_article(articles: Sequence[Article], language: str) -> tuple[Article, bool]:
    """The article whose headline heads an entry, and whether it is in ``language``.

    In the audience's language when the story has one; otherwise the first article of the
    story's best-covered language (the one most likely to have a good translation cached).
    """
    native = next((a for a in articles if a.language == language), None)
    if native is not None:
        return native, True
    counts = Counter(a.language for a in articles)
    best = max(
        counts, key=lambda lang: (counts[lang], -min(i for i, a in enumerate(articles) if a.language == lang))
    )
    return next(a for a in articles if a.language == best), False


def wanted_translations(groups: Sequence[Sequence[Article]], language: str) -> dict[str, list[str]]:
    """Source language → headlines to look up in the translation cache for these entries."""
    wanted: dict[str, list[str]] = {}
    for articles in groups:
        lead, native = lead_article(articles, language)
        if not native and lead.title.strip():
            wanted.setdefault(lead.language, []).append(lead.title)
    return wanted


def build_digest(
    stories: Sequence[Story],
    loose: Sequence[Article],
    *,
    language: str,
    timezone: str,
    since: datetime,
    until: datetime,
    now: datetime,
    translations: Translations,
    outlet_names: Mapping[str, str],
    max_stories: int,
    title: str = "",
    channel_id: str | None = None,
) -> Digest:
    """Rank the period's stories (and loose articles as single items) and keep the best ``max_stories``."""
    groups: list[tuple[int | None, Sequence[Article], datetime, datetime]] = [
        (story.id, story.articles, story.first_seen, story.last_seen) for story in stories if story.articles
    ]
    for article in loose:
        moment = article.published_at or article.fetched_at or now
        groups.append((None, (article,), moment, moment))
    entries = [
        _entry(
            story_id,
            articles,
            first,
            last,
            language=language,
            now=now,
            translations=translations,
            names=outlet_names,
        )
        for story_id, articles, first, last in groups
    ]
    entries.sort(key=lambda e: (-e.score, -e.last_seen.timestamp(), -(e.story_id or 0)))
    return Digest(
        language=language,
        timezone=timezone,
        since=since,
        until=until,
        entries=tuple(entries[:max_stories]),
        candidates=len(entries),
        title=title,
        channel_id=channel_id,
    )


def score(*, outlets: int, languages: int, last_seen: datetime, now: datetime) -> float:
    coverage = outlets + LANGUAGE_BONUS * max(languages - 1, 0)
    age = max((now - last_seen) / RECENCY_HALF_LIFE, 0.0)
    return coverage * 0.5**age


def _entry(
    story_id: int | None,
    articles: Sequence[Article],
    first_seen: datetime,
    last_seen: datetime,
    *,
    language: str,
    now: datetime,
    translations: Translations,
    names: Mapping[str, str],
) -> DigestEntry:
    lead, native = lead_article(articles, language)
    headline, model = lead.title, None
    if not native and (lead.title, lead.language) in translations:
        headline, model = translations[(lead.title, lead.language)]
    outlets: dict[str, Outlet] = {}
    ordered = sorted(articles, key=lambda a: a.language != language)  # stable: time order kept
    for article in ordered:
        if article.source_id not in outlets:
            link = article.url if article.url.startswith(("http://", "https://")) else ""
            outlets[article.source_id] = Outlet(
                article.source_id, names.get(article.source_id, article.source_id), link, article.language
            )
    languages = dict(Counter(a.language for a in articles))
    return DigestEntry(
        story_id=story_id,
        headline=headline,
        machine_translated=model is not None,
        model=model,
        original=lead.title,
        original_language=lead.language,
        outlets=tuple(outlets.values()),
        languages=languages,
        articles=len(articles),
        first_seen=first_seen,
        last_seen=last_seen,
        score=score(outlets=len(outlets), languages=len(languages), last_seen=last_seen, now=now),
        native=native,
    )
