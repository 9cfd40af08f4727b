"""`pressbot status`: archive size, source health, backlogs, models; `--healthcheck` exit codes."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pressbot.cli import main
from pressbot.models import Article
from pressbot.store import Archive
from pressbot.store.outbox import DigestRecord
from pressbot.translate.packages import install_package

NOW = datetime.now(UTC)
SOURCES = """\
sources:
  - {id: wire-en, kind: feed, url: "https://wire.example/rss", language: en}
  - {id: moda-it, kind: feed, url: "https://moda.example/rss", language: it}
  - {id: old-zh, kind: feed, url: "https://old.example/rss", language: zh, enabled: false}
"""


def pressbot(home: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    environ = {
        "PRESSBOT_SOURCES": str(home / "sources.yaml"),
        "PRESSBOT_STORAGE": str(home / "storage"),
        "PRESSBOT_MODELS": str(home / "models"),
    }
    return CliRunner().invoke(main, list(args), env=environ | (env or {}), catch_exceptions=False)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    with Archive.open(tmp_path / "storage") as archive:
        articles = [
            Article(
                source_id="wire-en", url=f"https://wire.example/{n}", title=f"Hello world {n}", language="en"
            )
            for n in range(3)
        ] + [Article(source_id="moda-it", url="https://moda.example/1", title="Ciao mondo", language="it")]
        archive.upsert([a.__class__(**{**a.__dict__, "fetched_at": NOW}) for a in articles], now=NOW)
        archive.record_success("wire-en", now=NOW - timedelta(minutes=5), etag=None, last_modified=None)
        archive.record_failure(
            "moda-it", now=NOW, error="https://moda.example/rss: HTTP 503 Service Unavailable"
        )
        record = DigestRecord(
            channel_id="press-en",
            chat="@press_en",
            since=NOW - timedelta(days=1),
            until=NOW,
            topic=None,
            stories=1,
        )
        archive.queue_digest(record, ["<b>one</b>", "<b>two</b>"], now=NOW, advance=True)
    return tmp_path


def test_status_json_reports_archive_sources_backlog_and_models(home):
    result = pressbot(home, "status", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["archive"]["articles"] == 4 and report["archive"]["stories"] == 0
    assert report["archive"]["translations"] == 0 and report["archive"]["db_bytes"] > 10_000
    sources = {s["id"]: s for s in report["sources"]}
    assert list(sources) == ["wire-en", "moda-it", "old-zh"]
    assert sources["wire-en"]["articles"] == 3 and sources["wire-en"]["failures"] == 0
    assert sources["wire-en"]["last_success"].endswith("Z")
    assert sources["moda-it"]["failures"] == 1 and "HTTP 503" in sources["moda-it"]["last_error"]
    assert sources["old-zh"]["enabled"] is False and sources["old-zh"]["last_attempt"] is None
    # No model: nothing can be translated yet, so nothing waits for translation.
    assert report["backlog"]["untranslated_articles"] == 0 and report["backlog"]["complete"] is True
    assert report["backlog"]["outbox_pending"] == 2 and report["backlog"]["outbox_failed"] == 0
    assert report["models"] == []
    assert report["service"] == {
        "running": False,
        "stale": False,
        "started_at": None,
        "uptime_s": None,
        "jobs": [],
    }


def test_untranslated_backlog_follows_the_installed_models(home, fixtures_dir):
    install_package(home / "models", fixtures_dir / "argos" / "translate-en_it-tiny.argosmodel")
    report = json.loads(pressbot(home, "status", "--json").stdout)
    assert [(m["from"], m["to"]) for m in report["models"]] == [("en", "it")]
    assert report["backlog"]["untranslated_articles"] == 3  # the English ones; nothing takes it→en
    assert pressbot(home, "translate", "--backlog").exit_code == 0
    report = json.loads(pressbot(home, "status", "--json").stdout)
    assert report["backlog"]["untranslated_articles"] == 0 and report["archive"]["translations"] == 3


def test_status_table(home):
    result = pressbot(home, "status")
    assert result.exit_code == 0, result.stderr
    assert "4 articles, 0 stories" in result.stdout
    assert "outbox 2 pending, 0 failed" in result.stdout
    assert "Models: none in" in result.stdout and "pressbot models install" in result.stdout
    assert "HTTP 503 Service Unavailable" in result.stdout and "old-zh (disabled)" in result.stdout


def test_healthcheck_ok(home):
    result = pressbot(home, "status", "--healthcheck")
    assert result.exit_code == 0
    assert result.stdout.startswith("ok: archive ") and result.stdout.count("\n") == 1
    as_json = json.loads(pressbot(home, "status", "--healthcheck", "--json").stdout)
    assert as_json["ok"] is True


def test_healthcheck_fails_when_storage_cannot_be_written(home, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = pressbot(home, "status", "--healthcheck", env={"PRESSBOT_STORAGE": str(blocker)})
    assert result.exit_code == 1
    assert result.stdout.startswith("unhealthy: cannot open the archive") and result.stdout.count("\n") == 1


def test_healthcheck_fails_on_a_damaged_database(home):
    # (Read-only permissions cannot be tested reliably: CI runs as root, which writes anyway.)
    database = home / "storage" / "pressbot.db"
    for suffix in ("-wal", "-shm"):
        database.with_name(database.name + suffix).unlink(missing_ok=True)
    database.write_bytes(b"this is not a SQLite database" * 100)
    result = pressbot(home, "status", "--healthcheck")
    assert result.exit_code == 1 and result.stdout.startswith("unhealthy: ")
    assert result.stdout.count("\n") == 1


def test_healthcheck_fails_on_a_broken_sources_file_and_when_every_source_fails(home):
    (home / "sources.yaml").write_text(SOURCES.replace("language: en", "lang: en"), encoding="utf-8")
    result = pressbot(home, "status", "--healthcheck")
    assert result.exit_code == 1 and "unknown key 'lang'" in result.stdout
    (home / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    with Archive.open(home / "storage") as archive:
        for _ in range(5):
            for source_id in ("wire-en", "moda-it"):
                archive.record_failure(source_id, now=NOW, error="connection refused")
    result = pressbot(home, "status", "--healthcheck")
    assert result.exit_code == 1 and "all 2 enabled sources are failing" in result.stdout


def service_file(home: Path, *, heartbeat: datetime, running: bool = True) -> None:
    """What `pressbot run` writes to storage/service.json (its heartbeat)."""
    report = {
        "running": running,
        "pid": 4242,
        "host": "press-vm",
        "started_at": (heartbeat - timedelta(hours=2)).isoformat(),
        "uptime_s": 7200,
        "heartbeat_at": heartbeat.isoformat(),
        "heartbeat_every_s": 15,
        "telegram": True,
        "jobs": [
            {
                "id": "digest:press-en",
                "schedule": "cron 0 8,18 * * * (Europe/Rome)",
                "next_run": (heartbeat + timedelta(hours=3)).isoformat(),
                "runs": 1,
                "last_run": (heartbeat - timedelta(hours=1)).isoformat(),
                "last_seconds": 0.4,
                "last_error": None,
            },
            {
                "id": "fetch:moda-it",
                "schedule": "every 30m (±60s)",
                "next_run": (heartbeat + timedelta(minutes=12)).isoformat(),
                "runs": 4,
                "last_run": (heartbeat - timedelta(minutes=18)).isoformat(),
                "last_seconds": 1.2,
                "last_error": "https://moda.example/rss: HTTP 503 Service Unavailable",
            },
        ],
    }
    (home / "storage" / "service.json").write_text(json.dumps(report), encoding="utf-8")


def test_status_shows_the_running_service_and_its_jobs(home):
    service_file(home, heartbeat=datetime.now(UTC))
    result = pressbot(home, "status")
    assert result.exit_code == 0, result.stderr
    assert "Service: running since 2h ago (pid 4242 on press-vm, Telegram on)" in result.stdout
    assert "digest:press-en" in result.stdout and "in 2h" in result.stdout  # 2h59m: whole hours
    assert "fetch:moda-it" in result.stdout and "in 11m" in result.stdout
    service = json.loads(pressbot(home, "status", "--json").stdout)["service"]
    assert service["running"] is True and service["stale"] is False and len(service["jobs"]) == 2
    assert pressbot(home, "status", "--healthcheck").exit_code == 0


def test_a_silent_service_is_unhealthy_and_a_stopped_one_is_not(home):
    service_file(home, heartbeat=datetime.now(UTC) - timedelta(minutes=5))
    result = pressbot(home, "status", "--healthcheck")
    assert result.exit_code == 1
    assert re.search(r"`pressbot run` \(pid 4242\) has not written its heartbeat for 30\ds", result.stdout)
    assert re.search(r"silent for 30\ds", pressbot(home, "status").stdout)
    service_file(home, heartbeat=datetime.now(UTC) - timedelta(days=1), running=False)  # a clean stop
    assert pressbot(home, "status", "--healthcheck").exit_code == 0
    assert "Service: not running — start it with `pressbot run`." in pressbot(home, "status").stdout
