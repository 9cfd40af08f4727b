"""`pressbot status`: the archive, source health, backlogs and models at a glance; a container healthcheck.

Input → output: the settings, sources.yaml and the archive → one report (a table, or JSON), or
with ``--healthcheck`` one line and an exit code (0 healthy, 1 not: Docker reserves 2). The
service's own numbers — uptime, the next run of each job — come from ``storage/service.json``,
which `pressbot run` rewrites every few seconds (its heartbeat).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import click
from rich.table import Table
from sqlalchemy import func, select, text

from pressbot import cli_translate
from pressbot.cli_common import Context, ago, dump, handle_errors, iso, out, short_error
from pressbot.config import Config, Settings, load_config
from pressbot.errors import PressbotError
from pressbot.leads import lead_text
from pressbot.models import LANGUAGES, SourceState
from pressbot.scheduler import status_path
from pressbot.store import Archive, schema
from pressbot.timefmt import until
from pressbot.translate.engine import Translator
from pressbot.translate.packages import installed_packages

STALE_HEARTBEATS = 4  # a running service silent for this many heartbeats counts as stopped
BACKLOG_SCAN = 5000  # newest articles checked for missing translations: status stays fast on any archive
FAILING = 5  # consecutive failures from which a source counts as failing for the healthcheck


def service_report(settings: Settings, *, now: datetime) -> dict[str, Any]:
    """What `pressbot run` last wrote to storage/service.json, and whether it still runs: its
    heartbeat is recent. ``stale``: it said it was running, then went quiet (killed, hung)."""
    idle: dict[str, Any] = {
        "running": False,
        "stale": False,
        "started_at": None,
        "uptime_s": None,
        "jobs": [],
    }
    path = status_path(settings.storage)
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        heartbeat = datetime.fromisoformat(report["heartbeat_at"])
        every = float(report.get("heartbeat_every_s", 15))
    except FileNotFoundError:
        return idle
    except (OSError, ValueError, KeyError, TypeError) as error:
        return idle | {"error": f"{path} is unreadable ({error})"}
    silent = (now - heartbeat).total_seconds()
    stale = bool(report.get("running")) and silent > STALE_HEARTBEATS * every
    return report | {
        "running": bool(report.get("running")) and not stale,
        "stale": stale,
        "silent_s": round(silent),
    }


@dataclass(frozen=True)
class Health:
    ok: bool
    reason: str


def database_bytes(settings: Settings) -> int:
    """The archive's size on disk: the database with its write-ahead log and shared memory."""
    base = settings.database_path
    paths = [base, base.with_name(base.name + "-wal"), base.with_name(base.name + "-shm")]
    return sum(p.stat().st_size for p in paths if p.exists())


def _count(archive: Archive, table: Any) -> int:
    with archive.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)


def untranslated(archive: Archive, translator: Translator, *, scan: int = BACKLOG_SCAN) -> tuple[int, int]:
    """(articles whose title or lead lacks a translation a model could now make, articles checked):
    the newest ``scan`` articles, by any model's cached translation."""
    missing = checked = 0
    before: int | None = None
    while checked < scan:
        page = archive.articles_for_translation(before_id=before, limit=min(500, scan - checked))
        if not page:
            break
        before, checked = page[-1].id, checked + len(page)
        for language in {a.language for a in page} & set(LANGUAGES):
            targets = [t for t in LANGUAGES if t != language and translator.can_translate(language, t)]
            if not targets:
                continue
            group = [a for a in page if a.language == language]
            found = archive.latest_translations(
                [t for a in group for t in (a.title, lead_text(a))], source=language
            )
            for article in group:
                texts = [t for t in (article.title, lead_text(article)) if t.strip()]
                if any(t not in found.get(target, {}) for target in targets for t in texts):
                    missing += 1
    return missing, checked


def check_writable(settings: Settings, archive: Archive) -> None:
    """A real write: a file in the storage folder, and the database header (its user_version)."""
    try:
        with tempfile.NamedTemporaryFile(dir=settings.storage, prefix=".healthcheck-"):
            pass
        with archive.engine.begin() as conn:
            version = int(conn.execute(text("PRAGMA user_version")).scalar() or 0)
            conn.execute(text(f"PRAGMA user_version = {version}"))
    except Exception as error:  # the edge: any failure to write is the answer
        raise PressbotError(
            f"the archive in {settings.storage} is not writable ({error.__class__.__name__}: {error})"
        ) from None


def check_health(settings: Settings) -> Health:
    """Healthy when sources.yaml is valid, the archive opens and takes a write, and not every
    enabled source is failing."""
    try:
        config = load_config(settings.sources)
        with Archive.open(settings.storage) as archive:
            check_writable(settings, archive)
            states = archive.source_states()
    except PressbotError as error:
        return Health(False, str(error))
    service = service_report(settings, now=datetime.now(UTC))
    if service["stale"]:
        return Health(
            False,
            f"`pressbot run` (pid {service.get('pid')}) has not written its heartbeat for "
            f"{service['silent_s']}s — it stopped or hangs; restart it",
        )
    enabled = [s for s in config.sources if s.enabled]
    failing = [s for s in enabled if states.get(s.id, SourceState(source_id=s.id)).failures >= FAILING]
    if enabled and len(failing) == len(enabled):
        return Health(
            False,
            f"all {len(enabled)} enabled sources are failing ({FAILING}+ consecutive errors each) — "
            "check the network; `pressbot sources` shows the errors",
        )
    articles = sum(state.articles for state in states.values())
    return Health(
        True, f"archive {settings.storage} writable, {articles} articles, {len(enabled)} sources enabled"
    )


def _source_json(source_id: str, enabled: bool | None, state: SourceState) -> dict[str, Any]:
    return {
        "id": source_id,
        "enabled": enabled,  # None: in the archive but no longer in sources.yaml
        "articles": state.articles,
        "last_attempt": iso(state.last_attempt),
        "last_success": iso(state.last_success),
        "failures": state.failures,
        "last_error": state.last_error,
        "last_error_at": iso(state.last_error_at),
    }


def status_report(settings: Settings, config: Config, archive: Archive) -> dict[str, Any]:
    states = archive.source_states()
    known = {s.id for s in config.sources}
    sources = [
        _source_json(s.id, s.enabled, states.get(s.id, SourceState(source_id=s.id))) for s in config.sources
    ]
    sources += [_source_json(i, None, states[i]) for i in sorted(states) if i not in known]
    translator = cli_translate.translator_for(settings, config.glossary)
    missing, checked = untranslated(archive, translator)
    total = archive.count()
    counts = archive.outbox_counts()
    packages = installed_packages(settings.models_dir)
    return {
        "storage": str(settings.storage),
        "sources_file": str(config.path),
        "archive": {
            "articles": total,
            "stories": _count(archive, schema.stories),
            "translations": _count(archive, schema.translations),
            "db_bytes": database_bytes(settings),
        },
        "sources": sources,
        "backlog": {
            "untranslated_articles": missing,
            "checked_articles": checked,
            "complete": checked >= total,
            "outbox_pending": sum(n for (_, s), n in counts.items() if s in ("pending", "sending")),
            "outbox_failed": sum(n for (_, s), n in counts.items() if s == "failed"),
        },
        "models": [
            {"from": p.source, "to": p.target, "version": p.version, "package": p.package_id}
            for p in packages
        ],
        "models_dir": str(settings.models_dir),
        # From the running service (`pressbot run`): uptime, each job's next and last run.
        "service": service_report(settings, now=datetime.now(UTC)),
    }


def _print(report: dict[str, Any]) -> None:
    now = datetime.now(UTC)
    a, b = report["archive"], report["backlog"]
    out.print(
        f"Archive {report['storage']}: {a['articles']} articles, {a['stories']} stories, "
        f"{a['translations']} cached translations, {a['db_bytes'] / 1024**2:.1f} MB",
        markup=False,
    )
    scope = "" if b["complete"] else f" (of the newest {b['checked_articles']})"
    out.print(
        f"Backlog: {b['untranslated_articles']} articles awaiting translation{scope}"
        f"{' — `pressbot translate --backlog`' if b['untranslated_articles'] else ''}; "
        f"outbox {b['outbox_pending']} pending, {b['outbox_failed']} failed"
        f"{' — `pressbot outbox`' if b['outbox_failed'] else ''}",
        markup=False,
    )
    models = ", ".join(f"{m['from']}→{m['to']} {m['version']}" for m in report["models"])
    out.print(
        f"Models: {models}"
        if models
        else f"Models: none in {report['models_dir']} — `pressbot models install --from-index zh it en`",
        markup=False,
    )
    _print_service(report["service"], now)
    table = Table(title="Sources", title_justify="left")
    for column in ("id", "articles", "last success", "failures", "last error"):
        table.add_column(
            column, overflow="fold", justify="right" if column in ("articles", "failures") else "left"
        )
    for row in report["sources"]:
        last_success = datetime.fromisoformat(row["last_success"]) if row["last_success"] else None
        name = row["id"] + (
            "" if row["enabled"] else " (disabled)" if row["enabled"] is False else " (removed)"
        )
        table.add_row(
            name,
            str(row["articles"]),
            ago(last_success, now),
            f"[red]{row['failures']}[/red]" if row["failures"] else "0",
            short_error(row["last_error"], ""),
        )
    out.print(table)


def _print_service(service: dict[str, Any], now: datetime) -> None:
    if service["stale"]:
        out.print(
            f"Service: [red]silent for {service['silent_s']}s[/red] — `pressbot run` (pid {service.get('pid')}) "
            "stopped without saying so, or hangs; restart it."
        )
    elif not service["running"]:
        out.print("Service: not running — start it with `pressbot run`.", markup=False)
        return
    else:
        started = datetime.fromisoformat(service["started_at"])
        out.print(
            f"Service: running since {ago(started, now)} (pid {service['pid']} on {service['host']}"
            f"{', Telegram on' if service.get('telegram') else ', no Telegram token'})",
            markup=False,
        )
    table = Table(title="Jobs", title_justify="left")
    for column in ("job", "schedule", "next run", "runs", "last run", "last error"):
        table.add_column(column, overflow="fold", justify="right" if column == "runs" else "left")
    for job in sorted(service["jobs"], key=lambda j: j["next_run"] or "~"):
        next_run = datetime.fromisoformat(job["next_run"]) if job["next_run"] else None
        last_run = datetime.fromisoformat(job["last_run"]) if job["last_run"] else None
        table.add_row(
            job["id"],
            job["schedule"],
            f"in {until(next_run, now)}" if next_run else "—",
            str(job["runs"]),
            ago(last_run, now),
            short_error(job["last_error"], ""),
        )
    out.print(table)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option(
    "--healthcheck",
    is_flag=True,
    help="Only check health: exit 0 when the archive opens and is writable and sources work, 1 otherwise, with one line.",
)
@click.pass_obj
@handle_errors
def status(obj: Context, as_json: bool, healthcheck: bool) -> None:
    """The archive's size, each source's health, backlogs (untranslated articles, unsent messages)
    and the installed models.

    With --healthcheck (for a container's HEALTHCHECK) only one line and the exit code.
    """
    if healthcheck:
        health = check_health(obj.settings)
        if as_json:
            dump({"ok": health.ok, "reason": health.reason})
        else:
            click.echo(("ok: " if health.ok else "unhealthy: ") + health.reason)
        raise SystemExit(0 if health.ok else 1)
    config = obj.config()
    with obj.archive() as archive:
        report = status_report(obj.settings, config, archive)
    if as_json:
        dump(report)
    else:
        _print(report)


def register(group: click.Group) -> None:
    group.add_command(status)
