"""Telegram delivery benchmark: a 300-story digest to 3 channels through a 429 storm, and the time
to prepare a digest from an archive of 1,000,000 articles.

1. **Delivery.** A real SQLite archive in a temporary folder holds 300 stories of three articles
   each (one per language: real NTREX-128 news sentences, en with its professional zh and it
   translations, as three outlets would carry them). Three channels (it, zh, en) each get the
   300-story digest through pressbot's own path — ``prepare_digest`` → ``queue_digest`` (the
   outbox) — and one ``Sender.deliver()`` sends the lot with the real python-telegram-bot ``Bot``
   to the fake Bot API server of ``tests/faketelegram.py`` on 127.0.0.1, which answers 429
   (``retry_after`` 1 s) to 20% of sendMessage calls, seeded. Pacing is the default: 20 messages a
   minute per chat, 30 a second in all. Reported per channel: messages queued, delivered,
   duplicates (the same message delivered twice: must be 0), lost (queued, never delivered: must
   be 0), order kept, 429s received, the achieved rate (messages a minute, first to last delivery)
   next to the configured limit, and the outbox left (must be empty).
2. **Preparing a digest on a big archive.** ``bench_search.py``'s cached archive of 1,000,000
   synthetic zh/it/en articles (built on first use, ~6 minutes; one article every 30 seconds, so
   ~2,900 a day) gets stories for its last three days (articles grouped by threes, recorded once,
   idempotent). Timed, 7 runs each, p50 and max: ``prepare_digest`` (period query, stories,
   cached translations, ranking, Telegram HTML) for a 24-hour digest of 20 stories, a 7-day
   digest (the newest 5,000 articles of the period), a 24-hour digest filtered by a topic (FTS5),
   and a 300-story 24-hour digest. Target: < 1 s.

Run: ``.venv/bin/python bench/bench_deliver.py [--quick] [--skip-render]`` → tables +
``bench/results/deliver.json``. ~3 minutes (plus the archive's build the first time); ``--quick``
sends a 60-story digest and times the digests on a 100,000-article archive.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
import warnings
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _common import maxrss_mib, ntrex_sentences, table, write_result

from pressbot.channels import Channel
from pressbot.config import Config, Secret
from pressbot.models import Article, StoryLink, Topic
from pressbot.store import Archive
from pressbot.telegram.deliver import DeliveryOptions, Sender
from pressbot.telegram.service import DigestRequest, prepare_digest, queue_digest

# python-telegram-bot 22 warns, while building RetryAfter itself, that retry_after will become a timedelta
warnings.filterwarnings("ignore", message=".*retry_after.*", category=DeprecationWarning)

TOKEN = "123456:BENCH-token-abcdefghijklmnopqrstuvwxyz"
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
CHANNELS = (
    Channel(id="press-it", chat="@bench_it", language="it", timezone="Europe/Rome", max_stories=300),
    Channel(id="press-zh", chat="-1001000000001", language="zh", timezone="Asia/Shanghai", max_stories=300),
    Channel(id="press-en", chat="@bench_en", language="en", timezone="UTC", max_stories=300),
)
RATE_429 = 0.2
RUNS = 7
TARGET_S = 1.0


# ----------------------------------------------------------------------------- 1. delivery


def seed_stories(archive: Archive, count: int) -> None:
    """``count`` stories, each one NTREX sentence in en, zh and it from three outlets."""
    sentences = ntrex_sentences()
    outlets = {"en": ("reuters", "bbc"), "it": ("ansa", "corriere"), "zh": ("xinhua", "cctv")}
    for n in range(count):
        moment = NOW - timedelta(hours=23) + timedelta(seconds=n * 250)
        articles = [
            Article(
                source_id=outlets[lang][n % 2],
                url=f"https://{lang}.bench.example/{n}",
                title=sentences[lang][n % len(sentences[lang])][:160],
                language=lang,
                summary=sentences[lang][(n + 1) % len(sentences[lang])],
                published_at=moment,
                fetched_at=moment,
                content_hash=f"{lang}{n}",
            )
            for lang in ("en", "zh", "it")
        ]
        stored = archive.upsert(articles, now=moment)
        story = archive.create_story(moment)
        archive.record_links(
            [
                StoryLink(article_id, story, 1.0, "bench", moment, b"", b"", "bench")
                for _outcome, article_id in stored
            ],
            now=moment,
        )


async def send_all(archive: Archive, base_url: str) -> tuple[Any, float]:
    started = time.perf_counter()
    async with Sender(archive, token=Secret(TOKEN), base_url=base_url, options=DeliveryOptions()) as sender:
        report = await sender.deliver()
    return report, time.perf_counter() - started


def delivery_section(stories: int) -> dict[str, Any]:
    from tests.faketelegram import FakeTelegram  # the fake Bot API server the tests use

    config = Config(path=Path("bench.yaml"), sources=(), channels=CHANNELS)
    with tempfile.TemporaryDirectory(prefix="bench-deliver-") as tmp, Archive.open(Path(tmp)) as archive:
        seed_stories(archive, stories)
        queued: dict[str, list[str]] = {}
        for channel in CHANNELS:
            prepared = prepare_digest(
                archive, config, DigestRequest(channel, since=NOW - timedelta(days=1)), now=NOW
            )
            assert len(prepared.digest.entries) == stories, (len(prepared.digest.entries), stories)
            queue_digest(archive, prepared, now=NOW)
            queued[channel.chat] = list(prepared.messages)
        with FakeTelegram(TOKEN) as fake:
            fake.rate_429 = RATE_429
            fake.retry_after = 1
            report, seconds = asyncio.run(send_all(archive, fake.base_url))
            left = archive.open_messages()
            requests = Counter(method for method, _ in fake.requests)
            throttled = requests["sendMessage"] - len(fake.delivered)
            delivered = {chat: fake.replies(chat) for chat in queued}
    rows, channels = [], {}
    limit = 60.0 / DeliveryOptions().chat_interval
    for channel in CHANNELS:
        sent = delivered[channel.chat]
        html = [d.html for d in sent]
        counts = Counter(html)
        duplicates = sum(n - 1 for n in counts.values() if n > 1)
        lost = sum(1 for message in queued[channel.chat] if message not in counts)
        span = sent[-1].at - sent[0].at if len(sent) > 1 else 0.0
        rate = (len(sent) - 1) / span * 60 if span else 0.0
        in_order = html == queued[channel.chat]
        channels[channel.id] = {
            "queued": len(queued[channel.chat]),
            "delivered": len(sent),
            "duplicates": duplicates,
            "lost": lost,
            "in_order": in_order,
            "messages_per_minute": round(rate, 2),
            "limit_per_minute": limit,
            "characters": sum(len(m) for m in queued[channel.chat]),
        }
        rows.append(
            (
                f"{channel.id} ({channel.language})",
                len(queued[channel.chat]),
                len(sent),
                duplicates,
                lost,
                "yes" if in_order else "NO",
                f"{rate:.1f} / {limit:.0f}",
            )
        )
    table(
        f"1. A {stories}-story digest to 3 channels, fake Bot API answering 429 (retry_after 1 s) to "
        f"{RATE_429:.0%} of sendMessage calls",
        (
            "channel",
            "messages queued",
            "delivered",
            "duplicates",
            "lost",
            "in order",
            "achieved / limit per minute",
        ),
        rows,
        caption=(
            f"One Sender.deliver() for all three channels: {seconds:.1f} s; {report.sent} sent, {report.pending} pending, "
            f"{report.failed} failed, {report.retries} retries; 429s answered by the server: {throttled}; "
            f"outbox left: {len(left)} open message(s). Achieved rate = messages after the first ÷ time from the "
            "first delivery to the last."
        ),
    )
    return {
        "stories": stories,
        "rate_429": RATE_429,
        "seconds": round(seconds, 2),
        "sent": report.sent,
        "pending": report.pending,
        "failed": report.failed,
        "retries": report.retries,
        "throttled_429": throttled,
        "outbox_left": len(left),
        "channels": channels,
    }


# ----------------------------------------------------------------------------- 2. render


def add_recent_stories(database: Path, *, days: int = 3) -> int:
    """Group the last ``days`` of the archive's articles into stories of three (once)."""
    conn = sqlite3.connect(database)
    try:
        if conn.execute("SELECT count(*) FROM article_stories").fetchone()[0]:
            return int(conn.execute("SELECT count(*) FROM stories").fetchone()[0])
        newest = conn.execute("SELECT max(fetched_at) FROM articles").fetchone()[0]
        since = (datetime.fromisoformat(newest) - timedelta(days=days)).strftime("%Y-%m-%d %H:%M:%S.%f")
        ids = [
            row[0]
            for row in conn.execute("SELECT id FROM articles WHERE fetched_at >= ? ORDER BY id", (since,))
        ]
        with conn:
            for start in range(0, len(ids), 3):
                group = ids[start : start + 3]
                first = conn.execute("SELECT fetched_at FROM articles WHERE id = ?", (group[0],)).fetchone()[
                    0
                ]
                last = conn.execute("SELECT fetched_at FROM articles WHERE id = ?", (group[-1],)).fetchone()[
                    0
                ]
                story = conn.execute(
                    "INSERT INTO stories (first_seen, last_seen, size) VALUES (?, ?, ?)",
                    (first, last, len(group)),
                ).lastrowid
                conn.executemany(
                    "INSERT INTO article_stories (article_id, story_id, score, reason, linked_at) VALUES (?, ?, 1.0, 'bench', ?)",
                    [(article_id, story, last) for article_id in group],
                )
        return len(ids) // 3 + (1 if len(ids) % 3 else 0)
    finally:
        conn.close()


def render_section(rows: int) -> dict[str, Any]:
    import bench_search

    vocab, method = bench_search.build_vocabularies()
    folder, meta = bench_search.cached_archive(vocab, method, rows=rows, upsert_rows=min(rows, 20_000))
    stories = add_recent_stories(folder / "pressbot.db")
    with sqlite3.connect(folder / "pressbot.db") as conn:
        newest = conn.execute("SELECT max(fetched_at) FROM articles").fetchone()[0]
    now = datetime.fromisoformat(newest).replace(tzinfo=UTC) + timedelta(minutes=1)
    with Archive.open(folder) as archive:
        word = vocab["en"].words[100]  # a common (not stop) word: many matches to filter
        topic = Topic(id="bench", name="Bench topic", keywords={"en": (word,), "it": (), "zh": ()})
        config = Config(path=Path("bench.yaml"), sources=(), topics=(topic,), channels=CHANNELS)
        cases = (
            ("24h, 20 stories", Channel(id="a", chat="@a_bench", language="en"), timedelta(days=1), None),
            (
                "7d, 20 stories (newest 5,000 articles)",
                Channel(id="b", chat="@b_bench", language="it"),
                timedelta(days=7),
                None,
            ),
            (
                f"24h, topic '{word}' (FTS5)",
                Channel(id="c", chat="@c_bench", language="zh"),
                timedelta(days=1),
                "bench",
            ),
            ("24h, 300 stories", CHANNELS[0], timedelta(days=1), None),
        )
        results, table_rows = {}, []
        for label, channel, period, topic_id in cases:
            timings, entries, messages = [], 0, 0
            for _ in range(RUNS):
                started = time.perf_counter()
                prepared = prepare_digest(
                    archive, config, DigestRequest(channel, since=now - period, topic=topic_id), now=now
                )
                timings.append(time.perf_counter() - started)
                entries, messages = len(prepared.digest.entries), len(prepared.messages)
            p50, worst = statistics.median(timings), max(timings)
            results[label] = {
                "p50_s": round(p50, 4),
                "max_s": round(worst, 4),
                "stories": entries,
                "messages": messages,
            }
            table_rows.append(
                (
                    label,
                    entries,
                    messages,
                    f"{p50 * 1000:.0f}",
                    f"{worst * 1000:.0f}",
                    "✓" if worst < TARGET_S else "✗",
                )
            )
        articles = archive.count()
    table(
        f"2. prepare_digest on an archive of {articles:,} articles ({stories:,} stories in its last 3 days), {RUNS} runs",
        ("digest", "stories", "messages", "p50 ms", "max ms", f"< {TARGET_S:.0f} s"),
        table_rows,
        caption="prepare_digest = the period's articles (index on fetched_at), their stories, cached translations of "
        "headlines, ranking, Telegram HTML split at 4,096 characters. Archive: bench_search.py's cache "
        f"({'reused' if meta['build'].get('cached') else 'built now'}).",
    )
    return {"articles": articles, "stories": stories, "cases": results, "target_s": TARGET_S}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="60 stories; a 100,000-article archive")
    parser.add_argument("--skip-render", action="store_true", help="only the delivery part")
    args = parser.parse_args()
    report: dict[str, Any] = {"quick": args.quick}
    report["delivery"] = delivery_section(60 if args.quick else 300)
    if not args.skip_render:
        report["render"] = render_section(100_000 if args.quick else 1_000_000)
    report["maxrss_mib"] = round(maxrss_mib(), 1)
    write_result("deliver", report)


if __name__ == "__main__":
    main()
