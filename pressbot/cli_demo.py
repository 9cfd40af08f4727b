"""`pressbot demo`: the whole product on a fresh machine — no internet, no token, no models needed.

It serves the bundled sample outlets (:mod:`pressbot.demo`) from 127.0.0.1, collects them with
the same cycle as `pressbot fetch` (fetch → parse → normalize → store → translate → stories)
into a temporary archive (or ``--storage DIR``), and prints the digest exactly as a channel
would receive it — or, with ``--post``, queues it in the outbox and sends it to ``--chat``.
"""

from __future__ import annotations

import asyncio
import tempfile
from contextlib import ExitStack
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import click

from pressbot import cli_translate
from pressbot.channels import Channel
from pressbot.cli_common import Context, dump, handle_errors
from pressbot.config import load_config
from pressbot.demo import DemoServer, sources_yaml
from pressbot.errors import ConfigError
from pressbot.models import LANGUAGES, SourceReport
from pressbot.store import Archive
from pressbot.telegram.service import DigestRequest, prepare_digest, queue_digest

# The channel's time zone follows its language, so the "first seen" times look local.
ZONES = {"en": "UTC", "it": "Europe/Rome", "zh": "Asia/Shanghai"}
PLACEHOLDER_CHAT = "@pressbot_demo"


def _say(message: str) -> None:
    click.echo(message, err=True)  # plain lines: rich would wrap them at 80 columns


def _collection_line(reports: list[SourceReport]) -> str:
    new = sum(r.new + r.updated + r.unchanged for r in reports)
    failed = [r for r in reports if r.failed]
    line = f"collected {new} articles from {len(reports) - len(failed)} of {len(reports)} sample outlets"
    for report in failed:
        line += f"\n  {report.source_id} failed: {report.errors[0]}"
    return line


def _stories_line(archive: Archive) -> str:
    found = archive.stories(limit=1000)
    shared = [s for s in found if len(s.articles) > 1]
    across = [s for s in shared if len(s.languages) > 1]
    return (
        f"grouped them into {len(found)} stories: {len(shared)} covered by more than one article, "
        f"{len(across)} across languages (`pressbot stories` lists them)"
    )


@click.command()
@click.option(
    "--lang",
    type=click.Choice(LANGUAGES),
    default="en",
    show_default=True,
    help="Language of the digest's headlines (the demo channel's language).",
)
@click.option(
    "--storage",
    "demo_storage",
    type=click.Path(path_type=Path, file_okay=False),
    metavar="DIR",
    help="Keep the demo's archive and sources.yaml in DIR (default: a temporary folder, removed afterwards).",
)
@click.option(
    "--post",
    is_flag=True,
    help="Queue the digest in the outbox and send it to --chat (needs PRESSBOT_TELEGRAM_TOKEN).",
)
@click.option("--chat", metavar="CHAT", help="With --post: the channel or group, @username or numeric id.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print the digest as JSON (as `pressbot digest --json`)."
)
@click.pass_obj
@handle_errors
def demo(
    obj: Context, lang: str, demo_storage: Path | None, post: bool, chat: str | None, as_json: bool
) -> None:
    """Show pressbot working end to end on bundled sample outlets, offline.

    Invented zh/it/en outlets covering the same events are served from 127.0.0.1, collected,
    translated with whatever models are installed, grouped into stories, and the digest is
    printed as the channel would receive it. Nothing outside the demo's folder is changed.
    """
    # Local imports: cli.py registers this module, and these helpers live beside it.
    from pressbot.cli import _run_cycle
    from pressbot.cli_telegram import _deliver, _prepared_json, _print_prepared, _print_report

    if chat and not post:
        raise click.UsageError("--chat goes with --post.")
    if post and not chat:
        raise click.UsageError("--post needs --chat: the @channel (or numeric chat id) to post to.")
    if post and not obj.settings.telegram_token:
        raise ConfigError(
            "PRESSBOT_TELEGRAM_TOKEN is not set — create a bot with @BotFather, add it to the channel as an "
            "admin, and set the token to post (the demo prints the digest without one)."
        )
    models = obj.settings.models_dir  # the installed models, wherever the real archive keeps them
    with ExitStack() as stack:
        if demo_storage is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pressbot-demo-")))
        else:
            folder = demo_storage
            folder.mkdir(parents=True, exist_ok=True)
        server = stack.enter_context(DemoServer())
        sources_path = folder / "sources.yaml"
        sources_path.write_text(
            sources_yaml(server.base_url, chat=chat or PLACEHOLDER_CHAT, language=lang, timezone=ZONES[lang]),
            encoding="utf-8",
        )
        settings = replace(obj.settings, sources=sources_path, storage=folder, models=models)
        config = load_config(sources_path)
        _say(
            f"pressbot demo: serving {len(config.sources)} invented outlets (zh, it, en) on {server.base_url}"
        )
        archive = stack.enter_context(Archive.open(folder))
        reports, translation = asyncio.run(
            _run_cycle(settings, config, archive, list(config.sources), show_progress=False)
        )
        _say(_collection_line(reports))
        for line in cli_translate.translation_summary(translation):
            _say(line)
        _say(_stories_line(archive))
        channel: Channel = config.channels[0]
        now = datetime.now(UTC)
        prepared = prepare_digest(archive, config, DigestRequest(channel), now=now)
        digest_id = queue_digest(archive, prepared, now=now) if post else None
        report = asyncio.run(_deliver(settings, archive, [channel.id])) if post else None
        if as_json:
            dump(_prepared_json(prepared, digest_id))
        elif report is None:
            _say("the digest, exactly as the channel would receive it:\n")
            _print_prepared(prepared)
        if report is not None:
            _print_report(report)
        if demo_storage is None:
            _say(
                "The demo's archive was temporary. Keep it with `pressbot demo --storage DIR`, then explore it "
                "with `pressbot --storage DIR --sources DIR/sources.yaml stories`."
            )
        else:
            _say(
                f"Explore the demo's archive: `pressbot --storage {folder} --sources {sources_path} stories`."
            )
    if report is not None and (report.failed or report.pending):
        raise SystemExit(1)


def register(group: click.Group) -> None:
    group.add_command(demo)
