"""The ``pressbot`` command: collect, inspect sources, search and read the archive.

Errors become output here and only here: a PressbotError prints one line on stderr
(``pressbot: error: …``) and exits 2 for configuration/usage problems, 1 otherwise.
"""

from __future__ import annotations

import asyncio
import csv
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pressbot import __version__, cli_translate
from pressbot.cli_common import Context, ago, dump, err, handle_errors, iso, out, short_error
from pressbot.cluster import StoryClusterer
from pressbot.config import Config, Settings, load_settings, parse_when
from pressbot.errors import ConfigError, PressbotError
from pressbot.fetch import Fetcher, FetchOptions
from pressbot.leads import lead_text
from pressbot.models import LANGUAGES, Article, Source, SourceReport, SourceState, Story
from pressbot.pipeline import Collector, TranslationReport, check_source, dedup_settings
from pressbot.store import Archive, SearchQuery
from pressbot.store.search import any_of


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--sources",
    "sources_path",
    type=click.Path(path_type=Path),
    help="sources.yaml to use [env PRESSBOT_SOURCES; default ./sources.yaml].",
)
@click.option(
    "--storage",
    type=click.Path(path_type=Path),
    help="Archive folder [env PRESSBOT_STORAGE; default ./storage].",
)
@click.option("-v", "--verbose", is_flag=True, help="Log what happens (to stderr).")
@click.version_option(__version__, prog_name="pressbot")
@click.pass_context
@handle_errors
def main(ctx: click.Context, sources_path: Path | None, storage: Path | None, verbose: bool) -> None:
    """pressbot — multilingual (zh/it/en) press monitoring.

    Collects the outlets in sources.yaml into a searchable archive in storage/.
    """
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    ctx.obj = Context(load_settings(os.environ, sources=sources_path, storage=storage))


# ----------------------------------------------------------------------------- fetch


def _select(config: Config, ids: Sequence[str]) -> list[Source]:
    if ids:
        return [config.source(source_id) for source_id in ids]
    enabled = [source for source in config.sources if source.enabled]
    if not enabled:
        raise ConfigError(f"{config.path} has no enabled source — add one under 'sources:' (see the README).")
    return enabled


async def _run_cycle(
    settings: Settings, config: Config, archive: Archive, sources: list[Source], show_progress: bool
) -> tuple[list[SourceReport], TranslationReport]:
    translator = cli_translate.translator_for(settings, config.glossary)
    async with Fetcher(FetchOptions.from_settings(settings)) as fetcher:
        collector = Collector(archive=archive, fetcher=fetcher)
        try:
            with Progress(
                TextColumn("[bold]collecting"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=err,
                transient=True,
                disable=not show_progress,
            ) as progress:
                task = progress.add_task("", total=len(sources))
                reports = await collector.run_cycle(
                    sources,
                    progress=lambda report: progress.update(task, advance=1, description=report.source_id),
                )
                progress.update(task, description="translating new titles and leads")
                translation = await collector.translate(translator)
                progress.update(task, description="grouping new articles into stories")
                clusterer = StoryClusterer(
                    archive, settings=dedup_settings(settings, config), translator=translator
                )
                await collector.cluster(clusterer)
                return reports, translation
        finally:
            collector.close()


def _report_json(report: SourceReport) -> dict[str, Any]:
    return {
        "source": report.source_id,
        "new": report.new,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "not_modified": report.not_modified,
        "failed": report.failed,
        "errors": list(report.errors),
        "seconds": report.seconds,
    }


def _report_table(reports: list[SourceReport], urls: dict[str, str]) -> Table:
    table = Table(title="Collection cycle", title_justify="left")
    for column in ("source", "new", "updated", "unchanged", "status"):
        table.add_column(column, justify="right" if column in ("new", "updated", "unchanged") else "left")
    for r in reports:
        if r.failed:
            status = f"[red]error[/red]: {short_error(r.errors[0], urls[r.source_id])}"
        elif r.not_modified:
            status = "not modified (304)"
        else:
            status = "ok" + (f" [yellow]({len(r.errors)} article pages failed)[/yellow]" if r.errors else "")
        table.add_row(r.source_id, str(r.new), str(r.updated), str(r.unchanged), status)
    total = [sum(getattr(r, k) for r in reports) for k in ("new", "updated", "unchanged")]
    failed = sum(r.failed for r in reports)
    table.add_row(
        "[bold]total",
        *(f"[bold]{n}" for n in total),
        f"{len(reports) - failed} ok, {failed} failed",
        end_section=True,
    )
    return table


@main.command()
@click.argument("source_ids", nargs=-1, metavar="[SOURCE_ID]...")
@click.option("--json", "as_json", is_flag=True, help="Print the per-source results as JSON.")
@click.pass_obj
@handle_errors
def fetch(obj: Context, source_ids: tuple[str, ...], as_json: bool) -> None:
    """Run one collection cycle (all enabled sources, or the ones named) and report per source.

    New articles' titles and leads are then translated into the other languages the installed
    models reach (a summary goes to stderr), and grouped into stories.

    A cycle in which some sources fail still exits 0: the failures are listed and recorded
    (see `pressbot sources`).
    """
    config = obj.config()
    sources = _select(config, source_ids)
    with obj.archive() as archive:
        reports, translation = asyncio.run(
            _run_cycle(obj.settings, config, archive, sources, show_progress=err.is_terminal and not as_json)
        )
    if as_json:
        dump([_report_json(r) for r in reports])
    else:
        out.print(_report_table(reports, {s.id: s.url for s in sources}))
        if translation.articles:
            for line in cli_translate.translation_summary(translation):
                err.print(line, markup=False)


# ----------------------------------------------------------------------------- sources


def _source_json(source: Source, state: SourceState) -> dict[str, Any]:
    return {
        "id": source.id,
        "name": source.name,
        "kind": source.kind,
        "url": source.url,
        "language": source.language,
        "interval": source.interval_s,
        "enabled": source.enabled,
        "full_text": source.full_text,
        "articles": state.articles,
        "last_attempt": iso(state.last_attempt),
        "last_success": iso(state.last_success),
        "failures": state.failures,
        "last_error": state.last_error,
        "last_error_at": iso(state.last_error_at),
    }


async def _check_all(settings: Settings, sources: list[Source]) -> list[tuple[int, str | None]]:
    async with Fetcher(FetchOptions.from_settings(settings)) as fetcher:
        return list(await asyncio.gather(*(check_source(source, fetcher) for source in sources)))


@main.group(invoke_without_command=True)
@click.option("--check", is_flag=True, help="Try each enabled source once now (nothing is stored).")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
@handle_errors
def sources(ctx: click.Context, check: bool, as_json: bool) -> None:
    """List the sources with their health: last success, consecutive failures, last error.

    `pressbot sources import FILE.opml` adds feeds from a feed reader; `pressbot sources export`
    writes the enabled feeds as OPML.
    """
    if ctx.invoked_subcommand is not None:
        return
    obj: Context = ctx.obj
    config = obj.config()
    with obj.archive() as archive:
        states = archive.source_states()
    rows = [_source_json(s, states.get(s.id, SourceState(source_id=s.id))) for s in config.sources]
    if check:
        checked = [s for s in config.sources if s.enabled]
        results = dict(
            zip((s.id for s in checked), asyncio.run(_check_all(obj.settings, checked)), strict=True)
        )
        for row in rows:
            if row["id"] in results:
                row["check_items"], row["check_error"] = results[row["id"]]
    if as_json:
        dump(rows)
        return
    now = datetime.now(UTC)
    table = Table(title=f"Sources in {config.path}", title_justify="left")
    for column in ("id", "lang", "kind", "every", "articles", "last success", "failures"):
        table.add_column(
            column, no_wrap=True, justify="right" if column in ("articles", "failures") else "left"
        )
    table.add_column("last error", overflow="fold", ratio=1)
    if check:
        table.add_column("check now", overflow="fold")
    for source, row in zip(config.sources, rows, strict=True):
        state = states.get(source.id, SourceState(source_id=source.id))
        cells = [
            source.id if source.enabled else f"[dim]{source.id} (disabled)[/dim]",
            source.language or "detect",
            source.kind,
            f"{source.interval_s // 60}m" if source.interval_s >= 60 else f"{source.interval_s}s",
            str(state.articles),
            ago(state.last_success, now),
            f"[red]{state.failures}[/red]" if state.failures else "0",
            short_error(state.last_error, source.url),
        ]
        if check:
            cells.append(
                ""
                if "check_items" not in row
                else (
                    f"[red]{row['check_error']}[/red]"
                    if row["check_error"]
                    else f"ok, {row['check_items']} items"
                )
            )
        table.add_row(*cells)
    out.print(table)


# ----------------------------------------------------------------------------- archive


@main.group()
def archive() -> None:
    """Search and read the archive."""


def _hit_json(article: Article, *, body: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": article.id,
        "source": article.source_id,
        "language": article.language,
        "title": article.title,
        "url": article.url,
        "published_at": iso(article.published_at),
        "fetched_at": iso(article.fetched_at),
        "summary": article.summary,
    }
    if body:
        data |= {
            "body": article.body,
            "original_url": article.original_url,
            "guid": article.guid,
            "authors": list(article.authors),
            "updated_at": iso(article.updated_at),
            "revision": int(article.extra.get("revision", "1")),
        }
    return data


@archive.command()
@click.argument("query")
@click.option("--lang", type=click.Choice(LANGUAGES), help="Only articles in this language.")
@click.option("--source", "source_id", metavar="ID", help="Only articles from this source.")
@click.option(
    "--since",
    metavar="WHEN",
    help="Published since: ISO date/time or a duration back from now (90m, 24h, 7d).",
)
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="Most hits shown.")
@click.option(
    "--sort",
    type=click.Choice(["recent", "relevance"]),
    default="recent",
    show_default=True,
    help="Order of hits.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option(
    "--stories", "one_per_story", is_flag=True, help="One hit per story (the best-placed article of each)."
)
@click.pass_obj
@handle_errors
def search(
    obj: Context,
    query: str,
    lang: str | None,
    source_id: str | None,
    since: str | None,
    limit: int,
    sort: str,
    fmt: str,
    as_json: bool,
    one_per_story: bool,
) -> None:
    """Full-text search in Chinese, Italian and English.

    QUERY words are all required; "quoted words" form a phrase; word* is a prefix; -word
    excludes. Chinese needs no spaces: 深圳 finds 深圳市.
    """
    request = SearchQuery(
        text=query,
        language=lang,
        source_id=source_id,
        since=parse_when(since, now=datetime.now(UTC)) if since else None,
        limit=limit * 5 if one_per_story else limit,
        sort="relevance" if sort == "relevance" else "recent",
    )
    with obj.archive() as store:
        hits = store.search(request)
        story_of = store.story_of(hit.id for hit in hits if hit.id is not None)
    if one_per_story:
        hits = _one_per_story(hits, story_of)[:limit]
    fmt = "json" if as_json else fmt
    if fmt == "json":
        dump([_hit_json(hit) | {"story": story_of.get(hit.id or 0)} for hit in hits])
    elif fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(["id", "source", "language", "published_at", "title", "url"])
        for hit in hits:
            writer.writerow(
                [hit.id, hit.source_id, hit.language, iso(hit.published_at) or "", hit.title, hit.url]
            )
    elif not hits:
        err.print(
            f"No article matches {query!r}. Try fewer words, another language, or a longer --since.",
            markup=False,
        )
    else:
        table = Table(title=f"{len(hits)} hits for {query!r}", title_justify="left")
        for column in ("id", "date", "source", "lang", "title"):
            table.add_column(column, overflow="fold")
        for hit in hits:
            when = hit.published_at or hit.fetched_at
            table.add_row(
                str(hit.id),
                when.strftime("%Y-%m-%d %H:%M") if when else "",
                hit.source_id,
                hit.language,
                hit.title,
            )
        out.print(table)


def _one_per_story(hits: list[Article], story_of: dict[int, int]) -> list[Article]:
    seen: set[int] = set()
    kept = []
    for hit in hits:
        story = story_of.get(hit.id or 0)
        if story is None or story not in seen:
            kept.append(hit)
            if story is not None:
                seen.add(story)
    return kept


@archive.command()
@click.argument("article_id", type=int, metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON (with the body).")
@click.pass_obj
@handle_errors
def show(obj: Context, article_id: int, as_json: bool) -> None:
    """Show one archived article with its full text, and its machine-translated title and lead."""
    with obj.archive() as store:
        article = store.get(article_id)
        translations = _translations(store, article) if article is not None else {}
    if article is None:
        raise PressbotError(
            f"no article {article_id} in the archive — find ids with `pressbot archive search`."
        )
    if as_json:
        dump(_hit_json(article, body=True) | {"translations": translations})
        return
    when = article.published_at or article.fetched_at
    out.print(f"[bold]{article.title}[/bold]", markup=True)
    out.print(
        f"{article.source_id} · {article.language} · {when:%Y-%m-%d %H:%M} UTC"
        if when
        else article.source_id,
        markup=False,
    )
    out.print(article.url, markup=False)
    out.print()
    out.print(
        article.body or article.summary or "(no text archived — the feed gave only a title)", markup=False
    )
    for language, translated in translations.items():
        out.print()
        out.print(f"[{language}] machine-translated ({translated['model']})", style="dim", markup=False)
        out.print(translated["title"], style="bold", markup=False)
        if translated["summary"]:
            out.print(translated["summary"], markup=False)


def _translations(store: Archive, article: Article) -> dict[str, dict[str, str]]:
    """Language → {title, summary, model}: the article's title and lead as cached by translation
    (the newest translation of each, whatever the model)."""
    title, lead = article.title, lead_text(article)
    found = store.latest_translations([title, lead], source=article.language)
    translations: dict[str, dict[str, str]] = {}
    for language in LANGUAGES:
        texts = found.get(language, {}) if language != article.language else {}
        title_pair, lead_pair = texts.get(title), texts.get(lead)
        if title_pair is None and lead_pair is None:
            continue
        translations[language] = {
            "title": title_pair[0] if title_pair else "",
            "summary": lead_pair[0] if lead_pair else "",
            "model": (title_pair or lead_pair or ("", ""))[1],
        }
    return translations


# ----------------------------------------------------------------------------- stories


def _story_json(story: Story) -> dict[str, Any]:
    return {
        "id": story.id,
        "first_seen": iso(story.first_seen),
        "last_seen": iso(story.last_seen),
        "articles": [
            {
                "id": a.id,
                "source": a.source_id,
                "language": a.language,
                "title": a.title,
                "url": a.url,
                "published_at": iso(a.published_at),
                "reason": story.reasons.get(a.id or 0, ""),
            }
            for a in story.articles
        ],
        "languages": story.languages,
        "outlets": story.outlets,
        "representatives": {
            language: article.id
            for language in story.languages
            if (article := story.representative(language)) is not None
        },
    }


def _coverage(story: Story) -> str:
    outlets = ", ".join(f"{o} ×{n}" if n > 1 else o for o, n in story.outlets.items())
    languages = " · ".join(f"{lang} {n}" for lang, n in story.languages.items())
    return f"{outlets} — {languages}"


def _topic_articles(obj: Context, store: Archive, topic_id: str, since: Any) -> list[int]:
    config = obj.config()
    topic = config.topic(topic_id)
    keywords = [word for words in topic.keywords.values() for word in words]
    hits = store.search(SearchQuery(text="", raw_match=any_of(keywords), since=since, limit=10000))
    return [hit.id for hit in hits if hit.id is not None]


@main.group(invoke_without_command=True)
@click.option("--since", metavar="WHEN", help="Stories seen since: ISO date/time or a duration (24h, 7d).")
@click.option("--topic", metavar="ID", help="Only stories matching a topic of sources.yaml.")
@click.option("--lang", type=click.Choice(LANGUAGES), help="Only stories with an article in this language.")
@click.option(
    "--limit", type=click.IntRange(1, 1000), default=30, show_default=True, help="Most stories listed."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.pass_context
@handle_errors
def stories(
    ctx: click.Context, since: str | None, topic: str | None, lang: str | None, limit: int, fmt: str
) -> None:
    """Stories: the same event across outlets and languages, with their coverage.

    `pressbot stories show ID` shows one story's articles side by side.
    """
    if ctx.invoked_subcommand is not None:
        return
    obj: Context = ctx.obj
    moment = parse_when(since, now=datetime.now(UTC)) if since else None
    with obj.archive() as store:
        article_ids = _topic_articles(obj, store, topic, moment) if topic else None
        found = store.stories(since=moment, language=lang, article_ids=article_ids, limit=limit)
    if fmt == "json":
        dump([_story_json(story) for story in found])
        return
    if not found:
        err.print("No story matches. Run `pressbot fetch` first, or widen --since.", markup=False)
        return
    table = Table(title=f"{len(found)} stories", title_justify="left")
    for column in ("id", "first seen", "headline", "coverage"):
        table.add_column(column, overflow="fold", no_wrap=column in ("id", "first seen"))
    for story in found:
        lead = story.articles[0]
        table.add_row(
            str(story.id),
            f"{story.first_seen:%Y-%m-%d %H:%M}",
            f"[{lead.language}] {lead.title}",
            _coverage(story),
        )
    out.print(table)


@stories.command("show")
@click.argument("story_id", type=int, metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
@handle_errors
def show_story(obj: Context, story_id: int, as_json: bool) -> None:
    """One story's articles side by side, with why each joined."""
    with obj.archive() as store:
        story = store.story(story_id)
    if story is None:
        raise PressbotError(f"no story {story_id} in the archive — list them with `pressbot stories`.")
    if as_json:
        dump(_story_json(story))
        return
    out.print(
        f"[bold]Story {story.id}[/bold] · first seen {story.first_seen:%Y-%m-%d %H:%M} UTC · {_coverage(story)}"
    )
    table = Table(show_lines=True)
    for column in ("article", "when", "outlet", "lang", "headline", "why"):
        table.add_column(column, overflow="fold")
    for article in story.articles:
        when = article.published_at or article.fetched_at
        table.add_row(
            str(article.id),
            f"{when:%m-%d %H:%M}" if when else "",
            article.source_id,
            article.language,
            f"{article.title}\n[dim]{article.url}[/dim]",
            story.reasons.get(article.id or 0, ""),
        )
    out.print(table)


cli_translate.register(main)
from pressbot import cli_telegram  # noqa: E402  (its commands, registered like cli_translate's)

cli_telegram.register(main)
from pressbot import cli_demo, cli_run, cli_sources, cli_status  # noqa: E402  (registered like cli_translate's)

cli_demo.register(main)
cli_run.register(main)
cli_sources.register(sources)
cli_status.register(main)
