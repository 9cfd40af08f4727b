"""`pressbot run`: the job plan for a sources.yaml, missed digests, and the service end to end —
a real process collecting the bundled sample outlets from a local server, posting a scheduled
digest to the fake Bot API server, answering a command, stopping on SIGTERM and resuming."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from pressbot.cli import main
from pressbot.config import parse_config
from pressbot.demo import DemoServer, sources_yaml
from pressbot.scheduler import RunOptions, jitter_for, missed_digests, plan_jobs
from pressbot.store import Archive
from tests.faketelegram import FakeTelegram

TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"
NOW = datetime(2026, 12, 3, 6, 30, tzinfo=UTC)
PLAN_YAML = """
sources:
  - {id: fast, kind: feed, url: "https://a.example/feed", language: en, interval: 10m}
  - {id: slow, kind: feed, url: "https://b.example/feed", language: it, interval: 2h}
  - {id: paused, kind: feed, url: "https://c.example/feed", language: zh, enabled: false}
channels:
  - {id: press-it, chat: "@pressbot_it", language: it, schedule: "0 8,18 * * *", timezone: Europe/Rome}
  - {id: press-zh, chat: "@pressbot_zh", language: zh, schedule: "30 9 * * 1-5", timezone: Asia/Shanghai}
  - {id: on-demand, chat: "@pressbot_en", language: en}
"""


def plan(*, telegram: bool = True) -> dict[str, object]:
    config = parse_config(PLAN_YAML, path=Path("sources.yaml"))
    return {job.id: job for job in plan_jobs(config, telegram=telegram, now=NOW, options=RunOptions())}


def test_the_job_plan_follows_sources_yaml():
    jobs = plan()
    assert sorted(jobs) == [
        "backlog",
        "deliver",
        "digest:press-it",
        "digest:press-zh",
        "fetch:fast",
        "fetch:slow",
        "heartbeat",
    ]  # the disabled source and the channel without a schedule have no job
    fast, slow = jobs["fetch:fast"], jobs["fetch:slow"]
    assert fast.trigger.interval == timedelta(minutes=10) and fast.trigger.jitter == 60  # type: ignore[attr-defined]
    assert slow.trigger.interval == timedelta(hours=2) and slow.trigger.jitter == 60  # type: ignore[attr-defined]
    assert jitter_for(30) == 3  # a tenth of the interval, at most a minute
    assert fast.first_run == NOW  # collected at start-up, then at its interval
    for job in jobs.values():  # never two runs of one job at once; missed runs coalesced
        assert job.max_instances == 1 and job.coalesce  # type: ignore[attr-defined]


def test_digests_follow_cron_in_each_channel_time_zone():
    jobs = plan()
    rome, shanghai = jobs["digest:press-it"].trigger, jobs["digest:press-zh"].trigger  # type: ignore[attr-defined]
    # 06:30 UTC on Thursday 3 December 2026 = 07:30 in Rome, 14:30 in Shanghai
    assert rome.get_next_fire_time(None, NOW) == datetime(2026, 12, 3, 7, 0, tzinfo=UTC)  # 08:00 Rome
    assert shanghai.get_next_fire_time(None, NOW) == datetime(2026, 12, 4, 1, 30, tzinfo=UTC)  # Fri 09:30
    saturday = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
    assert shanghai.get_next_fire_time(None, saturday) == datetime(2026, 12, 7, 1, 30, tzinfo=UTC)  # Monday


def test_without_a_token_only_collection_and_the_backlog_are_scheduled():
    assert sorted(plan(telegram=False)) == ["backlog", "fetch:fast", "fetch:slow", "heartbeat"]


def test_a_digest_due_while_pressbot_was_down_is_caught_up_once():
    config = parse_config(PLAN_YAML, path=Path("sources.yaml"))
    later = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)  # 09:00 in Rome: the 08:00 digest was due an hour ago
    catch_up = timedelta(hours=6)
    assert missed_digests(config.channels, {}, now=later, catch_up=catch_up) == ["press-it"]
    sent = {"press-it": datetime(2026, 12, 3, 7, 0, 5, tzinfo=UTC)}
    assert missed_digests(config.channels, sent, now=later, catch_up=catch_up) == []
    assert missed_digests(config.channels, {}, now=later, catch_up=timedelta(minutes=30)) == []


# ----------------------------------------------------------------------------- end to end


def _environ(home: Path, fake: FakeTelegram) -> dict[str, str]:
    return os.environ | {
        "PRESSBOT_SOURCES": str(home / "sources.yaml"),
        "PRESSBOT_STORAGE": str(home / "storage"),
        "PRESSBOT_TELEGRAM_TOKEN": TOKEN,
        "PRESSBOT_TELEGRAM_BASE_URL": fake.base_url,
        "PRESSBOT_TELEGRAM_ADMINS": "1001",
        "PRESSBOT_TELEGRAM_CHAT_RATE": "6000",
        "PRESSBOT_DIGEST_CATCH_UP": "1s",  # the digest below must come from the cron tick
        "PRESSBOT_SHUTDOWN_GRACE": "5",
    }


def _start(environ: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "pressbot", "run"], env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _stop(process: subprocess.Popen[bytes]) -> str:
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    log = stderr.decode()
    print(log)  # shown by pytest when the test fails
    assert process.returncode == 0, log
    return log


def _service(home: Path) -> dict[str, object]:
    path = home / "storage" / "service.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _wait(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)


def _all_fetched(home: Path, runs: int) -> bool:
    jobs = _service(home).get("jobs", [])
    fetches = [j for j in jobs if j["id"].startswith("fetch:")]  # type: ignore[union-attr,index]
    return bool(fetches) and all(j["runs"] >= runs and j["last_error"] is None for j in fetches)  # type: ignore[index]


@pytest.mark.slow
def test_pressbot_run_collects_posts_on_schedule_answers_and_resumes_after_sigterm(tmp_path):
    chat = "@pressbot_test"
    with DemoServer() as outlets, FakeTelegram(TOKEN) as fake:
        text = sources_yaml(outlets.base_url, chat=chat, language="it", timezone="Europe/Rome")
        text = re.sub(r"interval: \w+", "interval: 10s", text).replace(
            "    max_stories: 20", '    max_stories: 20\n    schedule: "* * * * *"\n    skip_empty: true'
        )
        (tmp_path / "sources.yaml").write_text(text, encoding="utf-8")
        environ = _environ(tmp_path, fake)
        # Start early in a minute: the sources are collected before the digest's cron tick.
        while datetime.now(UTC).second >= 40:
            time.sleep(0.5)
        process = _start(environ)
        try:
            # (a tick that came before every outlet was stored sends part now, the rest a minute later)
            digest = fake.wait_for(
                lambda: [d for d in fake.delivered if d.chat == chat and "Bi-City" in d.text], timeout=150
            )[0]
            assert digest.link_preview_options == {"is_disabled": True}
            fake.send_command(1001, "/status")
            reply = fake.wait_replies(1001, 1, timeout=30)[-1]
            assert "Next runs" in reply.text and "fetch:" in reply.text and "digest:demo" in reply.text
            _wait(lambda: _all_fetched(tmp_path, 2), 60, "every source collected twice")
            status = CliRunner().invoke(main, ["status", "--json"], env=environ, catch_exceptions=False)
            service = json.loads(status.stdout)["service"]
            assert service["running"] and service["telegram"] and service["pid"] == process.pid
            assert {"fetch:harbour-wire", "digest:demo", "backlog", "deliver", "heartbeat"} <= {
                j["id"] for j in service["jobs"]
            }
        finally:
            log = _stop(process)
        assert "pressbot: stopped." in log and TOKEN.split(":")[1] not in log
        with Archive.open(tmp_path / "storage") as archive:
            articles = archive.count()
            assert articles >= 10 and archive.open_messages() == []
            assert archive.stories(limit=100)  # linked into stories by the processing step
        database = sqlite3.connect(tmp_path / "storage" / "pressbot.db")
        assert database.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        database.close()
        assert _service(tmp_path)["running"] is False  # a clean stop says so
        sent = len(fake.replies(chat))

        # A restart collects again: the same items are not stored twice, nothing is re-sent.
        process = _start(environ)
        try:
            _wait(
                lambda: _service(tmp_path).get("running") and _all_fetched(tmp_path, 1), 60, "a second start"
            )
        finally:
            _stop(process)
        with Archive.open(tmp_path / "storage") as archive:
            assert archive.count() == articles and archive.open_messages() == []
        assert len(fake.replies(chat)) == sent  # skip_empty: nothing new, no digest; none repeated
