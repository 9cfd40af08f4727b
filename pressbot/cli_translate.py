"""`pressbot models …` and `pressbot translate …`: offline translation packages and translations."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pressbot.cli_common import Context, dump, err, handle_errors, out
from pressbot.config import Settings
from pressbot.errors import PressbotError, TranslateError
from pressbot.glossary import Glossary
from pressbot.models import LANGUAGES
from pressbot.normalize import detect_language
from pressbot.pipeline import TranslationReport, translate_backlog
from pressbot.translate.cached import translate_cached
from pressbot.translate.engine import EngineOptions, Translator
from pressbot.translate.packages import (
    ModelPackage,
    install_from_index,
    install_package,
    installed_packages,
    remove_package,
)


def translator_for(settings: Settings, glossary: Glossary | None = None) -> Translator:
    options = EngineOptions(
        device=settings.translate_device,
        beam_size=settings.translate_beam,
        intra_threads=settings.translate_threads,
    )
    return Translator(settings.models_dir, options, glossary=glossary)


def glossary_of(obj: Context) -> Glossary:
    """The glossary of sources.yaml; none when there is no sources file (translating a TEXT needs none)."""
    if not obj.settings.sources.exists():
        return Glossary()
    return obj.config().glossary


def install_hint(directions: Iterable[tuple[str, str]]) -> str:
    """The command that installs what these directions need (zh↔it through English)."""
    languages = {language for direction in directions for language in direction}
    if len(languages) > 1 and not {"zh", "it"} - languages:
        languages.add("en")
    ordered = [language for language in LANGUAGES if language in languages]
    return f"pressbot models install --from-index {' '.join(ordered)}"


def translation_summary(report: TranslationReport) -> list[str]:
    """Lines for a person: what was translated, what waits for a model, what failed."""
    lines = [
        f"{report.translated_articles} of {report.articles} articles got translated titles/leads: "
        f"{report.texts} texts translated, {report.cached} already cached."
    ]
    if report.unavailable:
        waiting = ", ".join(f"{s}→{t} ({n} articles)" for (s, t), n in sorted(report.unavailable.items()))
        lines.append(
            f"No model for {waiting}: install one with `{install_hint(report.unavailable)}` "
            "(or `pressbot models install PATH.argosmodel`), then run `pressbot translate --backlog`."
        )
    lines += [f"translation failed: {error}" for error in report.errors]
    return lines


def _report_json(report: TranslationReport) -> dict[str, Any]:
    return {
        "articles": report.articles,
        "translated_articles": report.translated_articles,
        "texts_translated": report.texts,
        "texts_cached": report.cached,
        "unavailable": [
            {"from": s, "to": t, "articles": n} for (s, t), n in sorted(report.unavailable.items())
        ],
        "install": install_hint(report.unavailable) if report.unavailable else None,
        "errors": report.errors,
    }


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
    "--backlog",
    is_flag=True,
    help="Translate the titles and leads of archived articles that still lack a translation a model can now make.",
)
@click.option(
    "--limit",
    type=click.IntRange(1),
    metavar="N",
    help="With --backlog: translate at most N articles (newest first).",
)
@click.option(
    "--from",
    "source",
    type=click.Choice(LANGUAGES),
    help="Language of TEXT (detected when omitted); with --backlog, only articles in this language.",
)
@click.option(
    "--to",
    "target",
    type=click.Choice(LANGUAGES),
    help="Language to translate into (required with TEXT and --article; with --backlog, only this one).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the translation with its languages and model as JSON."
)
@click.pass_obj
@handle_errors
def translate(
    obj: Context,
    text: str | None,
    article_id: int | None,
    backlog: bool,
    limit: int | None,
    source: str | None,
    target: str | None,
    as_json: bool,
) -> None:
    """Translate TEXT, an archived article with --article ID, or the backlog with --backlog,
    offline (zh↔it goes through English).

    Cached: the same text is never translated twice by the same model. The result is machine
    translation; JSON output says so and names the model that produced it.
    """
    if sum((text is not None, article_id is not None, backlog)) != 1:
        raise click.UsageError("give either TEXT, --article ID or --backlog.")
    if limit is not None and not backlog:
        raise click.UsageError("--limit goes with --backlog.")
    if backlog:
        _backlog(obj, source=source, target=target, limit=limit, as_json=as_json)
        return
    if target is None:
        raise click.UsageError("--to is required: the language to translate into (zh, it or en).")
    translator = translator_for(obj.settings, glossary_of(obj))
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


def _backlog(
    obj: Context, *, source: str | None, target: str | None, limit: int | None, as_json: bool
) -> None:
    """`pressbot translate --backlog`: titles and leads still missing, with a progress bar."""
    translator = translator_for(obj.settings, glossary_of(obj))
    if not translator.pairs():
        raise TranslateError(
            f"no translation model is installed in {obj.settings.models_dir}: install some with "
            f"`{install_hint([('zh', 'it')])}` or `pressbot models install PATH.argosmodel …`."
        )
    sources = [source] if source else list(LANGUAGES)
    targets = [target] if target else list(LANGUAGES)
    with obj.archive() as archive:
        total = archive.count_articles(languages=sources)
        with Progress(
            TextColumn("[bold]translating"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal or as_json,
        ) as progress:
            task = progress.add_task("", total=total)

            def advance(checked: int, running: TranslationReport) -> None:
                progress.update(
                    task,
                    completed=checked,
                    description=f"{running.translated_articles} articles, {running.texts} texts translated",
                )

            report = translate_backlog(
                translator,
                archive,
                sources=sources,
                targets=targets,
                limit=limit,
                now=datetime.now(UTC),
                progress=advance,
            )
    if as_json:
        dump(_report_json(report))
        return
    for line in translation_summary(report):
        out.print(line, markup=False)


def register(group: click.Group) -> None:
    group.add_command(models)
    group.add_command(translate)
