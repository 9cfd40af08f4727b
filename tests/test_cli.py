"""The `pressbot` command end to end, as a subprocess against the local HTTP server."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

import pytest

from tests.clirun import run_pressbot

DATA = Path(__file__).parent / "data"
FUNDUS_IT = "pages/fundus_parser_testdata/it/CorriereDellaSera_2025_02_04.html.gz"


LOCAL = {"PRESSBOT_ALLOW_PRIVATE_NETWORKS": "1", "PRESSBOT_TIMEOUT": "3", "PRESSBOT_RETRIES": "0"}


def run(tmp_path: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_pressbot(tmp_path, *args, check=check, env=LOCAL)


@pytest.fixture
def configured(tmp_path, server):
    teaser_feed = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Corriere (test)</title><link>{server.base}/</link><language>it</language>
<item><title>Meloni a Mar-a-Lago da Trump</title><link>{server.url(FUNDUS_IT)}?utm_source=rss</link>
<description>Teaser.</description><pubDate>Sun, 05 Jan 2025 08:00:00 +0100</pubDate></item>
</channel></rss>""".encode()
    server.documents["corriere.xml"] = (teaser_feed, "application/rss+xml")
    server.documents["cctv.jsonp"] = ((DATA / "cctv_news.jsonp").read_bytes(), "application/javascript")
    (tmp_path / "sources.yaml").write_text(
        f"""
sources:
  - id: guardian
    name: The Guardian US
    kind: feed
    url: {server.url("feeds/en/guardian_us.rss")}
    language: en
    interval: 15m
  - id: qq-gb2312
    name: QQ News
    kind: feed
    url: {server.url("feeds/zh/qq_news_china_gb2312.xml")}
    interval: 30m
  - id: corriere-full
    name: Corriere della Sera (full text)
    kind: feed
    url: {server.url("data/corriere.xml")}
    language: it
    full_text: true
  - id: cctv
    name: CCTV news
    kind: json
    url: {server.url("data/cctv.jsonp")}
    language: zh
    timezone: Asia/Shanghai
    fields: {{items: data.list, url: url, title: title, date: focus_date, summary: brief, id: id}}
  - id: broken
    name: A broken outlet
    kind: feed
    url: {server.url("status/500")}
  - id: sleeping
    name: Disabled outlet
    kind: feed
    url: {server.url("status/404")}
    enabled: false
topics:
  - id: bi-city-fashion-week
    name: Bi-City Fashion Week
    keywords: {{zh: [双城时装周], it: [Settimana della moda], en: [Bi-City Fashion Week]}}
""",
        encoding="utf-8",
    )
    return tmp_path


def test_fetch_search_show_and_sources(configured):
    result = run(configured, "fetch", "--json")
    reports = {r["source"]: r for r in json.loads(result.stdout)}
    assert set(reports) == {"guardian", "qq-gb2312", "corriere-full", "cctv", "broken"}  # disabled skipped
    assert reports["guardian"]["new"] == 55 and reports["qq-gb2312"]["new"] == 20
    assert reports["cctv"]["new"] == 2 and reports["corriere-full"]["new"] == 1
    assert reports["broken"]["failed"] and "HTTP 500" in reports["broken"]["errors"][0]

    table = run(configured, "fetch").stdout  # second cycle: conditional GET
    assert "not modified (304)" in table and "HTTP 500" in table

    hits = json.loads(run(configured, "archive", "search", "双城时装周", "--format", "json").stdout)
    assert [h["source"] for h in hits] == ["cctv", "cctv"]
    assert {"id", "source", "language", "title", "url", "published_at"} <= set(hits[0])
    assert hits[0]["published_at"] in ("2025-04-14T13:30:00Z", "2025-04-09T10:00:00Z")

    full = json.loads(run(configured, "archive", "search", "Mar-a-Lago", "--lang", "it", "--json").stdout)
    assert len(full) == 1 and "utm_source" not in full[0]["url"]
    shown = json.loads(run(configured, "archive", "show", str(full[0]["id"]), "--json").stdout)
    assert "Giorgia Meloni" in shown["body"] and len(shown["body"]) > 1000  # extracted from the page

    rows = list(
        csv.reader(
            io.StringIO(
                run(configured, "archive", "search", "Trump", "--format", "csv", "--limit", "3").stdout
            )
        )
    )
    assert rows[0] == ["id", "source", "language", "published_at", "title", "url"] and 1 < len(rows) <= 4

    sources = {s["id"]: s for s in json.loads(run(configured, "sources", "--json").stdout)}
    assert sources["broken"]["failures"] == 2 and "HTTP 500" in sources["broken"]["last_error"]
    assert sources["guardian"]["failures"] == 0 and sources["guardian"]["last_success"].endswith("Z")
    assert sources["sleeping"]["last_success"] is None and sources["sleeping"]["enabled"] is False
    listing = run(configured, "sources").stdout
    assert "guardian" in listing and "HTTP 500" in listing


def test_sources_check_reports_without_storing(configured):
    checked = {s["id"]: s for s in json.loads(run(configured, "sources", "--check", "--json").stdout)}
    assert checked["guardian"]["check_items"] == 55 and checked["guardian"]["check_error"] is None
    assert "HTTP 500" in checked["broken"]["check_error"]
    assert "check_items" not in checked["sleeping"]
    hits = json.loads(run(configured, "archive", "search", "Trump", "--json").stdout)
    assert hits == []


def test_usage_errors_exit_non_zero_with_one_line(configured):
    unknown = run(configured, "fetch", "guardain", check=False)
    assert (
        unknown.returncode == 2
        and unknown.stderr.count("\n") == 1
        and "did you mean 'guardian'" in unknown.stderr
    )
    missing = run(configured, "archive", "show", "999", check=False)
    assert missing.returncode == 1 and "no article 999" in missing.stderr
    bad_when = run(configured, "archive", "search", "x", "--since", "yesterday", check=False)
    assert bad_when.returncode == 2 and "duration back from now" in bad_when.stderr


def test_every_command_has_help(tmp_path):
    for command in ([], ["fetch"], ["sources"], ["archive"], ["archive", "search"], ["archive", "show"]):
        result = run(tmp_path, *command, "--help")
        assert "Usage: " in result.stdout and "--help" in result.stdout


def test_stories_commands(configured):
    run(configured, "fetch")
    stories = json.loads(run(configured, "stories", "--format", "json", "--limit", "500").stdout)
    assert stories and {"id", "first_seen", "articles", "languages", "outlets"} <= set(stories[0])
    article = stories[0]["articles"][0]
    assert {"id", "source", "language", "title", "url"} <= set(article)
    total = sum(len(s["articles"]) for s in stories)
    assert total == 55 + 20 + 1 + 2  # every archived article is in exactly one story
    # The two CCTV items (opening and closing of the fashion week) and the topic filter.
    topical = json.loads(
        run(configured, "stories", "--topic", "bi-city-fashion-week", "--format", "json").stdout
    )
    assert topical and all(any(a["source"] == "cctv" for a in s["articles"]) for s in topical)
    shown = json.loads(run(configured, "stories", "show", str(topical[0]["id"]), "--json").stdout)
    assert shown["id"] == topical[0]["id"] and shown["articles"][0]["reason"]
    assert shown["representatives"]["zh"] == shown["articles"][0]["id"]
    assert "first seen" in run(configured, "stories", "show", str(topical[0]["id"])).stdout
    per_story = json.loads(run(configured, "archive", "search", "Trump", "--stories", "--json").stdout)
    assert len({hit["story"] for hit in per_story}) == len(per_story)
    missing = run(configured, "stories", "--topic", "nope", check=False)
    assert missing.returncode == 2 and "no topic 'nope'" in missing.stderr
