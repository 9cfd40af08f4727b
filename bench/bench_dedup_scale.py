"""Dedup scale benchmark: near-copy detection on 200,000 articles inserted one at a time.

Synthetic articles (a third each en, it, zh) are composed from real news sentences in the fixtures:
NTREX-128 sentences (en, Italian and Simplified Chinese references), the Italian thematic-pair texts,
and the titles and summaries of the fixture feeds (parsed with pressbot's ``parse_feed``), split into
sentences. An article = a headline (feed titles, NTREX headlines, UCI headlines) + a summary of two
sentences + a body of 3–22 random sentences (about one item in ten is summary-only, as many feeds
are); the generator is seeded, so every run sees the same articles. About 10% of the articles are
planted near-copies of an earlier article (same language): a new or edited headline, and a few words
(characters for Chinese) dropped, replaced or inserted — one edit per 25–80 words (40–120
characters), sometimes the last sentence cut, punctuation/case/full-width changes. Ground truth: the
original of every copy, and the exact Jaccard of their shingles.

Each article goes through pressbot's near-copy layer exactly as ``cluster.StoryClusterer._decide``
runs it: ``shingles(match_text(article), language)`` → ``minhash`` (pressbot's numpy MinHash: a uint32
array of ``NUM_PERM`` minima, CRC-32 input hash + multiply-shift hash functions) →
``candidates, keys = NearCopyIndex.lookup(language, signature)`` (pressbot's banded LSH index, bands ×
rows from ``lsh_bands(DedupSettings().lsh_threshold)``) → ``best_near_copy`` (exact Jaccard at
``near_copy``) → ``NearCopyIndex.add(id, language, signature, keys)`` (the band keys computed once per
article, for the lookup and the insert). Candidates' shingles come from an in-memory store standing in
for the archive: ``--store texts`` (default) keeps each article's match text and re-shingles candidates, as
production does after ``Archive.articles_by_id`` (the SQLite read itself is not measured);
``--store shingles`` keeps the shingle sets (no re-shingling, ~36 KB per article).

Reports: articles/s overall and per block of 10,000 (per-article cost of the last block over the
first: flat ≈ 1), the split of time between shingling, minhash, LSH query, verification and LSH
insert, candidates per article, garbage-collector pauses, peak RSS and RSS growth per block, and
recall / precision of the planted copies. Target: ≥ 2,000 articles/s on one core (the process pins
itself to one CPU when the OS allows). ``--profile`` adds a cProfile pass (pressbot functions by
cumulative time, all functions by own time); ``--gc-freeze`` calls ``gc.freeze()`` after each block, as
a pipeline could after rebuilding its indexes, so the collector stops rescanning the index.

For the record: with the earlier datasketch-based layer (datasketch ``MinHash`` + ``MinHashLSH``), this
bench measured 1,189 articles/s, 465 µs per article in ``minhash`` alone.

Run: ``.venv/bin/python bench/bench_dedup_scale.py [--quick] [--articles N]`` →
table + ``bench/results/dedup_scale.json``.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import gc
import hashlib
import json
import os
import pstats
import random
import re
import statistics
import sys
import time
from array import array
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from _common import REPO, feeds_manifest, fixtures_root, maxrss_mib, table, write_result

from pressbot.cluster import match_text
from pressbot.dedup import (
    NUM_PERM,
    DedupSettings,
    NearCopyIndex,
    best_near_copy,
    jaccard,
    lsh_bands,
    minhash,
    shingles,
)
from pressbot.errors import ParseError
from pressbot.models import Article, FetchedDocument
from pressbot.normalize import clean_text
from pressbot.parse import parse_feed

DEFAULT = DedupSettings()
LANGS = ("en", "it", "zh")
BLOCK = 10_000
COPY_SHARE = 0.10
SEED = 2026
TARGET = 2000.0
WHEN = datetime(2026, 6, 1, tzinfo=UTC)
PHASES = ("shingle", "minhash", "lsh_query", "verify", "lsh_insert")
LATIN_SENTENCE_RE = re.compile(r"(?<=[.!?…»\"”])\s+")
ZH_SENTENCE_RE = re.compile(r"(?<=[。！？；])")
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ZH_PUNCT = str.maketrans({"，": ",", "。": ".", "：": ":", "“": '"', "”": '"', "（": "(", "）": ")"})
WIRE_PREFIXES = {
    "en": ("UPDATE: ", "BREAKING: ", "(Reuters) "),
    "it": ("ULTIM'ORA: ", "(ANSA) "),
    "zh": ("快讯：", "【新华社】"),
}


# ----------------------------------------------------------------------------- sentence pools


def split_sentences(text: str, language: str) -> list[str]:
    text = " ".join(text.split())
    parts = ZH_SENTENCE_RE.split(text) if language == "zh" else LATIN_SENTENCE_RE.split(text)
    return [p.strip() for p in parts if p.strip()]


def usable(sentence: str, language: str) -> bool:
    """A sentence of news length: feed summaries without sentence punctuation (a kana table, a whole
    forum post) would otherwise be one "sentence" that outweighs the rest of every article drawing it,
    making unrelated articles real near-copies of each other."""
    if language == "zh":
        return 12 <= len(sentence) <= 200
    return 6 <= len(sentence.split()) <= 60


def jsonl(path: Path) -> list[dict[str, Any]]:
    # split on "\n" only: the texts hold U+2028, which str.splitlines() would also split on
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


@dataclass
class Pools:
    sentences: dict[str, list[str]]
    headlines: dict[str, list[str]]
    sources: dict[str, dict[str, int]]  # language → where its sentences came from → count


def load_pools() -> Pools:
    """Real news sentences and headlines per language from ../shared/fixtures (read in place)."""
    root = fixtures_root()
    raw: dict[str, dict[str, list[str]]] = {lang: defaultdict(list) for lang in LANGS}
    headlines: dict[str, list[str]] = {lang: [] for lang in LANGS}
    mt = root / "mt" / "ntrex128_news_en_zh_it"
    for lang, name in (
        ("en", "newstest2019-src.eng.txt"),
        ("it", "newstest2019-ref.ita.txt"),
        ("zh", "newstest2019-ref.zho-CN.txt"),
    ):
        raw[lang]["ntrex"] += (mt / name).read_text(encoding="utf-8").split("\n")
    for doc in jsonl(root / "dedup" / "derived" / "ntrex_trilingual_docs.jsonl"):
        for lang in LANGS:
            headlines[lang].append(doc[lang].strip().split("\n")[0])
    for pair in jsonl(root / "dedup" / "italian_news_thematic_coherence" / "pairs.jsonl"):
        for key in ("text1", "text2"):
            parts = split_sentences(str(pair.get(key) or ""), "it")
            if parts:  # these texts open with the piece's headline
                headlines["it"].append(parts[0])
            raw["it"]["italian_pairs"] += parts[1:]
    uci = root / "dedup" / "uci_news_aggregator_first999" / "uci-news-aggregator_first999.csv"
    with uci.open(encoding="utf-8", newline="") as handle:
        headlines["en"] += [row["TITLE"] for row in csv.DictReader(handle)]
    for entry in feeds_manifest():
        lang = str(entry.get("lang"))
        if lang not in LANGS or entry["file"].endswith(".gz"):
            continue
        content = (root / "feeds" / entry["file"]).read_bytes()
        try:
            entries = parse_feed(FetchedDocument(url="https://bench.invalid/", status=200, content=content))
        except ParseError:
            continue
        for item in entries:
            if item.title.strip():
                headlines[lang].append(clean_text(item.title))
            raw[lang]["feeds"] += split_sentences(clean_text(item.summary), lang)
    sentences: dict[str, list[str]] = {}
    sources: dict[str, dict[str, int]] = {}
    for lang in LANGS:
        seen: set[str] = set()
        pool: list[str] = []
        sources[lang] = {}
        for origin, items in raw[lang].items():
            fresh = [s for s in dict.fromkeys(items) if usable(s, lang) and s not in seen]
            seen.update(fresh)
            pool += fresh
            sources[lang][origin] = len(fresh)  # sentences this origin adds (duplicates dropped)
        sentences[lang] = sorted(set(pool))
        headlines[lang] = sorted({h for h in headlines[lang] if len(h) >= 8})
    return Pools(sentences, headlines, sources)


# ----------------------------------------------------------------------------- synthetic articles


@dataclass(frozen=True)
class Synthetic:
    ident: int
    article: Article
    original: int  # 0 for an original article; the planted copy's original otherwise
    edit_rate: int  # one edit per this many words (characters for zh); 0 for originals


def edit_words(text: str, rng: random.Random, vocabulary: Sequence[str], rate: int) -> str:
    """An outlet's re-edit of wire copy: one word dropped, replaced or inserted per ``rate`` words."""
    words = text.split()
    for _ in range(max(1, len(words) // rate)):
        if len(words) < 4:
            break
        i, roll = rng.randrange(len(words)), rng.random()
        if roll < 0.4:
            del words[i]
        elif roll < 0.8:
            words[i] = rng.choice(vocabulary)
        else:
            words.insert(i, rng.choice(vocabulary))
    copy = " ".join(words).replace(",", ";").replace("’", "'")
    if rng.random() < 0.1:
        copy = copy.lower()
    return copy


def edit_chars(text: str, rng: random.Random, alphabet: str, rate: int) -> str:
    """The same for Chinese: characters dropped, replaced or inserted; digits full-width, ASCII punctuation."""
    chars = list(text)
    for _ in range(max(1, len(chars) // rate)):
        if len(chars) < 4:
            break
        i, roll = rng.randrange(len(chars)), rng.random()
        if roll < 0.4:
            del chars[i]
        elif roll < 0.8:
            chars[i] = rng.choice(alphabet)
        else:
            chars.insert(i, rng.choice(alphabet))
    copy = "".join(chars)
    if rng.random() < 0.5:
        copy = copy.translate(FULLWIDTH).translate(ZH_PUNCT)
    return copy


class Generator:
    """Seeded stream of synthetic articles; keeps only the recipes of originals (sentence indices)."""

    def __init__(self, pools: Pools, *, seed: int = SEED):
        self.pools = pools
        self.rng = random.Random(seed)
        self.recipes: dict[str, list[tuple[int, int, array[int]]]] = {lang: [] for lang in LANGS}
        self.vocabulary = {
            lang: sorted({w for s in pools.sentences[lang][:3000] for w in s.split()})
            for lang in ("en", "it")
        }
        self.alphabet = "".join(
            sorted({c for s in pools.sentences["zh"] for c in s if "\u4e00" <= c <= "\u9fff"})
        )

    def compose(self, language: str, title: int, parts: Sequence[int]) -> tuple[str, str, str]:
        pool = self.pools.sentences[language]
        joiner = "" if language == "zh" else " "
        return (
            self.pools.headlines[language][title],
            joiner.join(pool[i] for i in parts[:2]),
            joiner.join(pool[i] for i in parts[2:]),
        )

    def article(self, ident: int, language: str, title: str, summary: str, body: str) -> Article:
        return Article(
            source_id=f"bench-{language}",
            url=f"https://bench.invalid/{ident}",
            title=title,
            language=language,
            summary=summary,
            body=body,
            published_at=WHEN,
            fetched_at=WHEN,
            id=ident,
        )

    def __call__(self, ident: int) -> Synthetic:
        rng = self.rng
        language = LANGS[rng.randrange(3)]
        recipes = self.recipes[language]
        if recipes and rng.random() < COPY_SHARE:
            return self.copy(ident, language, recipes[rng.randrange(len(recipes))])
        pool = self.pools.sentences[language]
        count = rng.randint(1, 2) if rng.random() < 0.1 else 2 + rng.randint(3, 22)
        parts = array("I", rng.sample(range(len(pool)), count))
        title = rng.randrange(len(self.pools.headlines[language]))
        recipes.append((ident, title, parts))
        return Synthetic(ident, self.article(ident, language, *self.compose(language, title, parts)), 0, 0)

    def copy(self, ident: int, language: str, recipe: tuple[int, int, array[int]]) -> Synthetic:
        rng = self.rng
        original, title_index, parts = recipe
        title, summary, body = self.compose(
            language, title_index, parts[:-1] if len(parts) >= 10 and rng.random() < 0.15 else parts
        )
        if rng.random() < 0.6:
            title = self.pools.headlines[language][rng.randrange(len(self.pools.headlines[language]))]
        else:
            title = rng.choice(WIRE_PREFIXES[language]) + title
        if language == "zh":
            rate = rng.choice((40, 60, 120))
            summary, body = (edit_chars(t, rng, self.alphabet, rate) if t else t for t in (summary, body))
        else:
            rate = rng.choice((25, 40, 80))
            vocabulary = self.vocabulary[language]
            summary, body = (edit_words(t, rng, vocabulary, rate) if t else t for t in (summary, body))
        return Synthetic(ident, self.article(ident, language, title, summary, body), original, rate)


# ----------------------------------------------------------------------------- the measured loop


class GcClock:
    """Time spent in the cyclic garbage collector (it scans every tracked object: grows with the heap)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = 0
        self.longest = 0.0  # the longest single pause since the last reset (a spike)
        self.longest_generation = -1
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            pause = time.perf_counter() - self._started
            self.seconds += pause
            self.collections += 1
            if pause > self.longest:
                self.longest, self.longest_generation = pause, int(info.get("generation", -1))


@dataclass
class Outcome:
    blocks: list[dict[str, Any]]
    quality: dict[str, Any]
    totals: dict[str, float]
    wall_s: float
    generator_s: float


def set_bytes(items: set[str]) -> int:
    return sys.getsizeof(items) + sum(sys.getsizeof(item) for item in items)


def rss_mib() -> float:
    """Current resident set size (Linux /proc), next to the peak from getrusage."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return maxrss_mib()


def run_stream(total: int, pools: Pools, *, store_mode: str, gc_freeze: bool = False) -> Outcome:
    """Insert ``total`` synthetic articles one at a time, timing each phase of the near-copy layer."""
    settings = DEFAULT
    near = NearCopyIndex(settings)
    store: dict[int, Any] = {}  # id → match text (re-shingled like production) or shingle set
    languages = bytearray()  # id - 1 → index in LANGS, for re-shingling candidates
    root = array("I", [0])  # id → the id of its family's original (ground truth)
    generate = Generator(pools)
    gc_clock = GcClock()
    gc.callbacks.append(gc_clock)
    # CPU time of this (only) thread: the machine is shared, and wall time would count the moments
    # other processes hold the core; the wall time of each block is reported next to it.
    perf = time.thread_time
    totals = dict.fromkeys(PHASES, 0.0)
    block = dict.fromkeys(PHASES, 0.0)
    blocks: list[dict[str, Any]] = []
    block_candidates = 0
    planted = found = wrong = false_matches = 0
    missed_true: list[float] = []
    false_examples: list[dict[str, Any]] = []
    store_bytes = 0
    planted_true: list[float] = []
    found_by_bucket: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    shingle_counts: dict[str, list[int]] = defaultdict(list)
    generator_s = 0.0
    rss_before, gc_before, gc_count_before = rss_mib(), 0.0, 0
    started = block_wall = time.perf_counter()
    block_related = 0
    try:
        for ident in range(1, total + 1):
            g0 = perf()
            item = generate(ident)
            article = item.article
            language = article.language
            root.append(item.original or ident)
            languages.append(LANGS.index(language))
            t0 = perf()
            generator_s += t0 - g0
            text = match_text(article)
            own = shingles(text, language)
            t1 = perf()
            sig: np.ndarray = minhash(own)
            t2 = perf()
            candidates, keys = near.lookup(language, sig)
            t3 = perf()
            if store_mode == "texts":
                theirs = {c: shingles(store[c], LANGS[languages[c - 1]]) for c in candidates}
            else:
                theirs = {c: store[c] for c in candidates}
            hit = best_near_copy(own, theirs, threshold=settings.near_copy)
            t4 = perf()
            near.add(ident, language, sig, keys)
            store[ident] = text if store_mode == "texts" else own
            t5 = perf()
            for name, seconds in zip(PHASES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True):
                block[name] += seconds
            block_candidates += len(candidates)
            block_related += sum(root[c] == root[ident] for c in candidates)
            # bookkeeping and ground truth, outside the timed region
            store_bytes += sys.getsizeof(text) if store_mode == "texts" else set_bytes(own)
            if len(shingle_counts[language]) < 20_000:
                shingle_counts[language].append(len(own))
            if item.original:
                planted += 1
                original_text = store[item.original]
                original_set = shingles(original_text, language) if store_mode == "texts" else original_text
                true_j = jaccard(own, original_set)
                planted_true.append(true_j)
                bucket = "≥ 0.80" if true_j >= settings.near_copy else "< 0.80"
                found_by_bucket[bucket][1] += 1
                if hit is not None and root[hit[0]] == root[ident]:
                    found += 1
                    found_by_bucket[bucket][0] += 1
                elif hit is not None:
                    wrong += 1
                elif true_j >= settings.near_copy:
                    missed_true.append(true_j)
            elif hit is not None:
                false_matches += 1
                if len(false_examples) < 10:
                    false_examples.append(
                        {"article": ident, "matched": hit[0], "jaccard": round(hit[1], 4), "text": text[:160]}
                    )
            if ident % BLOCK == 0 or ident == total:
                size = ident - (len(blocks) * BLOCK)
                timed = sum(block.values())
                rss_now = rss_mib()
                blocks.append(
                    {
                        "upto": ident,
                        "articles": size,
                        "timed_s": round(timed, 4),
                        "articles_per_s": round(size / timed, 1),
                        "us_per_article": round(timed / size * 1e6, 1),
                        "phases_us": {k: round(v / size * 1e6, 1) for k, v in block.items()},
                        "candidates_per_article": round(block_candidates / size, 3),
                        "unrelated_candidates_per_article": round(
                            (block_candidates - block_related) / size, 3
                        ),
                        "wall_s": round(time.perf_counter() - block_wall, 3),
                        "gc_s": round(gc_clock.seconds - gc_before, 4),
                        "gc_collections": gc_clock.collections - gc_count_before,
                        "gc_longest_ms": round(gc_clock.longest * 1e3, 2),
                        "gc_longest_generation": gc_clock.longest_generation,
                        "rss_mib": round(rss_now, 1),
                        "rss_growth_mib": round(rss_now - rss_before, 1),
                        "maxrss_mib": round(maxrss_mib(), 1),
                    }
                )
                for name in PHASES:
                    totals[name] += block[name]
                block = dict.fromkeys(PHASES, 0.0)
                block_candidates = block_related = 0
                gc_clock.longest, gc_clock.longest_generation = 0.0, -1
                if gc_freeze:  # outside the timed region, as a rebuild would be
                    gc.freeze()
                block_wall = time.perf_counter()
                rss_before, gc_before, gc_count_before = rss_now, gc_clock.seconds, gc_clock.collections
    finally:
        gc.callbacks.remove(gc_clock)
        if gc_freeze:
            gc.unfreeze()
    wall = time.perf_counter() - started
    totals["gc_s"] = gc_clock.seconds
    totals["gc_collections"] = gc_clock.collections
    hits = found + wrong + false_matches
    quality = {
        "planted": planted,
        "found": found,
        "recall": round(found / planted, 4) if planted else None,
        "planted_true_jaccard_ge_near_copy": found_by_bucket["≥ 0.80"][1],
        "found_true_jaccard_ge_near_copy": found_by_bucket["≥ 0.80"][0],
        "recall_true_jaccard_ge_near_copy": (
            round(found_by_bucket["≥ 0.80"][0] / found_by_bucket["≥ 0.80"][1], 4)
            if found_by_bucket["≥ 0.80"][1]
            else None
        ),
        "found_true_jaccard_below": found_by_bucket["< 0.80"][0],
        "planted_true_jaccard_below": found_by_bucket["< 0.80"][1],
        "missed_with_true_jaccard_ge_near_copy": [round(j, 4) for j in sorted(missed_true)],
        "matched_wrong_family": wrong,
        "originals_matched": false_matches,
        "originals_matched_examples": false_examples,
        "precision": round(found / hits, 4) if hits else None,
        "true_jaccard": {
            "min": round(min(planted_true), 4),
            "p10": round(float(np.percentile(planted_true, 10)), 4),
            "median": round(statistics.median(planted_true), 4),
            "max": round(max(planted_true), 4),
        }
        if planted_true
        else {},
        "shingles_per_article_mean": {
            k: round(statistics.fmean(v), 1) for k, v in sorted(shingle_counts.items())
        },
        "store_entries": len(store),
        "store_mib": round(store_bytes / 2**20, 1),
    }
    return Outcome(blocks, quality, totals, wall, generator_s)


# ----------------------------------------------------------------------------- profile


def profile_section(pools: Pools, *, count: int, store_mode: str, gc_freeze: bool) -> dict[str, Any]:
    profiler = cProfile.Profile()
    profiler.enable()
    run_stream(count, pools, store_mode=store_mode, gc_freeze=gc_freeze)
    profiler.disable()
    stats = pstats.Stats(profiler)
    rows = []
    for (path, line, name), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        where = path.replace(str(REPO) + "/", "").split("site-packages/")[-1]
        rows.append(
            {
                "function": f"{where}:{line}({name})",
                "calls": calls,
                "tottime_s": tottime,
                "cumtime_s": cumtime,
            }
        )
    return {
        "articles": count,
        "by_tottime": sorted(rows, key=lambda r: -r["tottime_s"])[:20],
        "by_cumtime": sorted(
            (r for r in rows if "pressbot/" in r["function"]),
            key=lambda r: -r["cumtime_s"],
        )[:15],
    }


# ----------------------------------------------------------------------------- main


def pin_one_core() -> str:
    try:
        allowed = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {allowed[-1]})
        return f"pinned to CPU {allowed[-1]} (os.sched_setaffinity; {len(allowed)} allowed)"
    except (AttributeError, OSError) as error:
        return f"not pinned ({error}); single-threaded anyway"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="20,000 articles (< 1 minute)")
    parser.add_argument("--articles", type=int, default=200_000, help="articles to insert (default 200,000)")
    parser.add_argument(
        "--store",
        choices=("texts", "shingles"),
        default="texts",
        help="candidates' shingles: re-shingled from stored match texts (production's path) or kept as sets",
    )
    parser.add_argument("--profile", action="store_true", help="add a cProfile pass over 20,000 articles")
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="gc.freeze() after each block (the index leaves the collector's scans, as after a rebuild)",
    )
    args = parser.parse_args()
    total = 20_000 if args.quick else args.articles
    pinned = pin_one_core()
    pools = load_pools()
    outcome = run_stream(total, pools, store_mode=args.store, gc_freeze=args.gc_freeze)
    timed = sum(outcome.totals[name] for name in PHASES)
    rate = total / timed
    first, last = outcome.blocks[0], outcome.blocks[-1]
    growth = last["us_per_article"] / first["us_per_article"]
    rows: list[Any] = []
    for b in outcome.blocks:
        p = b["phases_us"]
        rows.append(
            (
                f"{b['upto'] - b['articles'] + 1:,}–{b['upto']:,}",
                f"{b['articles_per_s']:,.0f}",
                f"{b['us_per_article']:.0f}",
                *(f"{p[name]:.0f}" for name in PHASES),
                f"{b['candidates_per_article']:.2f} ({b['unrelated_candidates_per_article']:.2f})",
                f"{b['gc_s'] * 1e6 / b['articles']:.0f}",
                f"{b['gc_longest_ms']:.0f}",
                f"{b['rss_mib']:,.0f}",
                f"{b['rss_growth_mib']:+,.0f}",
                f"{b['wall_s']:.1f}",
            )
        )
    table(
        f"Near-copy detection at scale: {total:,} articles inserted one at a time ({pinned})",
        (
            "articles",
            "articles/s",
            "µs/article",
            *(f"{name} µs" for name in PHASES),
            "candidates (unrelated)",
            "of which GC µs",
            "longest GC ms",
            "RSS MiB",
            "RSS Δ MiB",
            "wall s",
        ),
        rows,
        caption=(
            "Timed: CPU time of the thread (time.thread_time: the 2-core machine is shared, wall s shows the "
            f"block's wall time) of the near-copy layer only (generator excluded: {outcome.generator_s:.1f} s CPU). "
            "Unrelated candidates = LSH candidates outside the article's planted family. "
            f"Store: {args.store} — "
            + (
                "candidates' match texts kept in a dict and re-shingled, as cluster._decide does after "
                "Archive.articles_by_id (production reads them from SQLite; that read is not measured)."
                if args.store == "texts"
                else "candidates' shingle sets kept in a dict id → set (production reads the texts from "
                "SQLite and re-shingles them)."
            )
            + " GC = cyclic collector pauses inside the block (included in the phases)."
        ),
    )
    q = outcome.quality
    bands, rows_per_band = lsh_bands(DEFAULT.lsh_threshold)
    longest = max(outcome.blocks, key=lambda b: b["gc_longest_ms"])
    share = {name: outcome.totals[name] / timed for name in PHASES}
    summary_rows = [
        (
            "overall",
            f"{rate:,.0f} articles/s ({timed / total * 1e6:.0f} CPU µs/article; wall {outcome.wall_s:.1f} s incl. generator)",
        ),
        (
            "target ≥ 2,000 articles/s, one core",
            "met" if rate >= TARGET else f"MISSED ({rate / TARGET:.0%} of target)",
        ),
        ("time split", ", ".join(f"{name} {share[name]:.0%}" for name in PHASES)),
        (
            "flatness (µs/article last block ÷ first)",
            f"{growth:.2f} ({last['us_per_article']:.0f} vs {first['us_per_article']:.0f} µs)",
        ),
        (
            "GC pauses",
            f"{outcome.totals['gc_s']:.1f} s in {outcome.totals['gc_collections']:.0f} collections; longest pause "
            f"{longest['gc_longest_ms']:.0f} ms (generation {longest['gc_longest_generation']}, block to "
            f"{longest['upto']:,})" + (" — gc.freeze() after each block" if args.gc_freeze else ""),
        ),
        (
            "memory",
            f"peak RSS {maxrss_mib():,.0f} MiB, of which the candidate store ({args.store}) "
            f"~{q['store_mib']:,.0f} MiB; growth per 10k "
            f"{statistics.fmean(b['rss_growth_mib'] for b in outcome.blocks[1:] or outcome.blocks):,.0f} MiB (mean after the first block)",
        ),
        (
            "recall (planted copies found)",
            f"{q['found']:,}/{q['planted']:,} = {q['recall']:.3f}; with true J ≥ {DEFAULT.near_copy}: "
            f"{q['found_true_jaccard_ge_near_copy']:,}/{q['planted_true_jaccard_ge_near_copy']:,} = "
            f"{q['recall_true_jaccard_ge_near_copy']:.4f}; true J < {DEFAULT.near_copy}: "
            f"{q['found_true_jaccard_below']}/{q['planted_true_jaccard_below']} found",
        ),
        (
            "precision",
            f"{q['precision']:.4f} (wrong family {q['matched_wrong_family']}, originals matched {q['originals_matched']})",
        ),
        ("true Jaccard of planted pairs", ", ".join(f"{k} {v:.3f}" for k, v in q["true_jaccard"].items())),
        (
            "shingles per article (mean)",
            ", ".join(f"{k} {v:.0f}" for k, v in q["shingles_per_article_mean"].items()),
        ),
        (
            "settings",
            f"lsh_threshold {DEFAULT.lsh_threshold} ({bands} bands × {rows_per_band} rows), near_copy {DEFAULT.near_copy}, "
            f"{NUM_PERM} hash functions (pressbot numpy MinHash, CRC-32 + multiply-shift)"
            + (", gc.freeze() after each block" if args.gc_freeze else ""),
        ),
        (
            "sentence pools",
            "; ".join(
                f"{lang} {len(pools.sentences[lang]):,} sentences ({', '.join(f'{k} {v:,}' for k, v in pools.sources[lang].items())}), "
                f"{len(pools.headlines[lang]):,} headlines"
                for lang in LANGS
            ),
        ),
    ]
    report: dict[str, Any] = {}
    table("Summary", ("what", "value"), summary_rows)
    if args.profile:
        profile = profile_section(
            pools, count=min(total, 20_000), store_mode=args.store, gc_freeze=args.gc_freeze
        )
        report["profile"] = profile
        table(
            f"cProfile, {profile['articles']:,} articles: pressbot functions by cumulative time",
            ("function", "calls", "tottime s", "cumtime s"),
            [
                (r["function"], r["calls"], f"{r['tottime_s']:.2f}", f"{r['cumtime_s']:.2f}")
                for r in profile["by_cumtime"]
            ],
        )
        table(
            "cProfile: top functions by own time",
            ("function", "calls", "tottime s", "cumtime s"),
            [
                (r["function"], r["calls"], f"{r['tottime_s']:.2f}", f"{r['cumtime_s']:.2f}")
                for r in profile["by_tottime"][:12]
            ],
        )
    write_result(
        "dedup_scale",
        {
            "quick": args.quick,
            "articles": total,
            "store": args.store,
            "pinning": pinned,
            "code_sha256": {
                name: hashlib.sha256((REPO / "pressbot" / name).read_bytes()).hexdigest()[:16]
                for name in ("dedup.py", "cluster.py")
            },
            "settings": {k: (str(v) if isinstance(v, timedelta) else v) for k, v in vars(DEFAULT).items()},
            "lsh_bands_rows": [bands, rows_per_band],
            "num_perm": NUM_PERM,
            "gc_freeze": args.gc_freeze,
            "articles_per_s": round(rate, 1),
            "us_per_article": round(timed / total * 1e6, 1),
            "target_articles_per_s": TARGET,
            "target_met": rate >= TARGET,
            "per_article_cost_last_over_first_block": round(growth, 3),
            "phase_share": {k: round(v, 4) for k, v in share.items()},
            "phase_s": {k: round(v, 3) for k, v in outcome.totals.items()},
            "generator_s": round(outcome.generator_s, 2),
            "wall_s": round(outcome.wall_s, 2),
            "maxrss_mib": round(maxrss_mib(), 1),
            "blocks": outcome.blocks,
            "quality": q,
            "pools": {
                lang: {
                    "sentences": len(pools.sentences[lang]),
                    "headlines": len(pools.headlines[lang]),
                    **pools.sources[lang],
                }
                for lang in LANGS
            },
            **report,
        },
    )


if __name__ == "__main__":
    main()
