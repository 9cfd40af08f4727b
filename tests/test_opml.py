"""OPML in and out of sources.yaml: round trip, report, duplicates, invalid input changes nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pressbot.cli import main
from pressbot.config import load_config, parse_config
from pressbot.opml import append_sources

ORIGINAL = """\
# Our outlets — keep this comment.
sources:
  # Italian
  - id: corriere-moda          # the fashion desk
    name: Corriere — Moda
    kind: feed
    url: https://example.it/moda/rss.xml
    language: it
    interval: 15m

  - id: xinhua-world
    name: 新华网 — 国际
    kind: feed
    url: https://example.cn/world.xml
    language: zh
    interval: 1h

  - id: wire-en
    kind: feed
    url: https://example.com/wire.rss
    interval: 10m

  - id: listing
    kind: page
    url: https://example.com/list.html
    selectors: {item: "div.item"}

  - id: old-feed
    kind: feed
    url: https://example.com/old.rss
    enabled: false

# Watch lists come next.
topics:
  - id: fashion
    keywords: {en: [fashion]}
"""

READER = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Exported by a feed reader</title></head>
  <body>
    <outline text="Italia">
      <outline type="rss" text="Il Post" title="Il Post" xmlUrl="https://www.ilpost.it/feed/" language="it-IT"/>
      <outline type="rss" text="Corriere again" xmlUrl="https://example.it/moda/rss.xml/"/>
    </outline>
    <outline type="rss" text="\xe6\x96\xb0\xe5\x8d\x8e\xe7\xbd\x91" xmlUrl="http://www.news.cn/rss/world.xml"/>
    <outline type="rss" text="Le Monde" xmlUrl="https://www.lemonde.fr/rss/une.xml" language="fr"/>
    <outline type="rss" text="Not http" xmlUrl="ftp://example.com/feed"/>
    <outline type="rss" text="Il Post" xmlUrl="https://www.ilpost.it/feed"/>
    <outline type="link" text="A web page, not a feed" url="https://example.com/"/>
  </body>
</opml>
"""


def pressbot(home: Path, *args: str, check: bool = True) -> Result:
    environ = {"PRESSBOT_SOURCES": str(home / "sources.yaml"), "PRESSBOT_STORAGE": str(home / "storage")}
    result = CliRunner().invoke(main, list(args), env=environ, catch_exceptions=False)
    if check:
        assert result.exit_code == 0, result.stderr
    return result


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "sources.yaml").write_text(ORIGINAL, encoding="utf-8")
    (tmp_path / "reader.opml").write_bytes(READER)
    return tmp_path


def test_export_then_import_gives_back_the_enabled_feeds(home, tmp_path):
    pressbot(home, "sources", "export", str(home / "feeds.opml"))
    exported = (home / "feeds.opml").read_text(encoding="utf-8")
    assert (
        exported.startswith("<?xml") and '<opml xmlns:pressbot="' in exported and 'version="2.0"' in exported
    )
    assert "list.html" not in exported and "old.rss" not in exported  # a page source; a disabled feed
    stdout = pressbot(home, "sources", "export").stdout
    assert re.sub(r"<dateCreated>.*?<", "", stdout) == re.sub(r"<dateCreated>.*?<", "", exported)

    other = tmp_path / "other"
    other.mkdir()
    (other / "sources.yaml").write_text("# A fresh file.\n", encoding="utf-8")
    result = pressbot(other, "sources", "import", str(home / "feeds.opml"), "--json")
    report = json.loads(result.stdout)
    assert [e["id"] for e in report["added"]] == ["corriere-moda", "xinhua-world", "wire-en"]
    assert report["skipped"] == [] and report["invalid"] == [] and report["written"] is True
    before = {s.id: s for s in load_config(home / "sources.yaml").sources}
    after = load_config(other / "sources.yaml").sources
    for source in after:
        original = before[source.id]
        assert (source.name, source.url, source.language, source.interval_s, source.kind) == (
            original.name,
            original.url,
            original.language,
            original.interval_s,
            "feed",
        )
    assert (
        (other / "sources.yaml")
        .read_text(encoding="utf-8")
        .startswith("# A fresh file.\n\nsources:\n  - id: corriere-moda\n")
    )
    # Importing the same file again adds nothing.
    again = json.loads(pressbot(other, "sources", "import", str(home / "feeds.opml"), "--json").stdout)
    assert again["added"] == [] and len(again["skipped"]) == 3 and again["written"] is False


def test_import_reports_added_skipped_and_invalid_and_keeps_comments(home):
    result = pressbot(home, "sources", "import", str(home / "reader.opml"), "--language", "zh")
    assert "added    il-post  https://www.ilpost.it/feed/" in result.stdout
    assert "added    news-cn  http://www.news.cn/rss/world.xml" in result.stdout
    assert (
        "skipped  https://example.it/moda/rss.xml/ — already in sources.yaml as 'corriere-moda'"
        in result.stdout
    )
    assert "skipped  https://www.ilpost.it/feed — already in sources.yaml as 'il-post'" in result.stdout
    assert (
        "invalid  https://www.lemonde.fr/rss/une.xml — language 'fr' is not one of zh, it, en"
        in result.stdout
    )
    assert "invalid  ftp://example.com/feed" in result.stdout
    assert "2 added, 2 skipped, 2 invalid" in result.stdout
    text = (home / "sources.yaml").read_text(encoding="utf-8")
    # Everything that was there is still there, byte for byte, and the new entries close the list.
    assert text.startswith(ORIGINAL.split("# Watch lists")[0].rstrip("\n"))
    assert text.endswith(
        "# Watch lists come next.\ntopics:\n  - id: fashion\n    keywords: {en: [fashion]}\n"
    )
    assert "  # Italian\n  - id: corriere-moda          # the fashion desk\n" in text
    config = load_config(home / "sources.yaml")
    added = {s.id: s for s in config.sources[5:]}
    assert list(added) == ["il-post", "news-cn"]
    assert added["il-post"].language == "it" and added["il-post"].name == "Il Post"
    assert added["news-cn"].language == "zh"  # no language attribute: --language
    assert [t.id for t in config.topics] == ["fashion"]


def test_dry_run_writes_nothing(home):
    result = pressbot(home, "sources", "import", str(home / "reader.opml"), "--dry-run", "--json")
    assert [e["id"] for e in json.loads(result.stdout)["added"]] == ["il-post", "news-cn"]
    assert json.loads(result.stdout)["written"] is False
    assert (home / "sources.yaml").read_text(encoding="utf-8") == ORIGINAL


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<opml version='2.0'><body><outline xmlUrl='https://x.example/feed'", "not well-formed XML"),
        (b"<rss version='2.0'><channel/></rss>", "the top element is not <opml>"),
        (b"<opml version='2.0'><head/></opml>", "OPML without a <body>"),
    ],
)
def test_invalid_opml_is_an_error_and_changes_nothing(home, content, message):
    (home / "bad.opml").write_bytes(content)
    result = pressbot(home, "sources", "import", str(home / "bad.opml"), check=False)
    assert result.exit_code == 2 and message in result.stderr
    assert (home / "sources.yaml").read_text(encoding="utf-8") == ORIGINAL


def test_a_broken_sources_file_is_not_touched(home):
    broken = ORIGINAL.replace("interval: 15m", "intervall: 15m")
    (home / "sources.yaml").write_text(broken, encoding="utf-8")
    result = pressbot(home, "sources", "import", str(home / "reader.opml"), check=False)
    assert result.exit_code == 2 and "unknown key 'intervall'" in result.stderr
    assert (home / "sources.yaml").read_text(encoding="utf-8") == broken


def test_entities_in_opml_are_not_expanded(home):
    (home / "laughs.opml").write_bytes(
        b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
        b'<opml version="2.0"><body><outline text="&b;" xmlUrl="https://x.example/feed"/></body></opml>'
    )
    result = pressbot(home, "sources", "import", str(home / "laughs.opml"), check=False)
    assert result.exit_code == 2 and "refuses to expand" in result.stderr
    assert (home / "sources.yaml").read_text(encoding="utf-8") == ORIGINAL


ENTRY = {"id": "new-feed", "kind": "feed", "url": "https://n.example/rss"}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# only a comment",
        "sources: []\ntopics: []\n",
        "topics:\n  - id: t\n    keywords: {en: [x]}\n",
        "sources:\n    - id: deep\n      kind: feed\n      url: https://d.example/rss",  # 4 spaces, no final newline
    ],
)
def test_append_sources_keeps_the_rest_and_validates(text):
    new_text = append_sources(text, [ENTRY])
    config = parse_config(new_text, path=Path("s.yaml"))
    assert config.sources[-1].id == "new-feed"
    for line in text.splitlines():
        if line != "sources: []":
            assert line in new_text
