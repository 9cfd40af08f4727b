"""sources.yaml and settings: the shipped file is valid; every mistake gets file, entry, key and a hint."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pressbot.config import load_config, load_settings, parse_config, parse_duration, parse_when
from pressbot.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent
GOOD = """
sources:
  - id: corriere-moda
    name: Corriere della Sera — Moda
    kind: feed
    url: https://xml2.corriereobjects.it/rss/moda.xml
    language: it
    interval: 15m
    full_text: false
    enabled: true
  - id: cctv-news
    kind: json
    url: https://news.cctv.com/2019/07/gaiban/cmsdatainterface/page/news_1.jsonp?cb=news
    language: zh
    timezone: Asia/Shanghai
    fields: {items: data.list, url: url, title: title, date: focus_date}
topics:
  - id: bi-city-fashion-week
    name: Shenzhen–Milan Bi-City Fashion Week
    keywords: {zh: [双城时装周, 龙华], it: [Settimana della moda, Longhua], en: [Bi-City Fashion Week]}
"""


def test_shipped_sources_yaml_is_valid_and_covers_three_languages():
    config = load_config(REPO / "sources.yaml")
    enabled = [s for s in config.sources if s.enabled]
    assert len(enabled) >= 15
    assert {s.language for s in enabled} >= {"zh", "it", "en"}
    assert {s.kind for s in enabled} == {"feed", "page", "json"}
    names = " ".join(s.name for s in config.sources)
    for outlet in (
        "CCTV",
        "Xinhua",
        "People",
        "China Daily",
        "Corriere",
        "ANSA",
        "Repubblica",
        "Sole 24 Ore",
        "South China Morning Post",
    ):
        assert outlet in names, outlet
    topic = next(t for t in config.topics if t.id == "bi-city-fashion-week")
    assert "双城时装周" in topic.keywords["zh"]


def test_good_config_parses():
    config = parse_config(GOOD, path=Path("sources.yaml"))
    moda, cctv = config.sources
    assert moda.interval_s == 900 and moda.language == "it" and moda.kind == "feed"
    assert cctv.fields is not None and cctv.fields.items == "data.list" and cctv.timezone == "Asia/Shanghai"
    assert cctv.interval_s == 1800  # the default


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "    full_text: false",
            "    fulltext: false",
            "entry 1 (corriere-moda): unknown key 'fulltext' — did you mean 'full_text'?",
        ),
        (
            "url: https://xml2",
            "url: ftp://xml2",
            "entry 1 (corriere-moda): key 'url': 'ftp://xml2.corriereobjects.it/rss/moda.xml' is not an http:// or https://",
        ),
        (
            "id: cctv-news",
            "id: corriere-moda",
            "entry 2 (corriere-moda): key 'id': 'corriere-moda' is already used by entry 1",
        ),
        (
            "interval: 15m",
            "interval: 15 minutes",
            "entry 1 (corriere-moda): key 'interval': '15 minutes' is not a duration like 90s",
        ),
        ("interval: 15m", "interval: 1s", "key 'interval': 1s is too short"),
        ("kind: feed", "kind: rss", "key 'kind': 'rss' is not one of feed, page, json"),
        ("language: it", "language: fr", "key 'language': 'fr' is not one of zh, it, en"),
        ("enabled: true", "enabled: yes please", "key 'enabled' must be true or false"),
        (
            "timezone: Asia/Shanghai",
            "timezone: Mars/Olympus",
            "key 'timezone': 'Mars/Olympus' is not a time zone",
        ),
        (
            "fields: {items: data.list, url: url, title: title, date: focus_date}",
            "fields: {items: data.list, url: url}",
            "'title' (a dotted path",
        ),
        (
            "keywords: {zh:",
            "words: {zh:",
            "topics entry 1 (bi-city-fashion-week): unknown key 'words' — did you mean 'keywords'?",
        ),
        ("topics:", "topic:", "unknown top-level key 'topic' — did you mean 'topics'?"),
        ("    name: Corriere della Sera — Moda\n", "    name: [unclosed\n", "not valid YAML at line"),
    ],
)
def test_mistakes_name_file_entry_key_and_hint(old, new, expected):
    assert old in GOOD
    with pytest.raises(ConfigError) as caught:
        parse_config(GOOD.replace(old, new, 1), path=Path("conf/sources.yaml"))
    message = str(caught.value)
    assert message.startswith("conf/sources.yaml")
    assert expected in message


def test_missing_file_says_how_to_fix(tmp_path):
    with pytest.raises(ConfigError, match="no such file .* --sources"):
        load_config(tmp_path / "nope.yaml")


def test_cli_refuses_to_start_on_a_bad_file(tmp_path):
    bad = tmp_path / "sources.yaml"
    bad.write_text(GOOD.replace("full_text", "fulltext"), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pressbot", "--sources", str(bad), "--storage", str(tmp_path / "s"), "fetch"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown key 'fulltext' — did you mean 'full_text'?" in lines[0]
    assert not (tmp_path / "s" / "pressbot.db").exists()  # nothing started


def test_settings_from_environment_and_errors():
    settings = load_settings(
        {"PRESSBOT_MAX_BYTES": "2MB", "PRESSBOT_PER_HOST": "2", "PRESSBOT_ALLOW_PRIVATE_NETWORKS": "1"}
    )
    assert settings.max_bytes == 2 * 1024**2 and settings.per_host == 2 and settings.allow_private_networks
    assert load_settings({}).sources == Path("./sources.yaml")
    with pytest.raises(ConfigError, match="PRESSBOT_PER_HOST='zero' is invalid"):
        load_settings({"PRESSBOT_PER_HOST": "zero"})


def test_when_and_durations():
    from datetime import UTC, datetime, timedelta

    now = datetime(2025, 4, 9, 12, 0, tzinfo=UTC)
    assert parse_when("90m", now=now) == now - timedelta(minutes=90)
    assert parse_when("7d", now=now) == now - timedelta(days=7)
    assert parse_when("2025-04-09T18:00+02:00", now=now) == datetime(2025, 4, 9, 16, 0, tzinfo=UTC)
    assert parse_when("2025-04-01", now=now) == datetime(2025, 4, 1, tzinfo=UTC)
    assert parse_duration("2h") == timedelta(hours=2)
    with pytest.raises(ConfigError, match="neither a date/time"):
        parse_when("last week", now=now)
