"""What every `pressbot` command shares: the context, error handling, consoles and formatting."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TypeVar

import click
from rich.console import Console

from pressbot.config import Config, Settings, load_config
from pressbot.errors import ConfigError, PressbotError
from pressbot.store import Archive, QuerySyntaxError
from pressbot.timefmt import span

F = TypeVar("F", bound=Callable[..., Any])
# Piped output (scripts, logs, CI) gets wide tables instead of rich's 80-column default.
out = Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False)


@dataclass
class Context:
    settings: Settings

    def config(self) -> Config:
        return load_config(self.settings.sources)

    def archive(self) -> Archive:
        return Archive.open(self.settings.storage)


def handle_errors(function: F) -> F:
    """Turn PressbotErrors into one line on stderr and an exit code."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except (ConfigError, QuerySyntaxError) as error:
            click.echo(f"pressbot: error: {error}", err=True)
            sys.exit(2)
        except PressbotError as error:
            click.echo(f"pressbot: error: {error}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def short_error(message: str | None, url: str) -> str:
    """An error for a table cell: the source's own URL prefix is noise there."""
    if not message:
        return ""
    return message.removeprefix(f"{url}: ")[:200]


def ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    return f"{span((now - moment).total_seconds())} ago"


def dump(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))
