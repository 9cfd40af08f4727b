"""The running service behind ``pressbot run``: one event loop, APScheduler jobs, the bot beside them.

Input → output: settings, ``sources.yaml`` and the archive → jobs that run until stopped.

- ``fetch:<source>`` every source's ``interval`` (with jitter: a tenth of it, at most a minute),
  first at start-up; never two runs of one source at once (``max_instances=1``), and the runs missed
  while the machine slept or the loop was busy are coalesced into one.
- ``process`` (woken by fetches, not by a clock): translates the new titles and leads, links the new
  articles into stories, queues the alerts, then sends what the outbox holds. One at a time; fetches
  that finish while it runs wake it once more.
- ``digest:<channel>`` on each channel's cron schedule in its time zone (only with a Telegram
  token). A digest whose time passed while the service was down (within ``catch_up``) goes out at
  start-up.
- ``backlog`` every ``backlog_every``: up to ``backlog_batch`` articles of the translation backlog
  (a model installed while the service runs is picked up here).
- ``deliver`` every ``deliver_every``: what the outbox still holds (after a 429, a network failure).
- ``heartbeat`` every ``heartbeat_every``: ``storage/service.json`` — pid, start, each job's next
  and last run — for ``pressbot status`` and the container healthcheck.

Blocking work never runs on the loop: the archive has one worker thread (the collector's), where
the story linking runs too; translation has its own thread and works in batches of
``TRANSLATE_CHUNK`` articles, English first (the story linking compares languages through it),
for at most ``translate_budget`` seconds per step — the rest is the backlog's; parsing and
extraction run in other worker threads. Stopping (SIGTERM, Ctrl-C) lets running jobs finish for
``grace`` seconds, then cancels them; each thread completes the batch or transaction it is in, so
nothing is half-written.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from pressbot.channels import Channel, cron_trigger
from pressbot.cluster import PIVOT, StoryClusterer
from pressbot.config import Config, Settings
from pressbot.dedup import DedupSettings
from pressbot.errors import PressbotError
from pressbot.fetch import Fetcher, FetchOptions
from pressbot.models import LANGUAGES, SourceReport
from pressbot.pipeline import Collector, TranslationReport, cycle_summary, translate_backlog, translate_new
from pressbot.store import Archive
from pressbot.telegram.alerts import queue_alerts
from pressbot.telegram.service import DigestRequest, prepare_digest, queue_digest
from pressbot.translate.engine import Translator
from pressbot.translate.packages import installed_packages

log = logging.getLogger("pressbot.run")
STATUS_FILE = "service.json"
MAX_JITTER_S = 60.0
TRANSLATE_CHUNK = 32  # articles per translation call: a stop or a budget waits for one such call at most
T = TypeVar("T")


@dataclass(frozen=True)
class RunOptions:
    deliver_every: float = 30.0  # seconds between outbox checks
    heartbeat_every: float = 15.0  # seconds between writes of storage/service.json
    backlog_every: timedelta = timedelta(minutes=15)
    backlog_batch: int = 200  # articles of the translation backlog per run
    settle: float = 2.0  # seconds ``process`` waits for more fetches to finish before it starts
    grace: float = 20.0  # seconds running jobs get to finish after a stop
    translate_budget: float = 60.0  # seconds one processing step translates; the rest is the backlog's
    catch_up: timedelta = timedelta(hours=6)  # a digest missed by less than this is sent at start-up


@dataclass(frozen=True)
class JobSpec:
    """One scheduled job, as planned from the settings and sources.yaml (no I/O: tests read it)."""

    id: str  # "fetch:<source>", "digest:<channel>", "backlog", "deliver", "heartbeat"
    kind: str
    trigger: BaseTrigger
    description: str
    target: str | None = None  # the source or channel id
    first_run: datetime | None = None  # None: when the trigger first fires
    max_instances: int = 1  # never two runs of one job at once
    coalesce: bool = True  # runs missed during a pause or sleep → one run
    misfire_grace_s: int | None = None  # None: run however late (coalesced)


def jitter_for(interval_s: float) -> float:
    """A tenth of the interval, at most a minute: sources sharing an interval spread out."""
    return min(MAX_JITTER_S, interval_s / 10)


def plan_jobs(config: Config, *, telegram: bool, now: datetime, options: RunOptions) -> list[JobSpec]:
    """The jobs ``pressbot run`` schedules for this sources.yaml (enabled sources; channels with a
    schedule when a Telegram token is set)."""
    jobs = [
        JobSpec(
            id=f"fetch:{source.id}",
            kind="fetch",
            trigger=IntervalTrigger(
                seconds=source.interval_s, jitter=jitter_for(source.interval_s), timezone=UTC
            ),
            description=f"every {_duration(source.interval_s)} (±{jitter_for(source.interval_s):.0f}s)",
            target=source.id,
            first_run=now,
        )
        for source in config.sources
        if source.enabled
    ]
    if telegram:
        jobs += [
            JobSpec(
                id=f"digest:{channel.id}",
                kind="digest",
                trigger=cron_trigger(channel.schedule, channel.timezone),
                description=f"cron {channel.schedule} ({channel.timezone})",
                target=channel.id,
                misfire_grace_s=int(options.catch_up.total_seconds()),
            )
            for channel in config.channels
            if channel.schedule
        ]
        jobs.append(
            JobSpec(
                id="deliver",
                kind="deliver",
                trigger=IntervalTrigger(seconds=options.deliver_every, timezone=UTC),
                description=f"every {_duration(options.deliver_every)}",
            )
        )
    backlog_s = options.backlog_every.total_seconds()
    jobs.append(
        JobSpec(
            id="backlog",
            kind="backlog",
            trigger=IntervalTrigger(seconds=backlog_s, jitter=jitter_for(backlog_s), timezone=UTC),
            description=f"every {_duration(backlog_s)}, up to {options.backlog_batch} articles",
            first_run=now + timedelta(seconds=min(60.0, backlog_s)),
        )
    )
    jobs.append(
        JobSpec(
            id="heartbeat",
            kind="heartbeat",
            trigger=IntervalTrigger(seconds=options.heartbeat_every, timezone=UTC),
            description=f"every {_duration(options.heartbeat_every)}",
            first_run=now,
        )
    )
    return jobs


def missed_digests(
    channels: Sequence[Channel],
    last_digest: dict[str, datetime | None],
    *,
    now: datetime,
    catch_up: timedelta,
) -> list[str]:
    """Channels whose latest scheduled digest time, within ``catch_up`` before ``now``, came after
    their last digest (the service was down then): they get it at start-up."""
    missed = []
    for channel in channels:
        if not channel.schedule:
            continue
        trigger = cron_trigger(channel.schedule, channel.timezone)
        latest, moment = None, trigger.get_next_fire_time(None, now - catch_up)
        while moment is not None and moment <= now:
            latest = moment
            moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
        done = last_digest.get(channel.id)
        if latest is not None and (done is None or done < latest):
            missed.append(channel.id)
    return missed


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:g}s"


@dataclass
class JobRecord:
    """What the status shows of a job: its last run and how it went."""

    runs: int = 0
    last_start: datetime | None = None
    last_seconds: float | None = None
    last_error: str | None = None


Deliver = Callable[[], Awaitable[Any]]  # sends what the outbox holds; returns a report or None


@dataclass
class ServiceParts:
    """What the service is made of, injected by the CLI (and by tests)."""

    settings: Settings
    config: Config
    archive: Archive
    translator_factory: Callable[[], Translator]
    dedup: DedupSettings
    deliver: Deliver | None = None  # None: no Telegram token — collect and archive only
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


class Service:
    """The jobs, their shared parts (one fetcher, one collector, one clusterer) and their records."""

    def __init__(self, parts: ServiceParts, options: RunOptions | None = None):
        self.parts = parts
        self.options = options or RunOptions()
        self.started_at = parts.clock()
        self.records: dict[str, JobRecord] = {}
        self.scheduler: AsyncIOScheduler | None = None
        self._fetcher: Fetcher | None = None
        self._collector: Collector | None = None
        self._clusterer: StoryClusterer | None = None
        self._translator: Translator | None = None
        self._packages: tuple[tuple[str, str, str], ...] | None = None
        self._wake = asyncio.Event()
        self._processing = asyncio.Lock()
        self._running: set[asyncio.Task[Any]] = set()
        self._fetched_since: datetime | None = None  # start of the period the next alerts cover
        self._source_locks: dict[str, asyncio.Lock] = {}
        self._stopping = False
        self._translator_lock = threading.Lock()
        # Translation has its own thread: a long batch must not hold up the fetches' writes.
        self._translation = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pressbot-translate")

    # ------------------------------------------------------------------ lifecycle

    async def run(self, stop: asyncio.Event, *, ready: Callable[[], Awaitable[None]] | None = None) -> None:
        """Schedule the jobs and run until ``stop`` is set; then finish or cancel what runs."""
        settings, archive = self.parts.settings, self.parts.archive
        self._fetcher = Fetcher(FetchOptions.from_settings(settings))
        self._collector = Collector(archive=archive, fetcher=self._fetcher, clock=self.parts.clock)
        scheduler = self.scheduler = AsyncIOScheduler(timezone=UTC)
        now = self.parts.clock()
        jobs = plan_jobs(
            self.parts.config, telegram=self.parts.deliver is not None, now=now, options=self.options
        )
        for spec in jobs:
            scheduler.add_job(
                self._tracked(spec.id, self._action(spec)),
                spec.trigger,
                id=spec.id,
                name=spec.description,
                max_instances=spec.max_instances,
                coalesce=spec.coalesce,
                misfire_grace_time=spec.misfire_grace_s,
                **({"next_run_time": spec.first_run} if spec.first_run else {}),
            )
        processor = asyncio.create_task(self._process_loop(), name="pressbot-process")
        scheduler.start()
        log.info(
            "started: %d sources, %d scheduled digests%s",
            sum(1 for j in jobs if j.kind == "fetch"),
            sum(1 for j in jobs if j.kind == "digest"),
            "" if self.parts.deliver else " (no Telegram token: collecting and archiving only)",
        )
        try:
            await self._catch_up_digests(now)
            if ready is not None:
                await ready()
            await stop.wait()
        finally:
            log.info(
                "stopping: letting %d running job(s) finish (up to %gs)",
                len(self._running),
                self.options.grace,
            )
            scheduler.shutdown(wait=False)
            await self._finish(processor)
            self._write_status(running=False)
            log.info("stopped")

    async def _finish(self, processor: asyncio.Task[None]) -> None:
        running = [task for task in self._running if not task.done()]
        if running:
            _done, pending = await asyncio.wait(running, timeout=self.options.grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        processor.cancel()
        await asyncio.gather(processor, return_exceptions=True)
        # Both threads complete what they are doing (one small batch, one transaction) and stop.
        await asyncio.to_thread(self._translation.shutdown, wait=True)
        if self._collector is not None:
            # Waits for the archive's thread: a transaction in progress completes, none starts half-way.
            await asyncio.to_thread(self._collector.close)
        if self._fetcher is not None:
            await self._fetcher.aclose()

    def _action(self, spec: JobSpec) -> Callable[[], Awaitable[Any]]:
        if spec.kind == "fetch":
            assert spec.target is not None
            source_id = spec.target
            return lambda: self.fetch(source_id)
        if spec.kind == "digest":
            assert spec.target is not None
            channel_id = spec.target
            return lambda: self.digest(channel_id)
        return {
            "backlog": self.backlog,
            "deliver": self.deliver,
            "heartbeat": self.heartbeat,
        }[spec.kind]

    def _tracked(self, job_id: str, action: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[None]]:
        """The job as APScheduler runs it: recorded, timed, its errors logged (a job never dies)."""

        async def job() -> None:
            task = asyncio.current_task()
            if task is not None:
                self._running.add(task)
            record = self.records.setdefault(job_id, JobRecord())
            record.runs += 1
            record.last_start = self.parts.clock()
            started = time.monotonic()
            try:
                await action()
                record.last_error = None
            except asyncio.CancelledError:
                record.last_error = "cancelled at shutdown"
                raise
            except PressbotError as error:
                record.last_error = str(error)
                log.warning("%s: %s", job_id, error)
            except Exception as error:  # the service's edge: one job's bug must not stop the others
                record.last_error = f"internal error ({error.__class__.__name__}: {error})"
                log.exception("%s failed", job_id)
            finally:
                record.last_seconds = round(time.monotonic() - started, 3)
                if task is not None:
                    self._running.discard(task)

        return job

    # ------------------------------------------------------------------ jobs

    async def fetch(self, source_id: str) -> SourceReport | None:
        """Collect one source (None: it is being collected already — /fetch during its run)."""
        assert self._collector is not None
        source = self.parts.config.source(source_id)
        lock = self._source_locks.setdefault(source_id, asyncio.Lock())
        if lock.locked():
            return None
        if self._fetched_since is None:
            self._fetched_since = self.parts.clock()
        async with lock:
            report = await self._collector.collect_source(source)
        log.info(
            "fetched %s: %d new, %d updated%s",
            source_id,
            report.new,
            report.updated,
            f", failed: {report.errors[0]}" if report.failed else "",
        )
        if report.new or report.updated:
            self._wake.set()
        return report

    async def collect_now(self) -> str:
        """Every enabled source now, then the processing step (/fetch); a one-line summary."""
        sources = [s.id for s in self.parts.config.sources if s.enabled]
        results = await asyncio.gather(*(self._tracked_fetch(source_id) for source_id in sources))
        reports = [r for r in results if r is not None]
        await self._tracked("process", self.process)()
        summary = cycle_summary(reports)
        busy = len(sources) - len(reports)
        if busy:
            summary += f" {busy} were being collected already."
        return summary

    async def _tracked_fetch(self, source_id: str) -> SourceReport | None:
        try:
            return await self.fetch(source_id)
        except PressbotError as error:
            log.warning("fetch:%s: %s", source_id, error)
            return None

    async def _process_loop(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(self.options.settle)  # let the fetches of the same moment land first
            self._wake.clear()
            await self._tracked("process", self.process)()

    async def process(self) -> None:
        """Translate what is new, link it into stories, queue the alerts, send them."""
        assert self._collector is not None
        async with self._processing:
            translator = await asyncio.to_thread(self.translator)
            translation = await self._translate(translator, self._collector.take_new())
            reports = await self._collector.cluster(self._story_clusterer(translator))
            since, now = self._fetched_since or self.started_at, self.parts.clock()
            self._fetched_since = now
            alerts = await asyncio.to_thread(
                queue_alerts, self.parts.archive, self.parts.config, since=since, now=now
            )
            log.info(
                "processed: %d titles and leads translated (%d cached), %d articles linked into stories, "
                "%d alert(s) queued",
                translation.texts,
                translation.cached,
                sum(r.articles for r in reports),
                alerts.total,
            )
        if alerts.total:
            await self.deliver()

    async def digest(self, channel_id: str) -> None:
        channel = self.parts.config.channel(channel_id)
        archive, now = self.parts.archive, self.parts.clock()

        def prepare_and_queue() -> tuple[int, int]:
            prepared = prepare_digest(archive, self.parts.config, DigestRequest(channel), now=now)
            queue_digest(archive, prepared, now=now)  # a skipped one still moves the channel on
            return len(prepared.digest.entries), len(prepared.messages)

        stories, messages = await asyncio.to_thread(prepare_and_queue)
        log.info("digest for %s: %d stories in %d message(s) queued", channel_id, stories, messages)
        await self.deliver()

    async def deliver(self) -> None:
        if self.parts.deliver is None:
            return
        if not await asyncio.to_thread(self.parts.archive.open_messages):
            return
        report = await self.parts.deliver()
        if report is not None:
            log.info("outbox: %d sent, %d failed, %d pending", report.sent, report.failed, report.pending)

    async def backlog(self) -> None:
        """Up to ``backlog_batch`` articles still missing a translation a model can now make."""
        async with self._processing:
            translator = await asyncio.to_thread(self.translator)
            if not translator.pairs():
                return
            report = TranslationReport()
            deadline = time.monotonic() + self.options.translate_budget
            while report.translated_articles < self.options.backlog_batch:
                if self._stopping or time.monotonic() > deadline:
                    break
                part = await self._in_translation_thread(
                    translate_backlog,
                    translator,
                    self.parts.archive,
                    limit=min(TRANSLATE_CHUNK, self.options.backlog_batch - report.translated_articles),
                    now=self.parts.clock(),
                )
                report.add(part)
                if not part.translated_articles:
                    break  # nothing left that the installed models can translate
        if report.translated_articles:
            log.info("backlog: %d articles translated", report.translated_articles)

    async def _translate(self, translator: Translator, article_ids: list[int]) -> TranslationReport:
        """The titles and leads of these articles, ``TRANSLATE_CHUNK`` articles at a time in the
        translation thread (the archive's thread stays free for the fetches), for at most
        ``translate_budget`` seconds or until a stop: what is left is the backlog's."""
        report = TranslationReport()
        if not translator.pairs():
            return report
        deadline = time.monotonic() + self.options.translate_budget
        # English first: the story linking compares languages through it; then the other languages.
        for targets in ((PIVOT,), LANGUAGES):
            for start in range(0, len(article_ids), TRANSLATE_CHUNK):
                if self._stopping or time.monotonic() > deadline:
                    log.info("translation: %d articles left to the backlog", len(article_ids) - start)
                    return report
                chunk = article_ids[start : start + TRANSLATE_CHUNK]
                part = await self._in_translation_thread(
                    translate_new,
                    translator,
                    self.parts.archive,
                    chunk,
                    targets=targets,
                    now=self.parts.clock(),
                )
                report.add(part)
        return report

    async def _in_translation_thread(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._translation, functools.partial(function, *args, **kwargs))

    async def heartbeat(self) -> None:
        await asyncio.to_thread(self._write_status, running=True)

    async def _catch_up_digests(self, now: datetime) -> None:
        if self.parts.deliver is None:
            return
        channels = [c for c in self.parts.config.channels if c.schedule]
        states = await asyncio.to_thread(
            lambda: {c.id: self.parts.archive.channel_state(c.id).last_digest_at for c in channels}
        )
        for channel_id in missed_digests(channels, states, now=now, catch_up=self.options.catch_up):
            log.info("digest for %s was due while pressbot was not running: sending it now", channel_id)
            await self._tracked(f"digest:{channel_id}", functools.partial(self.digest, channel_id))()

    # ------------------------------------------------------------------ shared parts

    def translator(self) -> Translator:
        """The translator for the packages installed now (a new one after an install or removal).
        Called from worker threads (the jobs' and the bot's)."""
        with self._translator_lock:
            return self._current_translator()

    def _current_translator(self) -> Translator:
        packages = tuple(
            sorted(
                (p.package_id, p.version, str(p.path))
                for p in installed_packages(self.parts.settings.models_dir)
            )
        )
        if self._translator is None or packages != self._packages:
            if self._translator is not None:
                log.info("translation models changed: %d package(s) now", len(packages))
            self._translator, self._packages = self.parts.translator_factory(), packages
            self._clusterer = None  # its English pivot comes from the translator
        return self._translator

    def _story_clusterer(self, translator: Translator) -> StoryClusterer:
        if self._clusterer is None:
            self._clusterer = StoryClusterer(
                self.parts.archive, settings=self.parts.dedup, translator=translator
            )
        return self._clusterer

    # ------------------------------------------------------------------ status

    def status(self) -> dict[str, Any]:
        """Uptime and each job's next and last run (what `pressbot status` and /status show)."""
        now = self.parts.clock()
        jobs = []
        if self.scheduler is not None:
            for job in self.scheduler.get_jobs():
                jobs.append(
                    _job_row(job.id, job.name, job.next_run_time, self.records.get(job.id, JobRecord()))
                )
        scheduled = {job["id"] for job in jobs}
        for job_id, record in self.records.items():
            if job_id not in scheduled:  # "process" (woken by fetches), catch-up digests
                schedule = "after fetches that stored something" if job_id == "process" else "at start-up"
                jobs.append(_job_row(job_id, schedule, None, record))
        return {
            "running": True,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": _iso(self.started_at),
            "uptime_s": round((now - self.started_at).total_seconds()),
            "heartbeat_at": _iso(now),
            "heartbeat_every_s": self.options.heartbeat_every,
            "telegram": self.parts.deliver is not None,
            "jobs": sorted(jobs, key=lambda j: j["id"]),
        }

    def _write_status(self, *, running: bool) -> None:
        report = self.status() | {"running": running}
        path = status_path(self.parts.settings.storage)
        temporary = path.with_name(path.name + ".tmp")
        try:
            temporary.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
            temporary.replace(path)  # atomic: a reader never sees half a file
        except OSError as error:
            log.warning("could not write %s: %s", path, error)


def _job_row(job_id: str, schedule: str, next_run: datetime | None, record: JobRecord) -> dict[str, Any]:
    return {
        "id": job_id,
        "schedule": schedule,
        "next_run": _iso(next_run),
        "runs": record.runs,
        "last_run": _iso(record.last_start),
        "last_seconds": record.last_seconds,
        "last_error": record.last_error,
    }


def status_path(storage: Path) -> Path:
    return storage / STATUS_FILE


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment is not None else None
