"""Ingest throughput benchmark: parse + normalize + store of 100,000 feed items, on one core.

Items come from the readable fixture feeds (``../shared/fixtures/feeds``: every file for which
``parse_feed`` finds at least one item). To get 100,000 *distinct* items, each feed is replayed
as copy K = 0, 1, 2, … with its bytes rewritten before parsing — ``?n=K`` (or ``&n=K``) added to
every ``<link>``, ``<guid>``, ``<id>`` and Atom ``href``, and `` #K`` to every ``<title>`` — so the
real ``parse_feed`` runs on real markup in its real encoding (GB2312 feeds stay GB2312; only ASCII
is inserted). Feeds are taken round-robin, so the mix follows the fixtures (about 60% English, 35%
Chinese, few Italian — the fixtures hold few Italian feeds).

Per document, as ``pipeline.Collector`` does per source:
``parse_feed(FetchedDocument)`` → ``normalize_entries(entries, Source(language=declared), now=…)`` for
each item → ``Archive.upsert(articles, now=…)`` into a fresh archive in a temp folder.
The rewriting is timed apart and excluded. Memory: ``ru_maxrss`` of the process over the run, and a
separate short pass under ``tracemalloc`` (it slows Python down, so it is not in the timed run).

Run: ``.venv/bin/python bench/bench_ingest.py [--quick]`` → table + ``bench/results/ingest.json``.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import logging
import re
import sqlite3
import tempfile
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
from _common import feeds_manifest, fixtures_root, maxrss_mib, table, write_result

from pressbot.errors import ParseError
from pressbot.models import LANGUAGES, FetchedDocument, Source
from pressbot.normalize import normalize_entries
from pressbot.parse import _utf8_feed_bytes, parse_feed
from pressbot.store import Archive

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
LINKISH_RE = re.compile(rb"(<(link|guid|id)\b[^>/]*>)(.*?)(</\2\s*>)", re.S | re.I)
HREF_RE = re.compile(rb"""(<link\b[^>]*?\bhref\s*=\s*)(["'])(.*?)(\2)""", re.S | re.I)
TITLE_RE = re.compile(rb"(<title\b[^>/]*>)(.*?)(</title\s*>)", re.S | re.I)
CDATA_END = b"]]>"


@dataclass(frozen=True)
class Feed:
    file: str
    raw: bytes
    source: Source
    items: int
    identities: int  # distinct article identities pressbot derives from the unmodified fixture


def _suffix_url(value: bytes, mark: bytes, *, cdata: bool) -> bytes:
    """``value`` with ``n=<mark>`` added to its query (before any ``#fragment``, which canonical URLs drop)."""
    text = value.rstrip()
    if not text:
        return value
    base, hash_, fragment = text.partition(b"#")
    joiner = b"&" if b"?" in base else b"?"
    if joiner == b"&" and not cdata:
        joiner = b"&amp;"
    return base + joiner + b"n=" + mark + hash_ + fragment + value[len(text) :]


def _suffix_inner(inner: bytes, mark: bytes, *, url: bool) -> bytes:
    if inner.rstrip().endswith(CDATA_END):
        head, _, tail = inner.rpartition(CDATA_END)
        body = _suffix_url(head, mark, cdata=True) if url else head + b" #" + mark
        return body + CDATA_END + tail
    if url:
        return _suffix_url(inner, mark, cdata=False)
    return inner.rstrip() + b" #" + mark + inner[len(inner.rstrip()) :]


def rewrite(raw: bytes, copy: int, feed_number: int = 0) -> bytes:
    """The feed's bytes with every link/guid/id/href made unique (to copy, feed and occurrence)
    and every title marked with the copy number.

    Unique per occurrence, not per item: some fixtures repeat a URL inside one feed (items that
    differ only by ``#fragment``) or across feeds (NYT snapshots); the benchmark wants 100,000
    distinct articles, so those collapse here only when pressbot would collapse the rewritten ones.
    """
    counter = itertools.count()

    def mark() -> bytes:
        return f"{copy}.{feed_number}.{next(counter)}".encode()

    raw = LINKISH_RE.sub(lambda m: m[1] + _suffix_inner(m[3], mark(), url=True) + m[4], raw)
    raw = HREF_RE.sub(lambda m: m[1] + m[2] + _suffix_url(m[3], mark(), cdata=True) + m[4], raw)
    title_mark = str(copy).encode()
    return TITLE_RE.sub(lambda m: m[1] + _suffix_inner(m[2], title_mark, url=False) + m[3], raw)


def document(feed: Feed, content: bytes) -> FetchedDocument:
    return FetchedDocument(url=feed.source.url, status=200, content=content, content_type="application/xml")


def load_feeds(*, check_rewrite: bool = True) -> tuple[list[Feed], list[dict[str, Any]]]:
    """Readable fixture feeds (≥ 1 item, also after rewriting), and why the others were left out."""
    root = fixtures_root() / "feeds"
    feeds, skipped = [], []
    for entry in feeds_manifest():
        path = root / entry["file"]
        raw = path.read_bytes()
        if entry["file"].endswith(".gz"):
            raw = gzip.decompress(raw)  # the fetcher would have decoded Content-Encoding
        lang = entry.get("lang")
        slug = re.sub(r"[^a-z0-9]+", "-", entry["file"].lower()).strip("-")[:60]
        source = Source(
            id=slug,
            name=entry.get("outlet", slug),
            kind="feed",
            url=f"https://feeds.bench.invalid/{entry['file']}",
            language=lang if lang in LANGUAGES else None,
            interval_s=900,
        )
        feed = Feed(entry["file"], raw, source, 0, 0)
        try:
            entries = parse_feed(document(feed, raw))
            plain = len(entries)
            identities = len({a.url for a in normalize_entries(entries, source, now=NOW)})
            rewritten = len(parse_feed(document(feed, rewrite(raw, 1)))) if check_rewrite else plain
        except ParseError as error:
            skipped.append({"file": entry["file"], "reason": str(error)[:160]})
            continue
        if plain == 0 or rewritten != plain:
            skipped.append({"file": entry["file"], "reason": f"{plain} items, {rewritten} after rewriting"})
            continue
        feeds.append(Feed(entry["file"], raw, source, plain, identities))
    return feeds, skipped


@dataclass
class Totals:
    items: int = 0
    documents: int = 0
    prep_s: float = 0.0
    parse_s: float = 0.0
    normalize_s: float = 0.0
    store_s: float = 0.0
    parse_by_feed: dict[str, list[float]] = field(default_factory=dict)  # file → [seconds, items]


def ingest(feeds: list[Feed], storage: Path, *, target: int) -> tuple[Totals, Counter[str], Counter[str]]:
    totals = Totals()
    outcomes: Counter[str] = Counter()
    languages: Counter[str] = Counter()
    archive = Archive.open(storage)
    try:
        copy = 0
        while totals.items < target:
            for number, feed in enumerate(feeds):
                if totals.items >= target:
                    break
                t0 = time.perf_counter()
                doc = document(feed, rewrite(feed.raw, copy, number))
                t1 = time.perf_counter()
                entries = parse_feed(doc)[: target - totals.items]
                t2 = time.perf_counter()
                articles = normalize_entries(entries, feed.source, now=NOW)
                t3 = time.perf_counter()
                results = archive.upsert(articles, now=NOW)
                t4 = time.perf_counter()
                totals.prep_s += t1 - t0
                totals.parse_s += t2 - t1
                by_feed = totals.parse_by_feed.setdefault(feed.file, [0.0, 0])
                by_feed[0] += t2 - t1
                by_feed[1] += len(entries)
                totals.normalize_s += t3 - t2
                totals.store_s += t4 - t3
                totals.items += len(entries)
                totals.documents += 1
                outcomes.update(outcome for outcome, _ in results)
                languages.update(article.language for article in articles)
            copy += 1
    finally:
        archive.close()
    return totals, outcomes, languages


def database_sizes(storage: Path) -> dict[str, Any]:
    database = storage / "pressbot.db"
    wal = storage / "pressbot.db-wal"
    sizes: dict[str, Any] = {"db_bytes_before_checkpoint": database.stat().st_size}
    sizes["wal_bytes_before_checkpoint"] = wal.stat().st_size if wal.exists() else 0
    with sqlite3.connect(database) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        sizes["rows"] = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        try:
            by_object = conn.execute(
                "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC"
            ).fetchall()
            sizes["objects"] = {name: size for name, size in by_object}
        except sqlite3.OperationalError:  # dbstat not compiled in
            sizes["objects"] = {}
    sizes["db_bytes"] = database.stat().st_size
    return sizes


def feedparser_diagnostic(feeds: list[Feed]) -> dict[str, float]:
    """Bench-only: one round of the documents through parse_feed, and through feedparser alone with
    and without the HTML sanitizing / relative-URI passes (parse_feed runs without them)."""
    docs = [document(feed, rewrite(feed.raw, 0, number)) for number, feed in enumerate(feeds)]
    headers = {"content-type": "application/xml; charset=utf-8"}

    def timed(function: Any) -> float:
        started = time.perf_counter()
        for doc in docs:
            function(doc)
        return time.perf_counter() - started

    return {
        "items": float(sum(feed.items for feed in feeds)),
        "parse_feed_s": timed(parse_feed),
        "feedparser_sanitize_resolve_s": timed(
            lambda d: feedparser.parse(
                _utf8_feed_bytes(d), response_headers=headers, resolve_relative_uris=True, sanitize_html=True
            )
        ),
        "feedparser_plain_s": timed(
            lambda d: feedparser.parse(
                _utf8_feed_bytes(d),
                response_headers=headers,
                resolve_relative_uris=False,
                sanitize_html=False,
            )
        ),
    }


def memory_pass(feeds: list[Feed], *, items: int) -> float:
    """Peak traced Python memory (MiB) while ingesting ``items`` items into a fresh archive."""
    with tempfile.TemporaryDirectory(prefix="pressbot-bench-ingest-mem-") as folder:
        tracemalloc.start()
        ingest(feeds, Path(folder), target=items)
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak / 1024**2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 items (about 25 s)")
    parser.add_argument("--items", type=int, default=None)
    args = parser.parse_args()
    target = args.items or (2_000 if args.quick else 100_000)
    logging.disable(logging.WARNING)

    rss_start = maxrss_mib()
    feeds, skipped = load_feeds(check_rewrite=not args.quick)
    rss_loaded = maxrss_mib()
    per_copy = sum(feed.items for feed in feeds)
    with tempfile.TemporaryDirectory(prefix="pressbot-bench-ingest-") as folder:
        storage = Path(folder)
        wall = time.perf_counter()
        cpu = time.process_time()
        totals, outcomes, languages = ingest(feeds, storage, target=target)
        cpu = time.process_time() - cpu
        wall = time.perf_counter() - wall
        sizes = database_sizes(storage)
    rss_end = maxrss_mib()
    traced_items = min(target, 500 if args.quick else 1_000)
    diagnostic = feedparser_diagnostic(feeds) if not args.quick else None
    traced_peak = memory_pass(feeds, items=traced_items)

    measured = totals.parse_s + totals.normalize_s + totals.store_s
    n = totals.items

    def rate(seconds: float) -> str:
        return f"{n / seconds:,.0f}" if seconds else "—"

    rows = [
        (
            "parse (parse_feed)",
            f"{totals.parse_s:.1f}",
            rate(totals.parse_s),
            f"{1e6 * totals.parse_s / n:.0f}",
            f"{totals.parse_s / measured:.0%}",
        ),
        (
            "normalize (normalize_entries)",
            f"{totals.normalize_s:.1f}",
            rate(totals.normalize_s),
            f"{1e6 * totals.normalize_s / n:.0f}",
            f"{totals.normalize_s / measured:.0%}",
        ),
        (
            "store (Archive.upsert)",
            f"{totals.store_s:.1f}",
            rate(totals.store_s),
            f"{1e6 * totals.store_s / n:.0f}",
            f"{totals.store_s / measured:.0%}",
        ),
        None,
        ("all three stages", f"{measured:.1f}", rate(measured), f"{1e6 * measured / n:.0f}", "100%"),
        (
            "(bench-only rewriting, excluded)",
            f"{totals.prep_s:.1f}",
            rate(totals.prep_s),
            f"{1e6 * totals.prep_s / n:.0f}",
            "—",
        ),
    ]
    objects = sizes["objects"]
    fts = sum(size for name, size in objects.items() if name.startswith("articles_fts"))
    heavy = sorted(totals.parse_by_feed.items(), key=lambda kv: -kv[1][0])
    top = heavy[:10]
    top_share = sum(v[0] for _, v in top) / totals.parse_s
    top_items = sum(v[1] for _, v in top) / n
    collapsed = [(f.file, f.items, f.identities) for f in feeds if f.identities < f.items]
    diag_line = ""
    if diagnostic:
        diag_line = (
            f"\ndiagnostic (one round, {diagnostic['items']:.0f} items): parse_feed {diagnostic['parse_feed_s']:.2f} s; feedparser alone "
            f"{diagnostic['feedparser_sanitize_resolve_s']:.2f} s with sanitize_html+resolve_relative_uris, "
            f"{diagnostic['feedparser_plain_s']:.2f} s without, as parse_feed calls it ({1 - diagnostic['feedparser_plain_s'] / diagnostic['feedparser_sanitize_resolve_s']:.0%} less)."
        )
    caption = (
        f"parse cost is skewed: the 10 heaviest feeds ({', '.join(f.rsplit('/', 1)[-1] for f, _ in top[:4])}, …) are "
        f"{top_items:.0%} of items and {top_share:.0%} of parse time (full-content blog feeds, up to "
        f"{max(1e3 * v[0] / max(1, v[1]) for _, v in top):.0f} ms/item).{diag_line}\n"
        f"unmodified fixtures where pressbot derives fewer articles than items (duplicate links; #fragments are kept only where they tell items apart): "
        f"{'; '.join(f'{name.rsplit(chr(47), 1)[-1]} {items}→{ids}' for name, items, ids in collapsed) or 'none'}.\n"
        f"{n:,} items from {totals.documents:,} documents ({len(feeds)} readable fixture feeds, {per_copy:,} items per round; "
        f"{len(skipped)} fixtures left out); outcomes {dict(outcomes)}; languages {dict(languages)}.\n"
        f"target ≥ 1,000 items/s on one core → {n / measured:,.0f} items/s (process CPU {cpu:.1f} s over {wall:.1f} s wall).\n"
        f"memory: ru_maxrss {rss_start:.0f} MiB at start, {rss_loaded:.0f} MiB with fixtures loaded, {rss_end:.0f} MiB after the run; "
        f"tracemalloc peak {traced_peak:.1f} MiB over a separate {traced_items:,}-item pass.\n"
        f"database: {sizes['db_bytes'] / 1024**2:.1f} MiB after checkpoint ({sizes['db_bytes'] / max(1, sizes['rows']):,.0f} B/article; "
        f"before checkpoint {sizes['db_bytes_before_checkpoint'] / 1024**2:.1f} MiB + WAL {sizes['wal_bytes_before_checkpoint'] / 1024**2:.1f} MiB); "
        f"full-text index {fts / 1024**2:.1f} MiB, articles table {objects.get('articles', 0) / 1024**2:.1f} MiB."
    )
    table(
        f"Ingest: {n:,} feed items, parse → normalize → store, one process",
        ("stage", "seconds", "items/s", "µs/item", "share"),
        rows,
        caption=caption,
    )
    write_result(
        "ingest",
        {
            "quick": args.quick,
            "items": n,
            "documents": totals.documents,
            "feeds": [
                {"file": f.file, "items": f.items, "identities": f.identities, "language": f.source.language}
                for f in feeds
            ],
            "skipped": skipped,
            "seconds": {
                "parse": totals.parse_s,
                "normalize": totals.normalize_s,
                "store": totals.store_s,
                "measured_total": measured,
                "rewrite_excluded": totals.prep_s,
                "wall": wall,
                "process_cpu": cpu,
            },
            "items_per_s": {
                "overall": n / measured,
                "parse": n / totals.parse_s,
                "normalize": n / totals.normalize_s,
                "store": n / totals.store_s,
            },
            "target_items_per_s": 1000,
            "meets_target": n / measured >= 1000,
            "outcomes": dict(outcomes),
            "parse_by_feed": {name: {"seconds": v[0], "items": v[1]} for name, v in heavy},
            "feedparser_diagnostic": diagnostic,
            "fixtures_collapsing_items": [
                {"file": name, "items": items, "identities": ids} for name, items, ids in collapsed
            ],
            "languages": dict(languages),
            "memory_mib": {
                "maxrss_start": rss_start,
                "maxrss_fixtures_loaded": rss_loaded,
                "maxrss_end": rss_end,
                "tracemalloc_peak": traced_peak,
                "tracemalloc_items": traced_items,
            },
            "database": sizes,
        },
    )


if __name__ == "__main__":
    main()
