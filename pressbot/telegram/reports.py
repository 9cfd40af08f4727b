"""/coverage, /sources and /status: counts and health, for the bot (no Telegram library here).

Input → output: a topic and a period → a :class:`~pressbot.telegram.chart.Coverage` (articles per
day, outlet and language), drawn as a PNG with the numbers as text; the archive's source and
channel states → a health report for admins; the running service's jobs and the backlogs → a
status report. Blocking (SQLite, drawing): call from a worker thread.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pressbot.config import Config
from pressbot.errors import ConfigError
from pressbot.store import Archive, SearchQuery
from pressbot.telegram.chart import Coverage, coverage_png
from pressbot.telegram.commands import (
    PERIOD_RE,
    Reply,
    UsageError,
    e,
    format_time,
    parse_period,
    zone_for,
)
from pressbot.telegram.render import render_blocks
from pressbot.telegram.service import topic_match
from pressbot.timefmt import span, until

COVERAGE_LIMIT = 20000  # articles counted at most
DEFAULT_COVERAGE = timedelta(days=7)


# ----------------------------------------------------------------------------- /coverage


def parse_coverage(words: Sequence[str], config: Config) -> tuple[str, timedelta]:
    if not 1 <= len(words) <= 2:
        raise UsageError("coverage")
    topic_id, period = words[0], DEFAULT_COVERAGE
    if len(words) == 2:
        if not PERIOD_RE.fullmatch(words[1]):
            raise UsageError("coverage", f"'{words[1]}' is not a period like 7d")
        period = parse_period(words[1], "coverage")
    try:
        config.topic(topic_id)
    except ConfigError:
        known = ", ".join(t.id for t in config.topics) or "none in sources.yaml"
        raise UsageError("coverage", f"no topic '{topic_id}' (topics: {known})") from None
    return topic_id, period


def count_coverage(
    archive: Archive, config: Config, topic_id: str, *, period: timedelta, now: datetime, zone: str
) -> Coverage:
    topic = config.topic(topic_id)
    local = ZoneInfo(zone)
    since = now - period
    match = topic_match([topic])
    hits = archive.search(SearchQuery(text="", raw_match=match, since=since, limit=COVERAGE_LIMIT))
    per_day: dict[date, Counter[str]] = defaultdict(Counter)
    per_outlet: Counter[str] = Counter()
    per_language: Counter[str] = Counter()
    for hit in hits:
        moment = hit.published_at or hit.fetched_at
        if moment is None or moment < since:
            continue
        per_day[moment.astimezone(local).date()][hit.language] += 1
        per_outlet[hit.source_id] += 1
        per_language[hit.language] += 1
    first, last = since.astimezone(local).date(), now.astimezone(local).date()
    days = tuple(first + timedelta(days=n) for n in range((last - first).days + 1))
    return Coverage(
        topic_id=topic.id,
        topic_name=topic.name,
        days=days,
        per_day={day: dict(counts) for day, counts in per_day.items()},
        per_outlet=dict(per_outlet.most_common()),
        per_language=dict(per_language.most_common()),
        outlet_names={source.id: source.name for source in config.sources},
        zone=zone,
    )


def answer_coverage(
    archive: Archive, config: Config, topic_id: str, *, period: timedelta, language: str, now: datetime
) -> Reply:
    coverage = count_coverage(archive, config, topic_id, period=period, now=now, zone=zone_for(language))
    days = (coverage.days[-1] - coverage.days[0]).days + 1
    header = (
        f"<b>Coverage · {e(coverage.topic_name)}</b>\n<i>{coverage.total} articles in {len(coverage.per_outlet)} "
        f"outlets, {coverage.days[0]:%Y-%m-%d} – {coverage.days[-1]:%Y-%m-%d} ({days} days, {e(coverage.zone)})</i>"
    )
    if not coverage.total:
        return Reply((f"{header}\nNo article matched this topic in the period.",))
    per_day = ["<b>Per day</b>"] + [
        f"{day:%m-%d}  {sum(counts.values())}  ("
        + " · ".join(f"{lang} {n}" for lang, n in sorted(counts.items()))
        + ")"
        for day in coverage.days
        if (counts := coverage.per_day.get(day))
    ]
    per_outlet = ["<b>Per outlet</b>"] + [
        f"{e(coverage.outlet_names.get(outlet, outlet))} ({e(outlet)}): {count}"
        for outlet, count in coverage.per_outlet.items()
    ]
    per_language = "<b>Per language</b>\n" + " · ".join(
        f"{lang} {count}" for lang, count in coverage.per_language.items()
    )
    messages = render_blocks(
        header, ["\n".join(per_day), "\n".join(per_outlet), per_language], continued="Coverage"
    )
    caption = f"<b>{e(coverage.topic_name)}</b>: {coverage.total} articles, per day and per outlet"
    return Reply(tuple(messages), photo=coverage_png(coverage), caption=caption)


# ----------------------------------------------------------------------------- /sources


def answer_sources(archive: Archive, config: Config, *, now: datetime) -> Reply:
    states = archive.source_states()
    enabled = [source for source in config.sources if source.enabled]
    failing = [s for s in enabled if (state := states.get(s.id)) is not None and state.failures]
    never = [s for s in enabled if (state := states.get(s.id)) is None or state.last_attempt is None]
    header = (
        f"<b>Sources</b>\n<i>{len(enabled)} enabled · {len(failing)} failing · "
        f"{len(never)} not collected yet · {len(config.sources) - len(enabled)} disabled</i>"
    )
    blocks = []
    for source in sorted(failing, key=lambda s: -states[s.id].failures):
        state = states[source.id]
        blocks.append(
            f"<b>{e(source.name)}</b> ({e(source.id)}) — failed {state.failures} time(s) in a row\n"
            f"last error {e(_ago(state.last_error_at, now))}: {e((state.last_error or '')[:300])}\n"
            f"last success: {e(_ago(state.last_success, now))}"
        )
    if not failing:
        successes = [state.last_success for state in states.values() if state.last_success]
        latest = f"; the latest success was {_ago(max(successes), now)}" if successes else ""
        blocks.append(f"No source is failing{e(latest)}.")
    if never:
        blocks.append("Not collected yet: " + e(", ".join(s.id for s in never)))
    for channel_id, channel in archive.channel_states().items():
        if channel.failures:
            blocks.append(
                f"<b>Channel {e(channel_id)}</b> — delivery failing: {e((channel.last_error or '')[:300])} "
                f"({e(_ago(channel.last_error_at, now))})"
            )
    return Reply(tuple(render_blocks(header, blocks, continued="Sources")))


# ----------------------------------------------------------------------------- /status

STATUS_JOBS = 8  # the soonest jobs listed by /status


def answer_status(
    archive: Archive, config: Config, service: dict[str, Any] | None, *, now: datetime
) -> Reply:
    """Uptime, the next runs, jobs that failed last time, the backlogs and the archive's size."""
    counts = archive.outbox_counts()
    pending = sum(n for (_, status), n in counts.items() if status in ("pending", "sending"))
    failed = sum(n for (_, status), n in counts.items() if status == "failed")
    states = archive.source_states()
    failing = sum(1 for s in config.sources if s.enabled and (st := states.get(s.id)) and st.failures)
    lines = ["<b>Status</b>"]
    if service is None:
        lines.append("Service: this bot runs alone (`pressbot bot`); scheduling runs with `pressbot run`.")
    else:
        uptime = timedelta(seconds=int(service["uptime_s"]))
        lines.append(f"Up {e(str(uptime))} (since {e(service['started_at'])}) on {e(service['host'])}")
    lines.append(
        f"Archive: {archive.count()} articles · outbox {pending} pending, {failed} failed · "
        f"sources {failing} failing of {sum(1 for s in config.sources if s.enabled)} enabled"
    )
    if service is not None:
        jobs = [j for j in service["jobs"] if j["next_run"]]
        # Every channel's next digest, then the soonest of the other jobs.
        jobs.sort(key=lambda j: (not j["id"].startswith("digest:"), j["next_run"]))
        lines.append("")
        lines.append("<b>Next runs</b>")
        for job in jobs[:STATUS_JOBS]:
            when = datetime.fromisoformat(job["next_run"])
            lines.append(f"{e(job['id'])} — in {e(until(when, now))} ({e(job['schedule'])})")
        if len(jobs) > STATUS_JOBS:
            lines.append(f"… and {len(jobs) - STATUS_JOBS} more")
        broken = [j for j in service["jobs"] if j["last_error"]]
        if broken:
            lines.append("")
            lines.append("<b>Failed last time</b>")
            lines += [f"{e(j['id'])}: {e(j['last_error'][:200])}" for j in broken[:STATUS_JOBS]]
    return Reply(tuple(render_blocks(lines[0], ["\n".join(lines[1:])], continued="Status")))


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    seconds = (now - moment).total_seconds()
    if seconds < 60:
        return f"{span(seconds)} ago"
    return f"{span(seconds)} ago ({format_time(moment, language='en', zone='UTC')} UTC)"
