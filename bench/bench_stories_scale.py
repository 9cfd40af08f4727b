"""Story clustering at scale: the whole dedup stage on an archive growing to 200,000 articles.

``bench_dedup_scale.py`` measures the near-copy layer alone, in memory. This one runs what
``pressbot fetch`` runs after each collection cycle, on a real SQLite archive in a temporary folder:
articles arrive in hourly cycles (``--per-day``, default 2,000 a day: a busy monitoring setup of
~30 outlets), each cycle is stored with ``Archive.upsert`` and linked with
``StoryClusterer.process`` — near-copies (MinHash LSH), then stories (the multilingual encoder,
TF-IDF words, shared facts) against the members in the 72-hour window, with every link and
fingerprint written to the archive. One clusterer lives for the whole run, as in a long-running
process: it keeps its in-memory indexes between cycles and rebuilds them from the stored
fingerprints when they would hold more than four windows (that rebuild is part of the measured time).

The articles come from ``bench_dedup_scale.Generator``: real news sentences and headlines of the
fixtures (NTREX-128 en/it/zh, the Italian pair texts, the fixture feeds), a third per language, ~10%
planted near-copies of an earlier article of the same language. Its dates are replaced by the
cycle's clock; a copy of an article from the last 72 hours is dated within a day of its original
(so it arrives late: an older date than the cycle's other articles), a copy of an older one is a
late reprint dated when it appears. No translation model: the encoder alone compares languages.

The encoder is pressbot's real ``Encoder`` (Universal Sentence Encoder multilingual, numpy); its
cost per article is constant by construction, so it is timed apart (a wrapper measures each
``encode`` call) and the rest — SQL, indexes, scoring, recording — is what must stay flat as the
archive grows. Per block of 10,000 articles: articles/s overall and without the encoder, the
encoder's µs per article, the rest's µs per article, index rebuilds, members in the window, RSS;
overall: last block ÷ first block cost (flat ≈ 1), recall of the planted near-copies (linked as
near-copies of their original), stories per article, archive size.

Run: ``.venv/bin/python bench/bench_stories_scale.py [--quick] [--articles N] [--per-day N]`` →
table + ``bench/results/stories_scale.json``. 200,000 articles take ~25 minutes on 2 cores (most of it
the encoder); ``--quick`` runs 20,000 (~3 minutes).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from _common import REPO, maxrss_mib, table, write_result
from bench_dedup_scale import LANGS, WHEN, Generator, load_pools, rss_mib
from sqlalchemy import select

from pressbot.cluster import StoryClusterer, match_text
from pressbot.dedup import DedupSettings, Encoder, jaccard, shingles
from pressbot.store import Archive, schema

BLOCK = 10_000
COPY_DELAY_HOURS = 24  # a planted copy is published within this many hours of its original
WINDOW = DedupSettings().window


class TimedEncoder:
    """pressbot's Encoder, with the time spent in it measured (the clusterer sees the same object)."""

    def __init__(self, encoder: Encoder):
        self.encoder = encoder
        self.name = encoder.name
        self.seconds = 0.0
        self.texts = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        started = time.perf_counter()
        vectors = self.encoder.encode(texts)
        self.seconds += time.perf_counter() - started
        self.texts += len(texts)
        return vectors


@dataclass
class Block:
    upto: int
    articles: int
    wall_s: float
    encoder_s: float
    upsert_s: float
    cluster_s: float
    rebuilds: int
    window_members: int
    near_copies: int
    joined: int
    new_stories: int
    rss_mib: float

    def row(self) -> dict[str, Any]:
        rest = self.wall_s - self.encoder_s
        return {
            "upto": self.upto,
            "articles": self.articles,
            "articles_per_s": round(self.articles / self.wall_s, 1),
            "articles_per_s_without_encoder": round(self.articles / rest, 1),
            "encoder_us_per_article": round(self.encoder_s / self.articles * 1e6, 1),
            "rest_us_per_article": round(rest / self.articles * 1e6, 1),
            "upsert_us_per_article": round(self.upsert_s / self.articles * 1e6, 1),
            "cluster_us_per_article_without_encoder": round(
                (self.cluster_s - self.encoder_s) / self.articles * 1e6, 1
            ),
            "index_rebuilds": self.rebuilds,
            "window_members": self.window_members,
            "near_copies": self.near_copies,
            "joined": self.joined,
            "new_stories": self.new_stories,
            "rss_mib": round(self.rss_mib, 1),
        }


def stream(total: int, per_day: int) -> tuple[list[Any], float]:
    """The synthetic articles, dated: ``per_day`` spread evenly, copies within a day of their original."""
    generate = Generator(load_pools())
    rng = random.Random(11)
    step = timedelta(days=1) / per_day
    made: list[Any] = []
    started = time.perf_counter()
    dates: dict[int, datetime] = {}
    for ident in range(1, total + 1):
        item = generate(ident)
        when = WHEN + ident * step
        if item.original and when - dates[item.original] <= WINDOW:
            # wire copies appear within hours of the original; a copy of an older article is a
            # late reprint, dated when it appears (and no near-copy any more: outside the window)
            when = min(when, dates[item.original] + timedelta(hours=rng.uniform(0.1, COPY_DELAY_HOURS)))
        dates[ident] = when
        made.append(replace(item, article=replace(item.article, id=None, published_at=when, fetched_at=when)))
    return made, time.perf_counter() - started


def run(total: int, per_day: int, *, quick: bool) -> dict[str, Any]:
    items, generator_s = stream(total, per_day)
    settings = DedupSettings()
    encoder = TimedEncoder(Encoder())
    per_cycle = max(1, per_day // 24)
    blocks: list[Block] = []
    with tempfile.TemporaryDirectory(prefix="bench-stories-") as tmp:
        archive = Archive.open(Path(tmp))
        # (the encoder was loaded above, before any clock starts)
        clusterer = StoryClusterer(archive, settings=settings, encoder=lambda: encoder)  # type: ignore[arg-type,return-value]
        ids: dict[int, int] = {}  # generator ident → archive id
        block = Block(0, 0, 0.0, 0.0, 0.0, 0.0, 0, 0, 0, 0, 0, 0.0)
        last_cache = None
        run_started = time.perf_counter()
        for start in range(0, total, per_cycle):
            cycle = items[start : start + per_cycle]
            now = max(i.article.fetched_at for i in cycle)
            encoder_before = encoder.seconds
            began = time.perf_counter()
            stored = archive.upsert([i.article for i in cycle], now=now)
            upserted = time.perf_counter()
            report = clusterer.process(now=now, limit=len(cycle) + 100)
            finished = time.perf_counter()
            for item, (_outcome, article_id) in zip(cycle, stored, strict=True):
                ids[item.ident] = article_id
            block.articles += len(cycle)
            block.wall_s += finished - began
            block.upsert_s += upserted - began
            block.cluster_s += finished - upserted
            block.encoder_s += encoder.seconds - encoder_before
            block.near_copies += report.near_copies
            block.joined += report.joined
            block.new_stories += report.new_stories
            # (private, read only: a new tuple means the indexes were rebuilt from the archive)
            cache = clusterer._cache
            if cache is not last_cache:
                block.rebuilds += 1
                last_cache = cache
            if block.articles >= BLOCK or start + per_cycle >= total:
                block.upto = start + len(cycle)
                block.window_members = len(cache[2].members) if cache is not None else 0
                block.rss_mib = rss_mib()
                blocks.append(block)
                print(
                    f"{block.upto:>8,} articles: {block.articles / block.wall_s:,.0f}/s, "
                    f"{block.articles / max(1e-9, block.wall_s - block.encoder_s):,.0f}/s without the encoder, "
                    f"RSS {block.rss_mib:,.0f} MiB",
                    flush=True,
                )
                block = Block(0, 0, 0.0, 0.0, 0.0, 0.0, 0, 0, 0, 0, 0, 0.0)
        wall_s = time.perf_counter() - run_started
        # Quality: was each planted copy linked as a near-copy of its original (or of another copy of it)?
        s = schema.article_stories
        with archive.engine.connect() as conn:  # article id → (story id, near-copy of)
            links = {r.article_id: (r.story_id, r.near_copy_of) for r in conn.execute(select(s))}
        database_mib = sum(f.stat().st_size for f in Path(tmp).glob("pressbot.db*")) / 2**20
        stories = len({story for story, _ in links.values()})
        archive.close()
    family = {i.ident: i.original or i.ident for i in items}
    by_ident = {i.ident: i for i in items}
    by_id = {article_id: ident for ident, article_id in ids.items()}
    # planted near-copies: copies dated within the window of their original (the others are reprints)
    planted = [
        i
        for i in items
        if i.original and i.article.published_at - by_ident[i.original].article.published_at <= WINDOW
    ]
    found = sum(
        1
        for i in planted
        if (copy_of := links[ids[i.ident]][1]) is not None
        and family.get(by_id.get(copy_of, -1)) == i.original
    )
    true_jaccard = {
        i.ident: jaccard(
            shingles(match_text(i.article), i.article.language),
            shingles(match_text(by_ident[i.original].article), i.article.language),
        )
        for i in planted
    }
    strong = [i for i in planted if true_jaccard[i.ident] >= settings.near_copy]
    found_strong = sum(
        1
        for i in strong
        if (copy_of := links[ids[i.ident]][1]) is not None
        and family.get(by_id.get(copy_of, -1)) == i.original
    )
    wrong = sum(
        1
        for i in items
        if (copy_of := links[ids[i.ident]][1]) is not None
        and family.get(by_id.get(copy_of, -1)) != family[i.ident]
    )
    return {
        "blocks": [b.row() for b in blocks],
        "wall_s": wall_s,
        "generator_s": generator_s,
        "encoder_s": encoder.seconds,
        "encoded_texts": encoder.texts,
        "per_cycle": per_cycle,
        "planted": len(planted),
        "found": found,
        "planted_true_jaccard_ge_near_copy": len(strong),
        "found_true_jaccard_ge_near_copy": found_strong,
        "wrong_original": wrong,
        "stories": stories,
        "database_mib": database_mib,
        "settings": settings,
        "quick": quick,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="20,000 articles (~3 minutes)")
    parser.add_argument("--articles", type=int, default=200_000, help="articles (default 200,000)")
    parser.add_argument(
        "--per-day", type=int, default=2000, help="articles published per day (default 2,000)"
    )
    args = parser.parse_args()
    total = 20_000 if args.quick else args.articles
    result = run(total, args.per_day, quick=args.quick)
    blocks = result["blocks"]
    rows = [
        (
            f"{b['upto'] - b['articles'] + 1:,}–{b['upto']:,}",
            f"{b['articles_per_s']:,.0f}",
            f"{b['articles_per_s_without_encoder']:,.0f}",
            f"{b['encoder_us_per_article']:,.0f}",
            f"{b['rest_us_per_article']:,.0f}",
            f"{b['upsert_us_per_article']:,.0f}",
            f"{b['cluster_us_per_article_without_encoder']:,.0f}",
            b["index_rebuilds"],
            f"{b['window_members']:,}",
            f"{b['near_copies']:,} / {b['joined']:,} / {b['new_stories']:,}",
            f"{b['rss_mib']:,.0f}",
        )
        for b in blocks
    ]
    table(
        f"Story clustering at scale: {total:,} articles, {args.per_day:,} a day in hourly cycles of "
        f"{result['per_cycle']}, real SQLite archive",
        (
            "articles",
            "articles/s",
            "without encoder",
            "encoder µs/art.",
            "rest µs/art.",
            "of which upsert",
            "of which clustering",
            "index rebuilds",
            "window members",
            "near-copy / joined / new",
            "RSS MiB",
        ),
        rows,
        caption="Wall time per block (the machine is shared). 'rest' = upsert + clustering without the encoder: "
        "SQL reads and writes, near-copy and story indexes, scoring. Window members = articles in the story "
        "index at the block's end (up to four 72-hour windows are kept before a rebuild).",
    )
    first, last = blocks[0], blocks[-1]
    steady = blocks[1:] or blocks
    growth = last["rest_us_per_article"] / first["rest_us_per_article"]
    growth_steady = last["rest_us_per_article"] / steady[0]["rest_us_per_article"]
    total_rate = total / result["wall_s"]
    rest_s = result["wall_s"] - result["encoder_s"]
    summary = [
        (
            "overall",
            f"{total_rate:,.0f} articles/s ({result['wall_s']:.0f} s; encoder {result['encoder_s']:.0f} s = "
            f"{result['encoder_s'] / result['wall_s']:.0%}); without the encoder {total / rest_s:,.0f} articles/s",
        ),
        (
            "flatness: per-article cost without the encoder, last block ÷ first",
            f"{growth:.2f} ({last['rest_us_per_article']:,.0f} vs {first['rest_us_per_article']:,.0f} µs); "
            f"÷ second block (window full) {growth_steady:.2f}",
        ),
        (
            "planted near-copies linked to their original",
            f"{result['found']:,}/{result['planted']:,} = {result['found'] / max(1, result['planted']):.3f}; "
            f"with true Jaccard ≥ {DedupSettings().near_copy}: {result['found_true_jaccard_ge_near_copy']:,}/"
            f"{result['planted_true_jaccard_ge_near_copy']:,}; "
            f"near-copy links to another family: {result['wrong_original']}",
        ),
        ("stories", f"{result['stories']:,} for {total:,} articles"),
        ("memory", f"peak RSS {maxrss_mib():,.0f} MiB; archive {result['database_mib']:,.0f} MiB on disk"),
        ("generator (not timed)", f"{result['generator_s']:.1f} s"),
    ]
    table("Summary", ("what", "value"), summary)
    settings: DedupSettings = result.pop("settings")
    write_result(
        "stories_scale",
        {
            **{k: v for k, v in result.items() if k != "blocks"},
            "articles": total,
            "per_day": args.per_day,
            "languages": LANGS,
            "articles_per_s": round(total_rate, 1),
            "articles_per_s_without_encoder": round(total / rest_s, 1),
            "rest_cost_last_over_first_block": round(growth, 3),
            "rest_cost_last_over_second_block": round(growth_steady, 3),
            "maxrss_mib": round(maxrss_mib(), 1),
            "mean_window_members": round(statistics.fmean(b["window_members"] for b in blocks), 1),
            "code_sha256": {
                name: hashlib.sha256((REPO / "pressbot" / name).read_bytes()).hexdigest()[:16]
                for name in ("dedup.py", "cluster.py")
            },
            "settings": {k: (str(v) if isinstance(v, timedelta) else v) for k, v in vars(settings).items()},
            "blocks": blocks,
        },
    )


if __name__ == "__main__":
    main()
