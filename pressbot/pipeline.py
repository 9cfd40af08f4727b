"""The only place the stages are chained. Reads top to bottom as the flow:

    source → fetch → parse → (fetch article pages → extract) → normalize → store
           → translate titles and leads → dedup/cluster

One collection cycle runs every source concurrently (the fetcher enforces the global and
per-host limits). A failing source never stops the cycle: its error is recorded on its state
(``pressbot sources`` shows it) and nothing already archived is touched. Blocking work —
parsing, extraction and SQLite — runs in worker threads; the archive gets one dedicated
thread so its connection is never shared, and translation (model and cache) runs there too,
after the sources are collected. A translation that fails or lacks a model leaves its
articles in the backlog, which :func:`translate_backlog` works through later.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from pressbot.cluster import ClusterReport, StoryClusterer, cluster_all
from pressbot.config import Config, Settings
from pressbot.dedup import DedupSettings
from pressbot.errors import ExtractError, FetchError, ParseError, PressbotError
from pressbot.extract import extract_article
from pressbot.fetch import Fetcher
from pressbot.leads import lead_text
from pressbot.models import LANGUAGES, Article, Entry, Extracted, FetchedDocument, Source, SourceReport
from pressbot.normalize import canonical_url, normalize_entries
from pressbot.parse import parse_feed, parse_json, parse_listing
from pressbot.store import Archive
from pressbot.translate.cached import cache_labels, translate_cached
from pressbot.translate.engine import Translator

log = logging.getLogger(__name__)
T = TypeVar("T")
Clock = Callable[[], datetime]
Progress = Callable[[SourceReport], None]


@dataclass(frozen=True)
class CycleOptions:
    max_entries: int = 300  # per source per cycle: a runaway feed cannot flood the archive
    max_full_text: int = 40  # article pages fetched per source per cycle; the rest wait for the next cycle


def parse_entries(source: Source, document: FetchedDocument) -> list[Entry]:
    """A fetched body → entries, by the source's kind."""
    if source.kind == "feed":
        return parse_feed(document, tz=source.timezone)
    if source.kind == "page":
        assert source.selectors is not None  # guaranteed by config validation
        return parse_listing(document, source.selectors, tz=source.timezone)
    assert source.fields is not None
    return parse_json(document, source.fields, tz=source.timezone)


class Collector:
    """Runs collection cycles against one archive with one fetcher."""

    def __init__(
        self,
        *,
        archive: Archive,
        fetcher: Fetcher,
        clock: Clock = lambda: datetime.now(UTC),
        options: CycleOptions | None = None,
    ):
        self.archive = archive
        self.fetcher = fetcher
        self.clock = clock
        self.options = options or CycleOptions()
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pressbot-archive")
        self._to_translate: list[int] = []  # new and updated articles since the last translate()

    def close(self) -> None:
        self._db.shutdown(wait=True)

    async def cluster(self, clusterer: StoryClusterer) -> list[ClusterReport]:
        """Link every article not yet in a story (this cycle's, and any left by an interrupted one)."""
        return list(await self._in_db(cluster_all, clusterer, now=self.clock()))

    async def translate(
        self, translator: Translator, *, targets: Sequence[str] = LANGUAGES
    ) -> TranslationReport:
        """Translate the titles and leads of the articles stored or changed since the last call.

        Runs on the archive's thread (the cache is the archive). Never raises: a failure is
        logged and reported, and the articles it left untranslated are the backlog
        (``pressbot translate --backlog``).
        """
        ids = self.take_new()
        try:
            return await self._in_db(
                translate_new, translator, self.archive, ids, targets=targets, now=self.clock()
            )
        except Exception as error:  # the pipeline edge: translation must not end a cycle
            log.exception("translating %d new articles failed", len(ids))
            message = f"internal error ({error.__class__.__name__}: {error}) — please report it."
            return TranslationReport(articles=len(ids), errors=[message])

    def take_new(self) -> list[int]:
        """The articles stored or changed since the last call (or the last :meth:`translate`): the
        caller translates them its own way (``pressbot run`` does, in small batches)."""
        ids, self._to_translate = self._to_translate, []
        return ids

    async def _in_db(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._db, lambda: function(*args, **kwargs))

    async def run_cycle(
        self, sources: Sequence[Source], *, progress: Progress | None = None
    ) -> list[SourceReport]:
        """Collect every given source once; one report per source, in the given order."""

        async def one(source: Source) -> SourceReport:
            report = await self.collect_source(source)
            if progress:
                progress(report)
            return report

        return list(await asyncio.gather(*(one(source) for source in sources)))

    async def collect_source(self, source: Source) -> SourceReport:
        started = time.monotonic()
        try:
            report = await self._collect(source)
        except PressbotError as error:
            report = await self._failed(source, str(error))
        except Exception as error:  # the pipeline edge: a bug in one source must not end the cycle
            log.exception("unexpected error while collecting %s", source.id)
            report = await self._failed(
                source, f"internal error ({error.__class__.__name__}: {error}) — please report it."
            )
        return SourceReport(**{**report.__dict__, "seconds": round(time.monotonic() - started, 3)})

    async def _failed(self, source: Source, message: str) -> SourceReport:
        await self._in_db(self.archive.record_failure, source.id, now=self.clock(), error=message)
        return SourceReport(source_id=source.id, failed=True, errors=(message,))

    async def _collect(self, source: Source) -> SourceReport:
        state = await self._in_db(self.archive.source_state, source.id)
        document = await self.fetcher.fetch(source.url, etag=state.etag, last_modified=state.last_modified)
        now = self.clock()
        if document.not_modified:
            await self._in_db(
                self.archive.record_success,
                source.id,
                now=now,
                etag=state.etag,
                last_modified=state.last_modified,
            )
            return SourceReport(source_id=source.id, not_modified=True)
        entries = (await asyncio.to_thread(parse_entries, source, document))[: self.options.max_entries]
        extracted, errors = await self._full_text(source, entries) if source.full_text else ({}, [])
        articles = normalize_entries(entries, source, now=now, extracted=extracted)
        outcomes = await self._in_db(self.archive.upsert, articles, now=now)
        self._to_translate += [article_id for outcome, article_id in outcomes if outcome != "unchanged"]
        # Validators are saved only after the items are stored: a failed cycle is retried in full.
        await self._in_db(
            self.archive.record_success,
            source.id,
            now=now,
            etag=document.etag,
            last_modified=document.last_modified,
        )
        counts = Counter(outcome for outcome, _ in outcomes)
        return SourceReport(
            source_id=source.id,
            new=counts["new"],
            updated=counts["updated"],
            unchanged=counts["unchanged"],
            errors=tuple(errors),
        )

    async def _full_text(
        self, source: Source, entries: Sequence[Entry]
    ) -> tuple[dict[str, Extracted], list[str]]:
        """Fetch and extract the pages of entries not yet archived with a body."""
        linked = [entry for entry in entries if entry.url]
        known = await self._in_db(self.archive.known_with_body, [canonical_url(e.url) for e in linked])
        todo = [e for e in linked if canonical_url(e.url) not in known][: self.options.max_full_text]
        results = await asyncio.gather(*(self._page(entry, source) for entry in todo))
        extracted = {
            entry.url: result
            for entry, result in zip(todo, results, strict=True)
            if isinstance(result, Extracted)
        }
        errors = [result for result in results if isinstance(result, str)]
        return extracted, errors

    async def _page(self, entry: Entry, source: Source) -> Extracted | str:
        try:
            page = await self.fetcher.fetch(entry.url, untrusted=True, check_robots=True)
            return await asyncio.to_thread(
                extract_article,
                page.content,
                url=page.url,
                language_hint=source.language,
                charset=page.charset,
            )
        except (FetchError, ExtractError) as error:
            return f"article page: {error}"


# ----------------------------------------------------------------------------- titles and leads

TRANSLATION_BATCH = 256  # articles per engine call: big enough to batch, small enough to lose little


@dataclass
class TranslationReport:
    """What translating titles and leads did (one cycle's new articles, or a backlog run)."""

    articles: int = 0  # articles looked at
    translated_articles: int = 0  # articles with at least one text translated now
    texts: int = 0  # distinct texts translated by a model
    cached: int = 0  # distinct texts found in the cache
    unavailable: Counter[tuple[str, str]] = field(default_factory=Counter)  # direction → articles waiting
    errors: list[str] = field(default_factory=list)  # readable; those articles wait in the backlog

    def add(self, other: TranslationReport) -> None:
        self.articles += other.articles
        self.translated_articles += other.translated_articles
        self.texts += other.texts
        self.cached += other.cached
        self.unavailable.update(other.unavailable)
        self.errors += other.errors


def translate_articles(
    translator: Translator,
    archive: Archive,
    articles: Sequence[Article],
    *,
    targets: Sequence[str] = LANGUAGES,
    now: datetime,
) -> TranslationReport:
    """Translate the title and lead of each article into every other target language that the
    installed models reach; texts already cached are not translated again.

    One engine call per (source, target) for all the articles in that language. A direction
    without a model is counted in ``unavailable``; a failing one is recorded in ``errors``, and
    the other directions go on. Blocking (model and SQLite): call it from a worker thread.
    """
    report = TranslationReport(articles=len(articles))
    by_language: dict[str, list[Article]] = {}
    for article in articles:
        if article.language in LANGUAGES:
            by_language.setdefault(article.language, []).append(article)
    touched: set[int] = set()
    for source, group in by_language.items():
        texts = [text for article in group for text in (article.title, lead_text(article))]
        for target in targets:
            if target == source:
                continue
            if not translator.can_translate(source, target):
                report.unavailable[(source, target)] += len(group)
                continue
            try:
                result = translate_cached(translator, archive, texts, source=source, target=target, now=now)
            except PressbotError as error:
                log.warning(
                    "translating %d %s articles into %s failed: %s", len(group), source, target, error
                )
                report.errors.append(f"{source}→{target} ({len(group)} articles): {error}")
                continue
            report.texts += result.translated
            report.cached += result.cached
            touched.update(
                a.id or 0 for a in group if a.title in result.fresh or lead_text(a) in result.fresh
            )
    report.translated_articles = len(touched)
    if report.texts or report.cached:
        archive.index_translations(articles)  # searches see the translations too
    return report


def translate_new(
    translator: Translator,
    archive: Archive,
    article_ids: Sequence[int],
    *,
    targets: Sequence[str] = LANGUAGES,
    now: datetime,
) -> TranslationReport:
    """Translate the titles and leads of these archived articles (a cycle's new and updated ones)."""
    report = TranslationReport()
    for start in range(0, len(article_ids), TRANSLATION_BATCH):
        chunk = article_ids[start : start + TRANSLATION_BATCH]
        batch = archive.articles_for_translation(ids=chunk, limit=len(chunk))
        report.add(translate_articles(translator, archive, batch, targets=targets, now=now))
    return report


BacklogProgress = Callable[[int, TranslationReport], None]  # (articles checked so far, running report)


def translate_backlog(
    translator: Translator,
    archive: Archive,
    *,
    sources: Sequence[str] = LANGUAGES,
    targets: Sequence[str] = LANGUAGES,
    limit: int | None = None,
    now: datetime,
    progress: BacklogProgress | None = None,
    batch: int = TRANSLATION_BATCH,
) -> TranslationReport:
    """Translate the titles and leads still missing from the cache for the directions the
    installed models reach: the articles collected while a model was missing, or whose
    translation failed. Newest first, ``batch`` articles at a time; ``limit`` caps how many
    articles get a translation (articles already complete do not count). Blocking.
    """
    report = TranslationReport()
    before: int | None = None
    while limit is None or report.translated_articles < limit:
        page = archive.articles_for_translation(before_id=before, languages=sources, limit=batch)
        if not page:
            break
        before = page[-1].id
        if limit is not None:
            page = _within_limit(translator, archive, page, targets, limit - report.translated_articles)
        report.add(translate_articles(translator, archive, page, targets=targets, now=now))
        if progress:
            progress(report.articles, report)
    return report


def _within_limit(
    translator: Translator, archive: Archive, page: list[Article], targets: Sequence[str], room: int
) -> list[Article]:
    """``page`` without the articles missing a translation beyond the first ``room`` of them,
    so the result no longer depends on the order the sources' articles were stored in."""
    missing: set[int] = set()
    for source in {a.language for a in page} & set(LANGUAGES):
        group = [a for a in page if a.language == source]
        for target in targets:
            if target != source and translator.can_translate(source, target):
                missing |= _missing(translator, archive, group, source=source, target=target)
    kept: list[Article] = []
    for article in page:
        if (article.id or 0) in missing:
            if room == 0:
                continue  # over the limit; articles with nothing to translate still count below
            room -= 1
        kept.append(article)
    return kept


def _missing(
    translator: Translator, archive: Archive, group: list[Article], *, source: str, target: str
) -> set[int]:
    """Ids of the articles whose title or lead has no cached translation for the current model."""
    texts = list(dict.fromkeys(t for a in group for t in (a.title, lead_text(a)) if t.strip()))
    labels = dict(zip(texts, cache_labels(translator, texts, source=source, target=target), strict=True))
    cached: set[str] = set()
    for label in set(labels.values()):
        wanted = [t for t in texts if labels[t] == label]
        cached |= set(archive.cached_translations(wanted, source=source, target=target, model=label))
    return {a.id or 0 for a in group if {t for t in (a.title, lead_text(a)) if t.strip()} - cached}


def cycle_summary(reports: Sequence[SourceReport]) -> str:
    """One line on a collection cycle (/fetch's answer): sources, new, updated, failed (named)."""
    new, updated = sum(r.new for r in reports), sum(r.updated for r in reports)
    failed = [r.source_id for r in reports if r.failed]
    summary = f"Collected {len(reports)} sources: {new} new, {updated} updated, {len(failed)} failed"
    return summary + (f" ({', '.join(failed[:10])})." if failed else ".")


def dedup_settings(settings: Settings, config: Config) -> DedupSettings:
    """The dedup stage's thresholds from the settings, and sources.yaml's topics as shared facts."""
    return DedupSettings(
        near_copy=settings.near_copy,
        same_story=settings.same_story,
        semantic_weight=settings.semantic_weight,
        cross_language=settings.cross_language,
        window=settings.story_window,
        topics=tuple((t.id, tuple(w for words in t.keywords.values() for w in words)) for t in config.topics),
    )


async def check_source(source: Source, fetcher: Fetcher) -> tuple[int, str | None]:
    """Try a source once, unconditionally, storing nothing: (items found, error or None)."""
    try:
        document = await fetcher.fetch(source.url)
        entries = await asyncio.to_thread(parse_entries, source, document)
    except (FetchError, ParseError) as error:
        return 0, str(error)
    return len(entries), None
