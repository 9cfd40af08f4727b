"""The archive on a real SQLite file: upserts with history, search in zh/it/en, migrations."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from pressbot.errors import StoreError
from pressbot.models import Article
from pressbot.store import Archive, QuerySyntaxError, SearchQuery, migrations
from pressbot.store.search import index_tokens, match_expression

NOW = datetime(2025, 4, 15, 8, 0, tzinfo=UTC)


def article(n: int, title: str, language: str, *, summary: str = "", source: str = "src", **kw) -> Article:
    return Article(
        source_id=source,
        url=f"https://example.com/{n}",
        title=title,
        summary=summary,
        language=language,
        fetched_at=NOW,
        published_at=kw.pop("published_at", NOW - timedelta(hours=n)),
        content_hash=f"h{n}-{title}",
        **kw,
    )


CORPUS = [
    article(1, "2025深圳（龙华）—米兰双城时装周在米兰圆满落幕", "zh", summary="乐聚机器人身着HUI时装登台。"),
    article(2, "深圳市发布新政策", "zh"),
    article(3, "中国国际进口博览会开幕", "zh"),
    article(
        4,
        "La settimana della moda di Milano: la città si prepara",
        "it",
        summary="Perché Shenzhen guarda all'Italia",
    ),
    article(5, "Moda, Longhua e Milano più vicine", "it", source="ansa"),
    article(
        6,
        "Bi-City Fashion Week opens in Milan",
        "en",
        summary="Shenzhen's Longhua district brings robots to the runway.",
    ),
    article(7, "Government announces new city budget", "en", source="ansa"),
]


@pytest.fixture
def archive(tmp_path):
    with Archive.open(tmp_path) as opened:
        opened.upsert(CORPUS, now=NOW)
        yield opened


def ids(archive: Archive, query: str, **filters) -> list[int]:
    return [hit.id or 0 for hit in archive.search(SearchQuery(query, **filters))]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("深圳", [2, 1]),  # 2 characters, inside 深圳市 too
        ("米兰", [1]),
        ("时装周", [1]),  # 3 characters
        ("双城时装", [1]),  # 4 characters
        ("中国", [3]),
        ("龙", [1]),  # a single character
        ("城时装周", [1]),
        ("机器人", [1]),  # in the summary
        ("上海", []),
        ("città", [4]),
        ("citta", [4]),  # accents folded
        ("perche", [4]),
        ("PIÙ", [5]),
        ("fashion week", [6]),
        ("government", [7]),
        ("Milan*", [6, 5, 4]),  # prefix: Milan, Milano
        ("longhua", [6, 5]),
        ('"fashion week" -milan', []),
        ("moda -longhua", [4]),
    ],
)
def test_search_in_three_languages(archive, query, expected):
    assert ids(archive, query) == expected


def test_search_filters(archive):
    assert ids(archive, "Longhua", language="it") == [5]
    assert ids(archive, "Longhua", source_id="ansa") == [5]
    assert ids(archive, "Longhua", since=NOW - timedelta(hours=5, minutes=30)) == [5]
    assert ids(archive, "Milan*", limit=1) == [6]
    assert ids(archive, "shenzhen milan", sort="relevance") == [6]


def test_bad_queries_are_readable(archive):
    with pytest.raises(QuerySyntaxError, match="quote is not closed"):
        archive.search(SearchQuery('"fashion'))
    with pytest.raises(QuerySyntaxError, match="no word to search for"):
        archive.search(SearchQuery("— ！"))


def test_tokens_are_plain_text_for_any_backend():
    assert index_tokens("深圳市 Milano") == " 深圳 圳市  Milano"
    assert match_expression("深圳市") == '("深圳 圳市")'


def test_same_item_twice_is_unchanged(archive):
    assert [o for o, _ in archive.upsert(CORPUS[:2], now=NOW)] == ["unchanged", "unchanged"]
    assert archive.count() == len(CORPUS)


def test_edited_item_is_updated_with_history_and_reindexed(archive):
    later = NOW + timedelta(hours=1)
    edited = replace(CORPUS[0], title="双城时装周闭幕：深圳与米兰签约", content_hash="edited")
    [(outcome, article_id)] = archive.upsert([edited], now=later)
    assert outcome == "updated" and article_id == 1
    stored = archive.get(1)
    assert (
        stored
        and stored.title == edited.title
        and stored.updated_at == later
        and stored.extra["revision"] == "2"
    )
    [revision] = archive.revisions(1)
    assert revision["title"] == CORPUS[0].title and revision["replaced_at"] == later
    assert ids(archive, "签约") == [1] and ids(archive, "圆满落幕") == []
    assert archive.count() == len(CORPUS)


def test_same_guid_with_new_url_updates_instead_of_duplicating(tmp_path):
    with Archive.open(tmp_path) as archive:
        first = replace(CORPUS[6], guid="tag:ansa,2025:1")
        archive.upsert([first], now=NOW)
        moved = replace(
            first,
            url="https://example.com/7-corrected",
            title="Government announces revised city budget",
            content_hash="x",
        )
        [(outcome, article_id)] = archive.upsert([moved], now=NOW)
        assert outcome == "updated" and archive.count() == 1
        assert archive.get(article_id).url == "https://example.com/7-corrected"  # type: ignore[union-attr]


def test_a_later_teaser_does_not_erase_an_extracted_body(tmp_path):
    with Archive.open(tmp_path) as archive:
        archive.upsert([replace(CORPUS[5], body="Full text extracted from the page.")], now=NOW)
        archive.upsert([replace(CORPUS[5], content_hash="changed-teaser")], now=NOW)
        assert archive.get(1).body == "Full text extracted from the page."  # type: ignore[union-attr]
        assert archive.known_with_body([CORPUS[5].url, CORPUS[0].url]) == {CORPUS[5].url}


def test_source_state_round_trip(archive):
    archive.record_failure("xinhua", now=NOW, error="boom 1")
    archive.record_failure("xinhua", now=NOW, error="boom 2")
    state = archive.source_state("xinhua")
    assert state.failures == 2 and state.last_error == "boom 2" and state.last_success is None
    archive.record_success("xinhua", now=NOW, etag='"abc"', last_modified=None)
    state = archive.source_state("xinhua")
    assert state.failures == 0 and state.etag == '"abc"' and state.last_success == NOW
    assert state.last_error == "boom 2"  # kept for the record; failures=0 says it is healthy


def test_migrating_a_populated_version_1_archive_keeps_and_indexes_rows(tmp_path):
    database = tmp_path / "pressbot.db"
    engine = create_engine(f"sqlite:///{database}")
    with engine.begin() as conn:  # an archive as the first release left it
        migrations.schema.schema_version.create(conn)
        migrations.STEPS[0](conn)
        conn.execute(migrations.schema.schema_version.insert().values(version=1, applied_at=NOW))
    engine.dispose()
    with engine.begin() as conn:  # rows written the way version 1 wrote them
        for number, item in enumerate(CORPUS, start=1):
            conn.execute(migrations.schema.articles.insert().values(**migrations.schema.article_values(item)))
            conn.execute(
                text("INSERT INTO articles_fts(rowid, title, text) VALUES (:id, :title, :text)"),
                {"id": number, "title": index_tokens(item.title), "text": index_tokens(item.summary)},
            )
    engine.dispose()
    with Archive.open(tmp_path) as upgraded:
        assert upgraded.count() == len(CORPUS)
        assert ids(upgraded, "米兰") == [1]  # the index was rebuilt from the stored rows
        assert ids(upgraded, "Longhua", language="it") == [5]  # with the filter columns of v3
        upgraded.upsert(
            [replace(CORPUS[0], title="双城时装周闭幕", content_hash="v2")], now=NOW
        )  # needs the v2 table
        assert len(upgraded.revisions(1)) == 1
        upgraded.upsert([article(8, "杭州亚运会", "zh")], now=NOW)  # new rows are indexed after the migration
        assert ids(upgraded, "杭州") == [8]
    backups = list((tmp_path / "backups").glob("pressbot-v1-*.db"))
    assert len(backups) == 1
    with sqlite3.connect(backups[0]) as copy:
        assert copy.execute("SELECT count(*) FROM articles").fetchone() == (len(CORPUS),)


def test_an_archive_from_a_newer_pressbot_is_refused_untouched(tmp_path):
    with Archive.open(tmp_path):
        pass
    with sqlite3.connect(tmp_path / "pressbot.db") as conn:
        conn.execute("INSERT INTO schema_version VALUES (99, '2030-01-01 00:00:00')")
    with pytest.raises(StoreError, match="schema version 99, newer than this pressbot"):
        Archive.open(tmp_path)


def test_wal_mode_is_on(archive):
    with archive.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_an_item_listed_twice_in_one_batch_is_stored_once(tmp_path):
    with Archive.open(tmp_path) as archive:
        first, again = CORPUS[0], replace(CORPUS[0], title="later copy", content_hash="other")
        outcomes = archive.upsert([first, CORPUS[1], again], now=NOW)
        assert [o for o, _ in outcomes] == ["new", "new", "unchanged"]
        assert outcomes[0][1] == outcomes[2][1] and archive.count() == 2
        assert archive.get(outcomes[0][1]).title == first.title  # type: ignore[union-attr]


def test_translation_cache_by_content_hash_and_model(tmp_path):
    with Archive.open(tmp_path) as archive:
        archive.store_translations(
            [("ciao mondo", "hello world")], source="it", target="en", model="m1", now=NOW
        )
        archive.store_translations(
            [("ciao mondo", "ignored duplicate")], source="it", target="en", model="m1", now=NOW
        )
        texts = ["ciao mondo", "buongiorno"]
        assert archive.cached_translations(texts, source="it", target="en", model="m1") == {
            "ciao mondo": "hello world"
        }
        assert (
            archive.cached_translations(texts, source="it", target="en", model="m2") == {}
        )  # a new model: no reuse
        assert archive.cached_translations(texts, source="it", target="zh", model="m1") == {}
