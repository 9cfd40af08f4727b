"""`pressbot run` under load: bot reply latency while collection and translation run, CPU, memory.

The real command runs as a subprocess (``python -m pressbot run``) against:

- a feed server on 127.0.0.1 (a separate process) with ``--sources`` RSS feeds (default 300), each
  polled every 30 s (``interval: 30s``). Every feed starts with 3 items and shows its 20 latest;
  while the load is on, each publishes a new item every ``--publish-every`` seconds (default 300:
  300 feeds → one new article a second, ~86,000 a day), made of real news sentences (NTREX-128
  en, it and zh references, a third of the feeds each, cut to a realistic piece count), so polls
  store, translate and cluster real text;
- the fake Bot API server of ``tests/faketelegram.py`` (this process), through which an officer
  sends a command every ``--command-every`` seconds (``/latest 5`` and ``/search <word>`` in turn)
  and the reply time is measured: from queuing the update to the fake server receiving the reply
  (the bot's long poll, the archive query in a worker thread, the rendering, the sendMessage);
- translation models: the four ``fixtures/argos-base`` packages (a real Argos model's compute
  cost), installed into the run's models folder, so the service translates every new title and
  lead into the two other languages (en↔it, en↔zh, zh↔it through English).

Phases: **warm-up** (until every feed was collected once and the first batch processed), **load**
(``--seconds``, default 180: feeds publish, commands measured), **idle** (publishing stops; after
the service has caught up, commands are measured again: the baseline in the same run). Reported:
reply latency p50/p95/max under load and idle and their ratio (target: p95 < 500 ms under load),
the service's CPU use (user + system seconds per wall second, from /proc), its peak RSS (VmHWM)
and its RSS when idle with the models loaded, and what it did (articles stored, translations,
stories), read from the archive and storage/service.json afterwards.

Run: ``.venv/bin/python bench/bench_run.py [--quick]`` → table + ``bench/results/run.json``.
~6 minutes; ``--quick``: 60 feeds publishing every minute, 60 s of load.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from _common import REPO, fixtures_root, ntrex_sentences, summary_ms, table, write_result

TOKEN = "123456:BENCH-token-abcdefghijklmnopqrstuvwxyz"
OFFICER = 1001
LANGS = ("en", "it", "zh")
ITEMS = 20  # items a feed shows (its latest)
INITIAL = 3  # items each feed has at the start
TARGET_P95_MS = 500.0


# ----------------------------------------------------------------------------- the feed server (own process)


def cut(text: str, chars: int) -> str:
    """The start of a text, at a word end for spaced scripts."""
    if len(text) <= chars:
        return text
    head = text[:chars]
    return head.rsplit(" ", 1)[0] if " " in head else head


def feed_xml(
    feed: int, language: str, pool: list[str], *, newest: int, started: float, every: float
) -> bytes:
    """Feed ``feed``'s 20 latest items; item n appeared at started + n × every (n ≤ newest).

    Titles and leads are cut to about the SentencePiece pieces a real Argos model spends on a
    headline and a one-sentence lead: the fixture models are character-level (see
    ../shared/README.md), so uncut text would cost ~4× a real model's time."""
    items = []
    short = 20 if language == "zh" else 40
    for n in range(max(0, newest - ITEMS + 1), newest + 1):
        rng = random.Random(feed * 100_003 + n)
        title = cut(pool[rng.randrange(len(pool))], short)
        lead = cut(pool[rng.randrange(len(pool))], short * 3 // 2)
        when = datetime.fromtimestamp(started + n * every, UTC)
        items.append(
            f"<item><title>{escape(title)}</title><link>https://feed{feed}.bench.example/{n}</link>"
            f"<guid>feed{feed}-{n}</guid><pubDate>{format_datetime(when)}</pubDate>"
            f"<description>{escape(lead)}</description></item>"
        )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Bench feed {feed}</title>'
        f"<link>https://feed{feed}.bench.example/</link><language>{language}</language>{''.join(items)}"
        "</channel></rss>"
    ).encode()


def serve_feeds(port: multiprocessing.Value, publishing: multiprocessing.Value, every: float) -> None:  # type: ignore[type-arg]
    pools = ntrex_sentences()
    started = time.time()
    frozen = {"at": None}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def do_GET(self) -> None:
            feed = int(self.path.strip("/").split("/")[-1].split(".")[0])
            language = LANGS[feed % 3]
            now = time.time()
            if publishing.value:
                frozen["at"] = None
            elif frozen["at"] is None:
                frozen["at"] = now
            moment = frozen["at"] or now
            offset = (feed * 7.919) % every  # feeds publish at different moments
            # new items at started + offset + k × every, k = 0, 1, …
            published = int((moment - started - offset) // every) + 1 if moment >= started + offset else 0
            newest = INITIAL - 1 + published
            body = feed_xml(
                feed, language, pools[language], newest=newest, started=started - INITIAL * every, every=every
            )
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port.value = server.server_address[1]
    server.serve_forever()


# ----------------------------------------------------------------------------- measuring the service


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_memory_mib(pid: int) -> dict[str, float]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values


def ask(fake: Any, command: str, timeout: float = 30.0) -> float:
    """Queue a command from the officer; seconds until the fake server received the reply."""
    before = len(fake.replies(OFFICER))
    started = time.perf_counter()
    fake.send_command(OFFICER, command)
    fake.wait_for(lambda: len([d for d in fake.delivered if d.chat == str(OFFICER)]) > before, timeout)
    return time.perf_counter() - started


def service(storage: Path) -> dict[str, Any]:
    path = storage / "service.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def jobs_done(storage: Path, prefix: str, runs: int) -> bool:
    jobs = [j for j in service(storage).get("jobs", []) if j["id"].startswith(prefix)]
    return bool(jobs) and all(j["runs"] >= runs for j in jobs)


def wait(predicate: Any, timeout: float, what: str) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise SystemExit(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.5)
    return time.monotonic() - started


def measure_commands(fake: Any, *, seconds: float, every: float, words: list[str]) -> list[float]:
    latencies, n = [], 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        command = "/latest 5" if n % 2 == 0 else f"/search {words[n % len(words)]}"
        latencies.append(ask(fake, command))
        n += 1
        time.sleep(max(0.0, every - (time.monotonic() - started)))
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="60 feeds, 60 s of load")
    parser.add_argument("--sources", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=180.0, help="length of the load phase")
    parser.add_argument(
        "--publish-every", type=float, default=300.0, help="seconds between a feed's new items"
    )
    parser.add_argument(
        "--command-every", type=float, default=1.0, help="seconds between the officer's commands"
    )
    parser.add_argument("--no-models", action="store_true", help="run without translation models")
    args = parser.parse_args()
    sources, seconds = (60, 60.0) if args.quick else (args.sources, args.seconds)
    every = 60.0 if args.quick else args.publish_every  # --quick: 60 feeds, still one article a second
    sys.path.insert(0, str(REPO))
    from tests.faketelegram import FakeTelegram

    port = multiprocessing.Value("i", 0)
    publishing = multiprocessing.Value("b", 1)
    feeds = multiprocessing.Process(target=serve_feeds, args=(port, publishing, every), daemon=True)
    feeds.start()
    while not port.value:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port.value}"
    home = Path(tempfile.mkdtemp(prefix="bench-run-"))
    try:
        lines = ["sources:"] + [
            f'  - {{id: feed-{n}, kind: feed, url: "{base}/feeds/{n}.rss", language: {LANGS[n % 3]}, interval: 30s}}'
            for n in range(sources)
        ]
        (home / "sources.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        storage = home / "storage"
        environ = os.environ | {
            "PRESSBOT_SOURCES": str(home / "sources.yaml"),
            "PRESSBOT_STORAGE": str(storage),
            "PRESSBOT_TELEGRAM_TOKEN": TOKEN,
            "PRESSBOT_TELEGRAM_OFFICERS": str(OFFICER),
            "PRESSBOT_BACKLOG_INTERVAL": "1h",
        }
        packages = sorted((fixtures_root() / "argos-base").glob("*.argosmodel"))
        if not args.no_models:
            subprocess.run(
                [sys.executable, "-m", "pressbot", "models", "install", *map(str, packages)],
                env=environ,
                check=True,
                capture_output=True,
            )
        words = [w for w in " ".join(ntrex_sentences()["en"][:200]).split() if len(w) > 6][:40]
        with FakeTelegram(TOKEN) as fake:
            environ["PRESSBOT_TELEGRAM_BASE_URL"] = fake.base_url
            log_path = home / "run.log"
            with log_path.open("wb") as log:
                process = subprocess.Popen([sys.executable, "-m", "pressbot", "run"], env=environ, stderr=log)
            try:
                warm_s = wait(
                    lambda: jobs_done(storage, "fetch:", 1) and jobs_done(storage, "process", 1),
                    600,
                    "warm-up",
                )
                cpu0, wall0 = proc_cpu_seconds(process.pid), time.monotonic()
                loaded = measure_commands(fake, seconds=seconds, every=args.command_every, words=words)
                cpu_load = (proc_cpu_seconds(process.pid) - cpu0) / (time.monotonic() - wall0)
                memory_load = proc_memory_mib(process.pid)
                publishing.value = 0
                # caught up: two fetch rounds with nothing new, the processing step idle
                time.sleep(65)
                cpu1, wall1 = proc_cpu_seconds(process.pid), time.monotonic()
                idle = measure_commands(
                    fake, seconds=min(60.0, seconds / 2), every=args.command_every, words=words
                )
                cpu_idle = (proc_cpu_seconds(process.pid) - cpu1) / (time.monotonic() - wall1)
                memory_idle = proc_memory_mib(process.pid)
                status = service(storage)
            finally:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=120)
        with sqlite3.connect(storage / "pressbot.db") as conn:
            done = {
                "articles": conn.execute("SELECT count(*) FROM articles").fetchone()[0],
                "translations": conn.execute("SELECT count(*) FROM translations").fetchone()[0],
                "stories": conn.execute("SELECT count(*) FROM stories").fetchone()[0],
            }
        runs = {j["id"]: j["runs"] for j in status.get("jobs", [])}
        fetches = sum(n for job, n in runs.items() if job.startswith("fetch:"))
        errors = [j for j in status.get("jobs", []) if j["last_error"]]
    finally:
        feeds.terminate()
        shutil.rmtree(home, ignore_errors=True)
    load_s, idle_s = summary_ms(loaded), summary_ms(idle)
    ratio = load_s["p95_ms"] / idle_s["p95_ms"] if idle_s["p95_ms"] else float("nan")
    table(
        f"`pressbot run`: {sources} feeds every 30 s, a new item per feed every {every:.0f} s, "
        f"{'no models' if args.no_models else 'argos-base models (en↔it, en↔zh)'}; an officer's command every "
        f"{args.command_every:.0f} s",
        ("phase", "commands", "reply p50 ms", "p95 ms", "max ms", "CPU (cores)", "RSS MiB"),
        [
            (
                "load",
                load_s["n"],
                f"{load_s['p50_ms']:.1f}",
                f"{load_s['p95_ms']:.1f}",
                f"{load_s['max_ms']:.1f}",
                f"{cpu_load:.2f}",
                f"{memory_load['VmRSS']:,.0f}",
            ),
            (
                "idle (baseline)",
                idle_s["n"],
                f"{idle_s['p50_ms']:.1f}",
                f"{idle_s['p95_ms']:.1f}",
                f"{idle_s['max_ms']:.1f}",
                f"{cpu_idle:.2f}",
                f"{memory_idle['VmRSS']:,.0f}",
            ),
        ],
        caption=(
            f"p95 under load ÷ idle: {ratio:.2f}; target p95 < {TARGET_P95_MS:.0f} ms under load: "
            f"{'met' if load_s['p95_ms'] < TARGET_P95_MS else 'MISSED'}. Peak RSS (VmHWM) {memory_idle['VmHWM']:,.0f} MiB; "
            f"idle RSS with the models loaded {memory_idle['VmRSS']:,.0f} MiB. Warm-up (every feed collected once, first "
            f"processing) {warm_s:.0f} s. Done: {fetches:,} fetches, {done['articles']:,} articles, "
            f"{done['translations']:,} cached translations, {done['stories']:,} stories; jobs with an error last time: {len(errors)}."
        ),
    )
    write_result(
        "run",
        {
            "quick": args.quick,
            "sources": sources,
            "load_seconds": seconds,
            "publish_every_s": every,
            "command_every_s": args.command_every,
            "models": not args.no_models,
            "warm_up_s": round(warm_s, 1),
            "load": load_s | {"cpu_cores": round(cpu_load, 3), "rss_mib": round(memory_load["VmRSS"], 1)},
            "idle": idle_s | {"cpu_cores": round(cpu_idle, 3), "rss_mib": round(memory_idle["VmRSS"], 1)},
            "p95_ratio_load_over_idle": round(ratio, 3),
            "peak_rss_mib": round(memory_idle["VmHWM"], 1),
            "target_p95_ms": TARGET_P95_MS,
            "target_met": load_s["p95_ms"] < TARGET_P95_MS,
            "fetches": fetches,
            "done": done,
            "job_errors": [{"id": j["id"], "error": j["last_error"]} for j in errors],
        },
    )


if __name__ == "__main__":
    main()
