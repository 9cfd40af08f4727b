"""Ingest throughput benchmark: parse + normalize + store of 100,000 feed items, on one core.

Items come from the readable fixture feeds (``../shared/fixtures/feeds``: every file for which
``parse_feed`` finds at least one item). To get 100,000 *distinct* items, each feed is replayed
as copy K = 0, 1, 2, … with its bytes rewritten before parsing — ``?n=K`` (or ``&n=K``) added to
every ``<link>``, ``<guid>``, ``<id>`` and Atom ``href``, and `` #K`` to every ``<title>`` — so the
real ``parse_feed`` runs on real markup in its real encoding (GB2312 feeds stay GB2312; only ASCII
is inserted). Feeds are taken round-robin, so the mix follows the fixtures (about 60% English, 35%
Chinese, few Italian — the fixtures hold few Italian feeds).

Per document, as ``pipeline.Collector`` does per source:
``parse_feed(FetchedDocument)`` → ``normalize_entry(entry, Source(language=declared), now=…)`` for
each item → ``Archive.upsert(articles, now=…)`` into a fresh archive in a temp folder.
The rewriting is timed apart and excluded. Memory: ``ru_maxrss`` of the process over the run, and a
separate short pass under ``tracemalloc`` (it slows Python down, so it is not in the timed run).

Run: ``.venv/bin/python bench/bench_ingest.py [--quick]`` → table + ``bench/results/ingest.json``.
"""

from __future__ import annotations

import argparse
import gzip
import logging
import re
import sqlite3
import tempfile
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import feeds_manifest, fixtures_root, maxrss_mib, table, write_result

from pressbot.errors import ParseError
from pressbot.models import LANGUAGES, FetchedDocument, Source
from pressbot.normalize import normalize_entry
from pressbot.parse import parse_feed
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


def _suffix_url(value: bytes, copy: int, *, cdata: bool) -> bytes:
    text = value.rstrip()
    if not text:
        return value
    joiner = b"&" if b"?" in text else b"?"
    if joiner == b"&" and not cdata:
        joiner = b"&amp;"
    return text + joiner + f"n={copy}".encode() + value[len(text) :]


def _suffix_inner(inner: bytes, copy: int, *, url: bool) -> bytes:
    if inner.rstrip().endswith(CDATA_END):
        head, _, tail = inner.rpartition(CDATA_END)
        body = _suffix_url(head, copy, cdata=True) if url else head + f" #{copy}".encode()
        return body + CDATA_END + tail
    if url:
        return _suffix_url(inner, copy, cdata=False)
    return inner.rstrip() + f" #{copy}".encode() + inner[len(inner.rstrip()) :]


def rewrite(raw: bytes, copy: int) -> bytes:
    """The feed's bytes with every link/guid/id/href and title made unique to ``copy``."""
    raw = LINKISH_RE.sub(lambda m: m[1] + _suffix_inner(m[3], copy, url=True) + m[4], raw)
    raw = HREF_RE.sub(lambda m: m[1] + m[2] + _suffix_url(m[3], copy, cdata=True) + m[4], raw)
    return TITLE_RE.sub(lambda m: m[1] + _suffix_inner(m[2], copy, url=False) + m[3], raw)


def document(feed: Feed, content: bytes) -> FetchedDocument:
    return FetchedDocument(
        url=feed.source.url, status=200, content=content, content_type="application/xml"
    )


def load_feeds() -> tuple[list[Feed], list[dict[str, Any]]]:
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
        feed = Feed(entry["file"], raw, source, 0)
        try:
            plain = len(parse_feed(document(feed, raw)))
            rewritten = len(parse_feed(document(feed, rewrite(raw, 1))))
        except ParseError as error:
            skipped.append({"file": entry["file"], "reason": str(error)[:160]})
            continue
        if plain == 0 or rewritten != plain:
            skipped.append({"file": entry["file"], "reason": f"{plain} items, {rewritten} after rewriting"})
            continue
        feeds.append(Feed(entry["file"], raw, source, plain))
    return feeds, skipped


@dataclass
class Totals:
    items: int = 0
    documents: int = 0
    prep_s: float = 0.0
    parse_s: float = 0.0
    normalize_s: float = 0.0
    store_s: float = 0.0


def ingest(feeds: list[Feed], storage: Path, *, target: int) -> tuple[Totals, Counter[str], Counter[str]]:
    totals = Totals()
    outcomes: Counter[str] = Counter()
    languages: Counter[str] = Counter()
    archive = Archive.open(storage)
    try:
        copy = 0
        while totals.items < target:
            for feed in feeds:
                if totals.items >= target:
                    break
                t0 = time.perf_counter()
                doc = document(feed, rewrite(feed.raw, copy))
                t1 = time.perf_counter()
                entries = parse_feed(doc)[: target - totals.items]
                t2 = time.perf_counter()
                articles = [normalize_entry(entry, feed.source, now=NOW) for entry in entries]
                t3 = time.perf_counter()
                results = archive.upsert(articles, now=NOW)
                t4 = time.perf_counter()
                totals.prep_s += t1 - t0
                totals.parse_s += t2 - t1
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
    parser.add_argument("--quick", action="store_true", help="5,000 items (about 10 s)")
    parser.add_argument("--items", type=int, default=None)
    args = parser.parse_args()
    target = args.items or (5_000 if args.quick else 100_000)
    logging.disable(logging.WARNING)

    rss_start = maxrss_mib()
    feeds, skipped = load_feeds()
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
    traced_items = min(target, 5_000)
    traced_peak = memory_pass(feeds, items=traced_items)

    measured = totals.parse_s + totals.normalize_s + totals.store_s
    n = totals.items

    def rate(seconds: float) -> str:
        return f"{n / seconds:,.0f}" if seconds else "—"

    rows = [
        ("parse (parse_feed)", f"{totals.parse_s:.1f}", rate(totals.parse_s), f"{1e6 * totals.parse_s / n:.0f}", f"{totals.parse_s / measured:.0%}"),
        ("normalize (normalize_entry)", f"{totals.normalize_s:.1f}", rate(totals.normalize_s), f"{1e6 * totals.normalize_s / n:.0f}", f"{totals.normalize_s / measured:.0%}"),
        ("store (Archive.upsert)", f"{totals.store_s:.1f}", rate(totals.store_s), f"{1e6 * totals.store_s / n:.0f}", f"{totals.store_s / measured:.0%}"),
        None,
        ("all three stages", f"{measured:.1f}", rate(measured), f"{1e6 * measured / n:.0f}", "100%"),
        ("(bench-only rewriting, excluded)", f"{totals.prep_s:.1f}", rate(totals.prep_s), f"{1e6 * totals.prep_s / n:.0f}", "—"),
    ]
    objects = sizes["objects"]
    fts = sum(size for name, size in objects.items() if name.startswith("articles_fts"))
    caption = (
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
            "feeds": [{"file": f.file, "items": f.items, "language": f.source.language} for f in feeds],
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
