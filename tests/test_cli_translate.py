"""`pressbot models` and `pressbot translate` end to end, with the tiny Argos packages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.clirun import run_pressbot

run = run_pressbot


@pytest.fixture
def installed(tmp_path, fixtures_dir):
    packages = sorted(str(p) for p in (fixtures_dir / "argos").glob("*.argosmodel"))
    assert len(packages) == 4
    run(tmp_path, "models", "install", *packages)
    return tmp_path


def test_models_list_json(installed):
    listed = json.loads(run(installed, "models", "list", "--json").stdout)
    assert {(p["from"], p["to"]) for p in listed} == {("en", "it"), ("it", "en"), ("en", "zh"), ("zh", "en")}
    assert all(p["version"] and Path(p["path"]).is_dir() and str(installed) in p["path"] for p in listed)


def test_translate_direct_pivot_and_cache(installed):
    assert (
        run(installed, "translate", "hello world", "--from", "en", "--to", "it").stdout.strip()
        == "ciao mondo"
    )
    first = json.loads(run(installed, "translate", "你好世界", "--to", "it", "--json").stdout)
    assert first["from"] == "zh" and first["translation"] == "ciao mondo" and first["machine_translated"]
    assert "zh_en" in first["model"] and "en_it" in first["model"] and first["cached"] is False
    again = json.loads(run(installed, "translate", "你好世界", "--to", "it", "--json").stdout)
    assert again["cached"] is True and again["translation"] == "ciao mondo"


def test_missing_pair_and_broken_package_say_what_to_do(installed, fixtures_dir):
    run(installed, "models", "remove", "en", "it")
    missing = run(installed, "translate", "你好", "--from", "zh", "--to", "it", check=False)
    assert missing.returncode == 1 and "pressbot models install" in missing.stderr
    before = sorted(p.name for p in (installed / "storage" / "models").iterdir())
    broken = run(installed, "models", "install", str(fixtures_dir / "feeds" / "manifest.json"), check=False)
    assert (
        broken.returncode == 1
        and "not an Argos Translate package" in broken.stderr
        and "Nothing was installed" in broken.stderr
    )
    assert sorted(p.name for p in (installed / "storage" / "models").iterdir()) == before
    gone = run(installed, "models", "remove", "en", "it", check=False)
    assert gone.returncode == 1 and "pressbot models list" in gone.stderr


def test_translate_an_archived_article(installed, server):
    feed = b"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>
<item><title>hello world</title><link>http://example.com/a</link><description>good morning, president. the city news today.</description></item>
</channel></rss>"""
    server.documents["en.xml"] = (feed, "application/rss+xml")
    (installed / "sources.yaml").write_text(
        f"sources:\n  - id: en-test\n    kind: feed\n    url: {server.url('data/en.xml')}\n    language: en\n",
        encoding="utf-8",
    )
    run(installed, "fetch")
    [hit] = json.loads(run(installed, "archive", "search", "hello", "--json").stdout)
    translated = json.loads(
        run(installed, "translate", "--article", str(hit["id"]), "--to", "it", "--json").stdout
    )
    assert translated["title"] == "ciao mondo"
    assert (
        translated["summary"] == "buono mattina, presidente. the città notizie oggi."
    )  # a glossary model: "the" is copied
    assert translated["from"] == "en" and translated["machine_translated"] and "en_it" in translated["model"]
    both = run(installed, "translate", "hello", "--article", "1", "--to", "it", check=False)
    assert both.returncode == 2 and "either TEXT or --article" in both.stderr
