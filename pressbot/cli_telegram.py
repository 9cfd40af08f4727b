"""`pressbot digest …`, `pressbot outbox …` and `pressbot bot`: Telegram digests, printed or posted
through the outbox, and the bot press officers talk to."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table

from pressbot.channels import Channel
from pressbot.cli_common import Context, dump, err, handle_errors, iso, out
from pressbot.config import Config, Settings, parse_when
from pressbot.errors import ConfigError, PressbotError
from pressbot.models import LANGUAGES
from pressbot.store import Archive
from pressbot.store.outbox import OutboxMessage
from pressbot.telegram.digest import DigestEntry
from pressbot.telegram.render import TELEGRAM_LIMIT, telegram_length, to_plain
from pressbot.telegram.service import DigestRequest, Prepared, prepare_digest, queue_digest

if TYPE_CHECKING:
    from pressbot.telegram.deliver import DeliveryReport


def _channels(config: Config, channel_id: str | None, *, post: bool, language: str | None) -> list[Channel]:
    if channel_id:
        return [config.channel(channel_id)]
    if config.channels:
        return list(config.channels)
    if post:
        raise ConfigError(
            f"{config.path} has no 'channels:' section — add one (see the README's Telegram section) to post digests."
        )
    # No channel configured: a preview for everything, in --lang (English by default), in UTC.
    return [Channel(id="preview", chat="", language=language or "en")]


async def _deliver(settings: Settings, archive: Archive, channel_ids: Sequence[str] | None) -> DeliveryReport:
    from pressbot.telegram.deliver import DeliveryOptions, Sender  # python-telegram-bot: only when posting

    async with Sender(
        archive,
        token=settings.telegram_token,
        base_url=settings.telegram_base_url,
        options=DeliveryOptions.from_settings(settings),
    ) as sender:
        return await sender.deliver(channel_ids=channel_ids)


def _entry_json(entry: DigestEntry) -> dict[str, Any]:
    return {
        "story": entry.story_id,
        "headline": entry.headline,
        "machine_translated": entry.machine_translated,
        "model": entry.model,
        "original": entry.original,
        "original_language": entry.original_language,
        "outlets": [
            {"source": o.source_id, "name": o.name, "url": o.url, "language": o.language}
            for o in entry.outlets
        ],
        "languages": entry.languages,
        "articles": entry.articles,
        "first_seen": iso(entry.first_seen),
        "last_seen": iso(entry.last_seen),
        "score": round(entry.score, 4),
    }


def _prepared_json(prepared: Prepared, digest_id: int | None) -> dict[str, Any]:
    digest, request = prepared.digest, prepared.request
    return {
        "channel": request.channel.id,
        "chat": request.channel.chat or None,
        "language": digest.language,
        "timezone": digest.timezone,
        "since": iso(digest.since),
        "until": iso(digest.until),
        "topic": request.topic,
        "scheduled": request.scheduled,
        "skipped": prepared.skipped,
        "candidates": digest.candidates,
        "stories": [_entry_json(entry) for entry in digest.entries],
        "messages": list(prepared.messages),
        "digest_id": digest_id,
    }


def _report_json(report: DeliveryReport) -> dict[str, Any]:
    return {
        "sent": report.sent,
        "failed": report.failed,
        "pending": report.pending,
        "retries": report.retries,
        "errors": report.errors,
    }


def _print_prepared(prepared: Prepared) -> None:
    digest, channel = prepared.digest, prepared.request.channel
    target = f"{channel.id} → {channel.chat}" if channel.chat else channel.id
    out.print(
        f"── {target} ({digest.language}, {digest.timezone}) · {len(digest.entries)} of {digest.candidates} "
        f"stories · {len(prepared.messages)} message(s)",
        markup=False,
    )
    if prepared.skipped:
        out.print("   nothing new — skipped (skip_empty: true)\n", markup=False)
        return
    for number, message in enumerate(prepared.messages, start=1):
        out.print(
            f"── message {number}/{len(prepared.messages)} · {telegram_length(message)}/{TELEGRAM_LIMIT} characters",
            markup=False,
        )
        click.echo(to_plain(message) + "\n")


def _print_report(report: DeliveryReport) -> None:
    out.print(
        f"delivered: {report.sent} sent, {report.failed} failed, {report.pending} still pending"
        + (f" ({report.retries} retries)" if report.retries else ""),
        markup=False,
    )
    for channel_id, error in report.errors.items():
        err.print(f"pressbot: {channel_id}: {error}", markup=False)


@click.command()
@click.option(
    "--channel", "channel_id", metavar="ID", help="Only this channel of sources.yaml (default: all)."
)
@click.option("--since", metavar="WHEN", help="Stories new since: ISO date/time or a duration (24h, 7d).")
@click.option(
    "--hours", type=click.IntRange(1, 24 * 90), metavar="N", help="Stories new in the last N hours."
)
@click.option(
    "--topic", metavar="ID", help="Only stories matching this topic (instead of the channel's topics)."
)
@click.option("--lang", type=click.Choice(LANGUAGES), help="Preview in this language (printing only).")
@click.option("--post", is_flag=True, help="Queue the digest in the outbox and send it to the channel.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
@handle_errors
def digest(
    obj: Context,
    channel_id: str | None,
    since: str | None,
    hours: int | None,
    topic: str | None,
    lang: str | None,
    post: bool,
    as_json: bool,
) -> None:
    """Print a channel's digest exactly as Telegram would show it, or post it with --post.

    Without --since/--hours a digest covers what is new since the channel's last digest (the
    last 24 hours the first time); only that regular digest moves the channel's last digest
    time on. Posting stores the messages in the outbox first, so nothing is lost if sending
    stops half-way: `pressbot outbox send` finishes it.
    """
    if since and hours:
        raise click.UsageError("give --since or --hours, not both.")
    if post and lang:
        raise click.UsageError("--lang only previews; a channel is posted in its own language.")
    if post and not obj.settings.telegram_token:
        raise ConfigError(
            "PRESSBOT_TELEGRAM_TOKEN is not set — create a bot with @BotFather and set it to post digests "
            "(printing them needs no token). Nothing was queued."
        )
    config = obj.config()
    now = datetime.now(UTC)
    moment = parse_when(since, now=now) if since else (now - timedelta(hours=hours) if hours else None)
    channels = _channels(config, channel_id, post=post, language=lang)
    report: DeliveryReport | None = None
    with obj.archive() as archive:
        prepared = [
            prepare_digest(archive, config, DigestRequest(channel, moment, topic, lang), now=now)
            for channel in channels
        ]
        ids = [queue_digest(archive, p, now=now) if post else None for p in prepared]
        if post:
            report = asyncio.run(_deliver(obj.settings, archive, [c.id for c in channels]))
    if as_json:
        dump(
            {
                "digests": [_prepared_json(p, digest_id) for p, digest_id in zip(prepared, ids, strict=True)],
                "delivery": _report_json(report) if report else None,
            }
        )
    else:
        for item in prepared:
            _print_prepared(item)
        if report:
            _print_report(report)
    if report and (report.failed or report.pending):
        sys.exit(1)


# ----------------------------------------------------------------------------- outbox


def _message_json(message: OutboxMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "digest": message.digest_id,
        "channel": message.channel_id,
        "chat": message.chat,
        "part": message.part,
        "parts": message.parts,
        "status": message.status,
        "attempts": message.attempts,
        "created_at": iso(message.created_at),
        "attempted_at": iso(message.attempted_at),
        "sent_at": iso(message.sent_at),
        "telegram_message_id": message.telegram_message_id,
        "error": message.error,
    }


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
@handle_errors
def outbox(ctx: click.Context, as_json: bool) -> None:
    """Delivery status: each channel's last digest and errors, and messages pending or failed.

    `pressbot outbox send` sends what is pending; `pressbot outbox retry` puts failed messages
    back in line after the cause (bot removed, wrong chat) is fixed.
    """
    if ctx.invoked_subcommand is not None:
        return
    obj: Context = ctx.obj
    config = obj.config()
    with obj.archive() as archive:
        states = archive.channel_states()
        counts = archive.outbox_counts()
        messages = archive.outbox_messages(statuses=("pending", "sending", "failed"))
    ids = list(
        dict.fromkeys([c.id for c in config.channels] + sorted(states) + sorted({k[0] for k in counts}))
    )
    chats = {c.id: c.chat for c in config.channels}
    rows: list[dict[str, Any]] = []
    for channel_id in ids:
        state = states.get(channel_id)
        rows.append(
            {
                "channel": channel_id,
                "chat": chats.get(channel_id),
                "configured": channel_id in chats,
                "last_digest_at": iso(state.last_digest_at) if state else None,
                "last_sent_at": iso(state.last_sent_at) if state else None,
                **{
                    status: counts.get((channel_id, status), 0)
                    for status in ("pending", "sending", "sent", "failed")
                },
                "failures": state.failures if state else 0,
                "last_error": state.last_error if state and state.failures else None,
                "last_error_at": iso(state.last_error_at) if state and state.failures else None,
            }
        )
    if as_json:
        dump({"channels": rows, "messages": [_message_json(m) for m in messages]})
        return
    if not rows:
        err.print(
            "No channel and no message yet. Add 'channels:' to sources.yaml, then `pressbot digest --post`."
        )
        return
    table = Table(title="Channels", title_justify="left")
    for column in ("channel", "chat", "last digest", "last sent", "pending", "failed", "sent", "error"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["channel"] + ("" if row["configured"] else " (not in sources.yaml)"),
            row["chat"] or "",
            row["last_digest_at"] or "never",
            row["last_sent_at"] or "never",
            str(row["pending"] + row["sending"]),
            str(row["failed"]),
            str(row["sent"]),
            row["last_error"] or "",
        )
    out.print(table)
    if messages:
        listing = Table(title="Messages not sent", title_justify="left")
        for column in ("id", "channel", "chat", "part", "status", "attempts", "error"):
            listing.add_column(column, overflow="fold")
        for m in messages:
            listing.add_row(
                str(m.id),
                m.channel_id,
                m.chat,
                f"{m.part}/{m.parts}",
                m.status,
                str(m.attempts),
                m.error or "",
            )
        out.print(listing)


@outbox.command("send")
@click.option("--channel", "channel_id", metavar="ID", help="Only this channel's messages.")
@click.option("--json", "as_json", is_flag=True, help="Print the delivery report as JSON.")
@click.pass_obj
@handle_errors
def send(obj: Context, channel_id: str | None, as_json: bool) -> None:
    """Send the messages still pending (e.g. after an interrupted `pressbot digest --post`)."""
    if channel_id:
        obj.config().channel(channel_id)
    with obj.archive() as archive:
        report = asyncio.run(_deliver(obj.settings, archive, [channel_id] if channel_id else None))
    if as_json:
        dump(_report_json(report))
    else:
        _print_report(report)
    if report.failed or report.pending:
        sys.exit(1)


@outbox.command("retry")
@click.option("--channel", "channel_id", metavar="ID", help="Only this channel's messages.")
@click.pass_obj
@handle_errors
def retry(obj: Context, channel_id: str | None) -> None:
    """Put failed messages back in line, addressed to each channel's current chat in sources.yaml."""
    config = obj.config()
    channels = [config.channel(channel_id)] if channel_id else list(config.channels)
    with obj.archive() as archive:
        count = sum(archive.retry_failed(channel_id=c.id, chat=c.chat) for c in channels)
    out.print(
        f"{count} failed message(s) are pending again — send them with `pressbot outbox send`.", markup=False
    )


# ----------------------------------------------------------------------------- bot

log = logging.getLogger("pressbot.bot")


@click.command("bot")
@click.option(
    "--deliver-every",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    metavar="SECONDS",
    help="Send what the outbox holds (alerts, digests) every SECONDS; 0 never sends.",
)
@click.pass_obj
@handle_errors
def bot(obj: Context, deliver_every: float) -> None:
    """Run the Telegram bot in the foreground until Ctrl-C or SIGTERM: answer the press officers'
    commands (long polling) and send what the outbox holds.

    Only the users in PRESSBOT_TELEGRAM_OFFICERS / PRESSBOT_TELEGRAM_ADMINS and the members of the
    groups in PRESSBOT_TELEGRAM_CHATS may use the commands; /fetch runs a collection cycle and
    queues the alerts of topics marked `alert: true`.
    """
    settings = obj.settings
    if not settings.telegram_token:
        raise ConfigError(
            "PRESSBOT_TELEGRAM_TOKEN is not set — create a bot with @BotFather and put its token in the "
            "environment to run the bot."
        )
    config = obj.config()
    if not (settings.telegram_officers or settings.telegram_admins or settings.telegram_chats):
        err.print(
            "pressbot: warning: nobody may use the commands — set PRESSBOT_TELEGRAM_OFFICERS, "
            "PRESSBOT_TELEGRAM_ADMINS or PRESSBOT_TELEGRAM_CHATS.",
            markup=False,
        )
    # A service says what it does; -v adds the libraries too.
    logging.getLogger("pressbot").setLevel(logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per long poll otherwise
    with obj.archive() as archive:
        asyncio.run(_serve(settings, config, archive, deliver_every=deliver_every))
    err.print("pressbot: bot stopped.", markup=False)


async def _serve(settings: Settings, config: Config, archive: Archive, *, deliver_every: float) -> None:
    from pressbot.cli_translate import translator_for
    from pressbot.telegram.bot import build_application, run_bot

    async def collect() -> str:
        return await collect_and_alert(settings, config, archive)

    async def deliver_loop() -> None:
        while True:
            try:
                if await asyncio.to_thread(archive.open_messages):
                    report = await _deliver(settings, archive, None)
                    log.info(
                        "outbox: %d sent, %d failed, %d pending", report.sent, report.failed, report.pending
                    )
            except PressbotError as error:
                log.warning("outbox: %s", error)
            await asyncio.sleep(deliver_every)

    application = build_application(
        settings,
        config,
        archive,
        translator=lambda: translator_for(settings, config.glossary),
        collect=collect,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    log.info("bot running — Ctrl-C or SIGTERM stops it")
    await run_bot(application, stop=stop, background=[deliver_loop] if deliver_every else [])


async def collect_and_alert(settings: Settings, config: Config, archive: Archive) -> str:
    """One collection cycle over the enabled sources, then the alerts it calls for; a summary."""
    from pressbot.cli import _run_cycle  # (cli imports this module: import at call time)
    from pressbot.pipeline import cycle_summary
    from pressbot.telegram.alerts import queue_alerts

    started = datetime.now(UTC)
    sources = [source for source in config.sources if source.enabled]
    reports, _translation = await _run_cycle(settings, config, archive, sources, False)
    alerts = await asyncio.to_thread(queue_alerts, archive, config, since=started, now=datetime.now(UTC))
    summary = cycle_summary(reports)
    if alerts.total:
        summary += f" {alerts.total} alert(s) queued."
    return summary


def register(group: click.Group) -> None:
    group.add_command(digest)
    group.add_command(outbox)
    group.add_command(bot)
