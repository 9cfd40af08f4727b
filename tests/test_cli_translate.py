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
    assert both.returncode == 2 and "either TEXT, --article ID or --backlog" in both.stderr


EN_FEED = b"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>
<item><title>hello Bi-City Fashion Week</title><link>http://example.com/a</link><description>good news from Longhua today.</description></item>
</channel></rss>"""
ZH_FEED = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>
<item><title>你好双城时装周</title><link>http://example.com/zh</link><description>龙华今天新闻。</description></item>
</channel></rss>""".encode()
SOURCES = """sources:
  - {{id: en-test, kind: feed, url: "{en}", language: en}}
  - {{id: zh-test, kind: feed, url: "{zh}", language: zh}}
glossary:
  - {{en: Bi-City Fashion Week, zh: 双城时装周, it: Settimana della moda Bi-City}}
  - {{en: Longhua, zh: 龙华, it: Longhua}}
"""


def _article_id(folder: Path, query: str) -> int:
    [hit] = json.loads(run(folder, "archive", "search", query, "--json").stdout)
    return int(hit["id"])


def test_fetch_translates_titles_and_leads_with_the_glossary_then_backlog(tmp_path, fixtures_dir, server):
    server.documents["en.xml"] = (EN_FEED, "application/rss+xml")
    server.documents["zh.xml"] = (ZH_FEED, "application/rss+xml")
    (tmp_path / "sources.yaml").write_text(
        SOURCES.format(en=server.url("data/en.xml"), zh=server.url("data/zh.xml")), encoding="utf-8"
    )
    argos = fixtures_dir / "argos"
    run(tmp_path, "models", "install", str(argos / "translate-en_it-tiny.argosmodel"))
    fetched = run(tmp_path, "fetch")
    assert "1 of 2 articles got translated titles/leads: 2 texts translated" in fetched.stderr
    assert "No model for en→zh (1 articles), zh→en (1 articles), zh→it (1 articles)" in fetched.stderr
    assert "`pressbot models install --from-index zh it en`" in fetched.stderr
    english, chinese = _article_id(tmp_path, "hello"), _article_id(tmp_path, "你好")

    shown = json.loads(run(tmp_path, "archive", "show", str(english), "--json").stdout)
    assert shown["translations"] == {
        "it": {
            "title": "ciao Settimana della moda Bi-City",
            "summary": "buono notizie from Longhua oggi.",
            "model": shown["translations"]["it"]["model"],
        }
    }
    assert shown["translations"]["it"]["model"].startswith("argos:translate-en_it-0.0.1+glossary-")
    assert json.loads(run(tmp_path, "archive", "show", str(chinese), "--json").stdout)["translations"] == {}
    plain = run(tmp_path, "archive", "show", str(english)).stdout
    assert "[it] machine-translated (argos:translate-en_it-0.0.1+glossary-" in plain
    assert "ciao Settimana della moda Bi-City" in plain and "buono notizie from Longhua oggi." in plain

    # The zh packages arrive: the backlog fills in what the cycle could not translate.
    run(
        tmp_path,
        "models",
        "install",
        *(str(argos / f"translate-{p}-tiny.argosmodel") for p in ("zh_en", "en_zh", "it_en")),
    )
    backlog = json.loads(run(tmp_path, "translate", "--backlog", "--json").stdout)
    assert backlog["articles"] == 2 and backlog["translated_articles"] == 2
    assert backlog["texts_translated"] == 6 and backlog["texts_cached"] == 2
    assert backlog["unavailable"] == [] and backlog["install"] is None and backlog["errors"] == []
    zh = json.loads(run(tmp_path, "archive", "show", str(chinese), "--json").stdout)["translations"]
    assert zh["it"]["title"] == "ciao Settimana della moda Bi-City"  # zh→en→it, glossary through the pivot
    assert zh["it"]["summary"] == "Longhua oggi notizie。"
    assert zh["en"]["title"] == "hello Bi-City Fashion Week"
    en = json.loads(run(tmp_path, "archive", "show", str(english), "--json").stdout)["translations"]
    assert en["zh"]["title"] == "你好双城时装周" and set(en) == {"it", "zh"}
    again = run(tmp_path, "translate", "--backlog")
    assert (
        "0 of 2 articles got translated titles/leads: 0 texts translated, 8 already cached." in again.stdout
    )
    # --article keeps working, and reuses the cached title
    article = json.loads(run(tmp_path, "translate", "--article", str(chinese), "--to", "it", "--json").stdout)
    assert article["title"] == "ciao Settimana della moda Bi-City"


def test_backlog_usage_errors(tmp_path, fixtures_dir):
    (tmp_path / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    limit = run(tmp_path, "translate", "hello", "--to", "it", "--limit", "3", check=False)
    assert limit.returncode == 2 and "--limit goes with --backlog" in limit.stderr
    no_target = run(tmp_path, "translate", "hello", check=False)
    assert no_target.returncode == 2 and "--to is required" in no_target.stderr
    nothing = run(tmp_path, "translate", "--backlog", check=False)
    assert nothing.returncode == 1 and "no translation model is installed" in nothing.stderr
    assert "pressbot models install --from-index zh it en" in nothing.stderr
    (tmp_path / "sources.yaml").write_text("sources: []\nglossary:\n  - {en: Longhua}\n", encoding="utf-8")
    broken = run(tmp_path, "translate", "--backlog", check=False)
    assert (
        broken.returncode == 2 and "glossary entry 1 (Longhua): key 'en' alone says nothing" in broken.stderr
    )
