"""`pressbot sources import FILE.opml` and `pressbot sources export [FILE]`: feeds in and out as OPML."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from pressbot import opml
from pressbot.cli_common import Context, dump, handle_errors, out
from pressbot.config import Config, load_config
from pressbot.errors import ConfigError
from pressbot.models import LANGUAGES


def _current(obj: Context) -> tuple[Config, str]:
    """The sources file and its text; a missing file is an empty one (an import can create it)."""
    path = obj.settings.sources
    if not path.exists():
        return Config(path=path, sources=()), ""
    return load_config(path), path.read_text(encoding="utf-8")


def _outline_json(outline: opml.Outline, key: str, why: str) -> dict[str, Any]:
    return {"url": outline.url, "title": outline.title, key: why}


@click.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True), metavar="FILE.opml")
@click.option(
    "--language",
    type=click.Choice(LANGUAGES),
    help="Language of the feeds whose outline has no 'language' attribute (default: detect per article).",
)
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
@handle_errors
def import_opml(obj: Context, file: Path, language: str | None, dry_run: bool, as_json: bool) -> None:
    """Add the feeds of an OPML file (from any feed reader) to sources.yaml.

    Feeds already in sources.yaml (same URL) are skipped; outlines pressbot cannot use are listed
    as invalid. New entries are appended to the 'sources:' list as text — comments and order
    stay — and the whole file is checked before it is replaced in one step: on any error,
    nothing changes.
    """
    config, text = _current(obj)
    outlines = opml.parse_opml(file.read_bytes(), name=str(file))
    plan = opml.plan_import(config, outlines, language=language)
    new_text = opml.import_text(config, text, plan)
    written = bool(plan.added) and not dry_run
    if written:
        opml.write_atomically(config.path, new_text)
    if as_json:
        dump(
            {
                "file": str(config.path),
                "added": plan.added,
                "skipped": [_outline_json(o, "reason", why) for o, why in plan.skipped],
                "invalid": [_outline_json(o, "error", why) for o, why in plan.invalid],
                "written": written,
            }
        )
        return
    for entry in plan.added:
        out.print(f"added    {entry['id']}  {entry['url']}", markup=False)
    for outline, why in plan.skipped:
        out.print(f"skipped  {outline.url} — {why}", markup=False)
    for outline, why in plan.invalid:
        out.print(f"invalid  {outline.url} — {why}", markup=False)
    summary = f"{len(plan.added)} added, {len(plan.skipped)} skipped, {len(plan.invalid)} invalid"
    if written:
        out.print(f"{summary} — {config.path} updated.", markup=False)
    elif dry_run and plan.added:
        out.print(f"{summary} — dry run: {config.path} not changed.", markup=False)
    else:
        out.print(f"{summary} — {config.path} not changed.", markup=False)


@click.command("export")
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False), metavar="[FILE]")
@click.pass_obj
@handle_errors
def export_opml(obj: Context, file: Path | None) -> None:
    """Write the enabled feed sources as OPML 2.0 (to FILE, or to standard output).

    Listing pages and JSON endpoints are not feeds and are left out.
    """
    config = obj.config()
    feeds = [s for s in config.sources if s.enabled and s.kind == "feed"]
    if not feeds:
        raise ConfigError(f"{config.path} has no enabled feed source to export.")
    data = opml.export_opml(feeds, title=f"pressbot feeds ({config.path.name})", now=datetime.now(UTC))
    if file is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    opml.write_atomically(file, data.decode("utf-8"))
    click.echo(f"{len(feeds)} feeds written to {file}", err=True)


def register(group: click.Group) -> None:
    group.add_command(import_opml)
    group.add_command(export_opml)
