"""`pressbot run`: the long-running service — scheduled collection, digests, alerts, the
translation backlog and the Telegram bot, in one process with one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Any

import click

from pressbot import logs
from pressbot.cli_common import Context, err, handle_errors
from pressbot.cli_translate import translator_for
from pressbot.config import Config, Settings
from pressbot.pipeline import dedup_settings
from pressbot.scheduler import RunOptions, Service, ServiceParts
from pressbot.store import Archive

log = logging.getLogger("pressbot.run")
BOT_RETRY_S = 60.0  # after the bot could not start (Telegram unreachable), try again this much later


@click.command("run")
@click.option(
    "--no-bot",
    is_flag=True,
    help="Do not answer commands, even with a token (digests and alerts still go out).",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default=None,
    help="One line per event as text or JSON (default: PRESSBOT_LOG_FORMAT, text).",
)
@click.pass_obj
@handle_errors
def run(obj: Context, no_bot: bool, log_format: str | None) -> None:
    """Run pressbot until Ctrl-C or SIGTERM: collect every enabled source at its interval, group
    and translate what is new, post each channel's digests on its schedule and the alerts at once,
    work through the translation backlog, and answer the press officers' commands.

    Without PRESSBOT_TELEGRAM_TOKEN it collects and archives only. `pressbot status` shows the
    next run of each job while it runs.
    """
    settings = obj.settings
    config = obj.config()  # a broken sources.yaml stops it here, before anything starts
    logs.configure(log_format or settings.log_format, verbose=logging.getLogger().level <= logging.INFO)
    if not settings.telegram_token:
        err.print(
            "pressbot: no PRESSBOT_TELEGRAM_TOKEN — collecting and archiving only; set it (a token from "
            "@BotFather) to post digests and answer commands.",
            markup=False,
        )
    with obj.archive() as archive:
        asyncio.run(_main(settings, config, archive, bot=not no_bot))
    err.print("pressbot: stopped.", markup=False)


def options_from(settings: Settings) -> RunOptions:
    return RunOptions(
        backlog_every=settings.backlog_interval,
        backlog_batch=settings.backlog_batch,
        grace=settings.shutdown_grace,
        catch_up=settings.digest_catch_up,
    )


async def _main(settings: Settings, config: Config, archive: Archive, *, bot: bool) -> None:
    from pressbot.cli_telegram import _deliver

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    token = bool(settings.telegram_token)

    async def deliver() -> Any:
        return await _deliver(settings, archive, None)

    service = Service(
        ServiceParts(
            settings=settings,
            config=config,
            archive=archive,
            translator_factory=lambda: translator_for(settings, config.glossary),
            dedup=dedup_settings(settings, config),
            deliver=deliver if token else None,
        ),
        options_from(settings),
    )
    tasks = [asyncio.create_task(service.run(stop), name="pressbot-service")]
    if token and bot:
        tasks.append(asyncio.create_task(_bot(settings, config, archive, service, stop), name="pressbot-bot"))
    await asyncio.gather(*tasks)


async def _bot(
    settings: Settings, config: Config, archive: Archive, service: Service, stop: asyncio.Event
) -> None:
    """The bot, in the same loop; if Telegram cannot be reached it tries again, and collection goes on."""
    from pressbot.telegram.bot import build_application, run_bot

    while not stop.is_set():
        application = build_application(
            settings,
            config,
            archive,
            translator=service.translator,  # one set of loaded models for the jobs and the bot
            collect=service.collect_now,
            status=service.status,
        )
        try:
            await run_bot(application, stop=stop)
            return
        except Exception as error:  # the edge: the bot failing must not stop collection
            reason = str(error).replace(settings.telegram_token.reveal(), "<token>")
            log.error(
                "the bot could not run (%s: %s) — trying again in %.0fs",
                type(error).__name__,
                reason,
                BOT_RETRY_S,
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=BOT_RETRY_S)


def register(group: click.Group) -> None:
    group.add_command(run)
