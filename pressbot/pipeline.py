"""The only place the stages are chained. Reads top to bottom as the flow:

    source → fetch → parse → (fetch article pages → extract) → normalize → store → dedup/cluster

One collection cycle runs every source concurrently (the fetcher enforces the global and
per-host limits). A failing source never stops the cycle: its error is recorded on its state
(``pressbot sources`` shows it) and nothing already archived is touched. Blocking work —
parsing, extraction and SQLite — runs in worker threads; the archive gets one dedicated
thread so its connection is never shared.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from pressbot.cluster import ClusterReport, StoryClusterer, cluster_all
from pressbot.errors import ExtractError, FetchError, ParseError, PressbotError
from pressbot.extract import extract_article
from pressbot.fetch import Fetcher
from pressbot.models import Entry, Extracted, FetchedDocument, Source, SourceReport
from pressbot.normalize import canonical_url, normalize_entries
from pressbot.parse import parse_feed, parse_json, parse_listing
from pressbot.store import Archive
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

    def close(self) -> None:
        self._db.shutdown(wait=True)

    async def cluster(self, clusterer: StoryClusterer) -> list[ClusterReport]:
        """Link every article not yet in a story (this cycle's, and any left by an interrupted one)."""
        return list(await self._in_db(cluster_all, clusterer, now=self.clock()))

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


@dataclass(frozen=True)
class Translated:
    texts: list[str]
    model: str
    cached: int  # how many distinct texts came from the cache
    translated: int  # how many went through the model


def translate_cached(
    translator: Translator, archive: Archive, texts: Sequence[str], *, source: str, target: str, now: datetime
) -> Translated:
    """Translate texts through the archive's cache: each distinct text is translated once per model.

    Blocking (model and SQLite): call it from a worker thread inside the event loop.
    """
    if source == target:
        return Translated(list(texts), "identity", 0, 0)
    model = translator.model_id(source, target)
    cached = archive.cached_translations(texts, source=source, target=target, model=model)
    todo = [text for text in dict.fromkeys(texts) if text not in cached and text.strip()]
    fresh = dict(
        zip(todo, translator.translate(todo, source=source, target=target) if todo else [], strict=True)
    )
    archive.store_translations(list(fresh.items()), source=source, target=target, model=model, now=now)
    known = cached | fresh
    return Translated([known.get(text, text) for text in texts], model, len(cached), len(fresh))


async def check_source(source: Source, fetcher: Fetcher) -> tuple[int, str | None]:
    """Try a source once, unconditionally, storing nothing: (items found, error or None)."""
    try:
        document = await fetcher.fetch(source.url)
        entries = await asyncio.to_thread(parse_entries, source, document)
    except (FetchError, ParseError) as error:
        return 0, str(error)
    return len(entries), None
