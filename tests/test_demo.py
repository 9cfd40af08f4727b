"""`pressbot demo`: the bundled sample outlets, collected, grouped and printed as a digest, offline."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from pressbot.demo import ROUTES, render_feed, sources_yaml
from pressbot.translate.packages import install_package
from tests.clirun import run_pressbot
from tests.faketelegram import FakeTelegram

TOKEN = "123456:DEMO-token-abcdefghijklmnopqrstuvwxyz"


def _entries(stdout: str) -> list[str]:
    """The digest's numbered entries, as printed (one block of lines each)."""
    return re.split(r"\n(?=\d+\. )", stdout.split("\n\n", 1)[1])


def test_demo_prints_a_digest_of_trilingual_stories_with_no_models(tmp_path):
    result = run_pressbot(tmp_path, "demo", env={"PRESSBOT_MODELS": str(tmp_path / "no-models")})
    assert "── demo → @pressbot_demo (en, UTC) · 7 of 7 stories · 1 message(s)" in result.stdout
    assert re.search(r"── message 1/1 · \d+/4096 characters", result.stdout)
    entries = _entries(result.stdout)
    assert len([e for e in entries if re.match(r"\d+\. ", e)]) == 7
    # The opening: five articles (a near-copy among them) in three languages, headed in English.
    opening = next(e for e in entries if "Robot in Chinese couture opens" in e)
    assert "en 2 it 1 zh 2" in opening
    for outlet in ("Harbour Wire", "Design Dispatch", "Gazzetta della Moda", "鹏城日报", "龙华资讯"):
        assert outlet in opening
    trilingual = [e for e in entries if re.search(r"en \d+ it \d+ zh \d+", e)]
    assert len(trilingual) == 3
    # Without a model, a story known only in Chinese keeps its headline, marked untranslated.
    assert "Chinese, not translated" in result.stdout
    # The narrative (stderr) says what happened and how to get translations.
    assert "collected 15 articles from 6 of 6 sample outlets" in result.stderr
    assert "3 across languages" in result.stderr
    assert "pressbot models install --from-index zh it en" in result.stderr
    # Nothing was written where the user's archive would be.
    assert not (tmp_path / "storage").exists()


def test_demo_translates_with_installed_models_and_keeps_its_archive(tmp_path, fixtures_dir):
    models = tmp_path / "models"
    for package in sorted((fixtures_dir / "argos").glob("*.argosmodel")):
        install_package(models, package)
    kept = tmp_path / "demo"
    result = run_pressbot(
        tmp_path,
        "demo",
        "--lang",
        "it",
        "--storage",
        str(kept),
        "--json",
        env={"PRESSBOT_MODELS": str(models)},
    )
    digest = json.loads(result.stdout)
    assert digest["language"] == "it" and digest["timezone"] == "Europe/Rome"
    assert "15 of 15 articles got translated titles/leads" in result.stderr
    headlines = [story["headline"] for story in digest["stories"]]
    assert "Un robot cinese in passerella apre la Settimana della moda Bi-City a Milano" in headlines
    # A story with no Italian article is headed by a machine translation (the tiny models copy unknown words).
    translated = [s for s in digest["stories"] if s["machine_translated"]]
    assert {s["original_language"] for s in translated} == {"zh", "en"}
    assert all(s["model"].startswith("argos:") for s in translated)
    # The archive stays, with the demo's sources.yaml beside it, for `pressbot stories` and friends.
    stories = run_pressbot(
        tmp_path,
        "--storage",
        str(kept),
        "--sources",
        str(kept / "sources.yaml"),
        "stories",
        "--format",
        "json",
    )
    assert sorted(len(s["languages"]) for s in json.loads(stories.stdout))[-3:] == [3, 3, 3]


def test_demo_posts_through_the_outbox(tmp_path):
    with FakeTelegram(TOKEN) as fake:
        environ = {
            "PRESSBOT_TELEGRAM_TOKEN": TOKEN,
            "PRESSBOT_TELEGRAM_BASE_URL": fake.base_url,
            "PRESSBOT_MODELS": str(tmp_path / "no-models"),
        }
        result = run_pressbot(tmp_path, "demo", "--post", "--chat", "@pressbot_test", env=environ)
    assert "delivered: 1 sent, 0 failed, 0 still pending" in result.stdout
    [text] = fake.texts("@pressbot_test")
    assert "Robot in Chinese couture opens Shenzhen-Milan Bi-City Fashion Week" in text


def test_demo_post_needs_a_token_and_a_chat(tmp_path):
    no_chat = run_pressbot(tmp_path, "demo", "--post", check=False, env={"PRESSBOT_TELEGRAM_TOKEN": TOKEN})
    assert no_chat.returncode == 2 and "--post needs --chat" in no_chat.stderr
    no_token = run_pressbot(
        tmp_path, "demo", "--post", "--chat", "@x_channel", check=False, env={"PRESSBOT_TELEGRAM_TOKEN": ""}
    )
    assert no_token.returncode == 2 and "PRESSBOT_TELEGRAM_TOKEN is not set" in no_token.stderr


@pytest.mark.parametrize("name", sorted(route[0] for route in ROUTES.values()))
def test_sample_feed_dates_are_relative_to_now(name):
    now = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
    text = render_feed(name, now=now)
    assert "{{" not in text
    if name.endswith(".rss"):
        dates = [parsedate_to_datetime(d) for d in re.findall(r"<pubDate>(.*?)</pubDate>", text)]
    elif name.endswith(".atom"):
        dates = [datetime.fromisoformat(d) for d in re.findall(r"<published>(.*?)</published>", text)]
    else:  # Beijing time without an offset, as the demo's sources.yaml declares
        items = json.loads(text)["data"]["list"]
        dates = [datetime.fromisoformat(i["focus_date"]) - timedelta(hours=8) for i in items]
        dates = [d.replace(tzinfo=UTC) for d in dates]
    assert dates and all(now - timedelta(hours=24) < d < now for d in dates)


def test_demo_sources_yaml_is_valid(tmp_path):
    from pressbot.config import parse_config

    text = sources_yaml(
        "http://127.0.0.1:8000", chat="@pressbot_demo", language="zh", timezone="Asia/Shanghai"
    )
    config = parse_config(text, path=Path("demo.yaml"))
    assert {s.language for s in config.sources} == {"zh", "it", "en"}
    assert {s.kind for s in config.sources} == {"feed", "json"}
    assert config.channels[0].language == "zh" and config.channels[0].chat == "@pressbot_demo"
