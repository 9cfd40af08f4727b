"""`pressbot models …` and `pressbot translate …`: offline translation packages and translations."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from pressbot.cli_common import Context, dump, err, handle_errors, out
from pressbot.config import Settings
from pressbot.errors import PressbotError
from pressbot.models import LANGUAGES
from pressbot.normalize import detect_language
from pressbot.pipeline import translate_cached
from pressbot.translate.engine import EngineOptions, Translator
from pressbot.translate.packages import (
    ModelPackage,
    install_from_index,
    install_package,
    installed_packages,
    remove_package,
)


def translator_for(settings: Settings) -> Translator:
    options = EngineOptions(
        device=settings.translate_device,
        beam_size=settings.translate_beam,
        intra_threads=settings.translate_threads,
    )
    return Translator(settings.models_dir, options)


def _package_json(package: ModelPackage) -> dict[str, Any]:
    return {
        "from": package.source,
        "to": package.target,
        "version": package.version,
        "package": package.package_id,
        "size_bytes": package.size_bytes,
        "path": str(package.path),
    }


@click.group()
def models() -> None:
    """Translation models (Argos Translate packages): list, install, remove."""


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
@handle_errors
def list_models(obj: Context, as_json: bool) -> None:
    """The installed language pairs, with version, size and folder."""
    packages = installed_packages(obj.settings.models_dir)
    if as_json:
        dump([_package_json(p) for p in packages])
        return
    if not packages:
        err.print(
            f"No translation model in {obj.settings.models_dir}. Install .argosmodel files with "
            "`pressbot models install PATH…` (or `--from-index zh it en` when online).",
            markup=False,
        )
        return
    table = Table(title=f"Translation models in {obj.settings.models_dir}", title_justify="left")
    for column in ("from", "to", "version", "size", "package"):
        table.add_column(column)
    for p in packages:
        table.add_row(p.source, p.target, p.version, f"{p.size_bytes / 1024**2:.1f} MB", p.package_id)
    out.print(table)


@models.command("install")
@click.argument("items", nargs=-1, metavar="PATH…|LANG…")
@click.option(
    "--from-index",
    "from_index",
    is_flag=True,
    help="Treat the arguments as languages and download their packages from the Argos index (needs the network).",
)
@click.pass_obj
@handle_errors
def install(obj: Context, items: tuple[str, ...], from_index: bool) -> None:
    """Install .argosmodel files (each checked first: a broken file changes nothing).

    `pressbot models install --from-index zh it en` downloads the packages between those
    languages from the Argos index instead (zh↔it then pivots through English).
    """
    if not items:
        raise click.UsageError(
            "give .argosmodel files, or --from-index with languages (e.g. --from-index zh it en)."
        )
    folder = obj.settings.models_dir
    if from_index:
        unknown = [item for item in items if item not in LANGUAGES]
        if unknown:
            raise click.UsageError(
                f"--from-index takes languages ({', '.join(LANGUAGES)}), not {', '.join(unknown)}."
            )
        installed = install_from_index(folder, list(items))
    else:
        installed = [install_package(folder, Path(item)) for item in items]
    for package in installed:
        out.print(
            f"installed {package.source}→{package.target} {package.version} ({package.package_id}) in {package.path}",
            markup=False,
        )


@models.command("remove")
@click.argument("source", type=click.Choice(LANGUAGES), metavar="FROM")
@click.argument("target", type=click.Choice(LANGUAGES), metavar="TO")
@click.pass_obj
@handle_errors
def remove(obj: Context, source: str, target: str) -> None:
    """Remove the FROM→TO package."""
    package = remove_package(obj.settings.models_dir, source, target)
    out.print(f"removed {package.source}→{package.target} {package.version}", markup=False)


@click.command()
@click.argument("text", required=False)
@click.option(
    "--article",
    "article_id",
    type=int,
    metavar="ID",
    help="Translate an archived article (title, lead and body) instead of TEXT.",
)
@click.option(
    "--from", "source", type=click.Choice(LANGUAGES), help="Language of TEXT (detected when omitted)."
)
@click.option(
    "--to", "target", type=click.Choice(LANGUAGES), required=True, help="Language to translate into."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the translation with its languages and model as JSON."
)
@click.pass_obj
@handle_errors
def translate(
    obj: Context, text: str | None, article_id: int | None, source: str | None, target: str, as_json: bool
) -> None:
    """Translate TEXT, or an archived article with --article ID, offline (zh↔it goes through English).

    Cached: the same text is never translated twice by the same model. The result is machine
    translation; JSON output says so and names the model that produced it.
    """
    if (text is None) == (article_id is None):
        raise click.UsageError("give either TEXT or --article ID.")
    translator = translator_for(obj.settings)
    now = datetime.now(UTC)
    with obj.archive() as archive:
        if article_id is not None:
            article = archive.get(article_id)
            if article is None:
                raise PressbotError(
                    f"no article {article_id} in the archive — find ids with `pressbot archive search`."
                )
            fields = {"title": article.title, "summary": article.summary, "body": article.body}
            result = translate_cached(
                translator, archive, list(fields.values()), source=article.language, target=target, now=now
            )
            translated = dict(zip(fields, result.texts, strict=True))
            if as_json:
                dump(
                    {
                        "article": article_id,
                        "from": article.language,
                        "to": target,
                        "model": result.model,
                        "machine_translated": True,
                        **translated,
                    }
                )
            else:
                click.echo("\n\n".join(part for part in translated.values() if part.strip()))
                err.print(f"(machine translation {article.language}→{target}, {result.model})", markup=False)
            return
        assert text is not None
        source = source or detect_language(text)
        result = translate_cached(translator, archive, [text], source=source, target=target, now=now)
    [translation] = result.texts
    if as_json:
        dump(
            {
                "from": source,
                "to": target,
                "text": text,
                "translation": translation,
                "model": result.model,
                "machine_translated": True,
                "cached": result.cached > 0,
            }
        )
    else:
        click.echo(translation)


def register(group: click.Group) -> None:
    group.add_command(models)
    group.add_command(translate)
