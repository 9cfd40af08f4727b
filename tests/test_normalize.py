"""Canonical URLs, clean text, language identification restricted to zh/it/en, entry → article."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pressbot.models import Entry, Extracted, Source
from pressbot.normalize import canonical_url, clean_text, detect_language, normalize_entry

NOW = datetime(2025, 4, 15, 8, 0, tzinfo=UTC)
SOURCE = Source(
    id="ansa",
    name="ANSA",
    kind="feed",
    url="https://www.ansa.it/sito/ansait_rss.xml",
    language="it",
    interval_s=900,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "HTTPS://WWW.Corriere.IT:443/moda/a.shtml?utm_source=rss&utm_medium=x#comments",
            "https://www.corriere.it/moda/a.shtml",
        ),
        ("https://www.ansa.it/a.html?id=3&fbclid=abc&gclid=x", "https://www.ansa.it/a.html?id=3"),
        (
            "http://news.cctv.com/2025/04/09/ARTI.shtml?spm=C94212.P4Y.E2X.1",
            "http://news.cctv.com/2025/04/09/ARTI.shtml",
        ),
        ("http://example.com:8080", "http://example.com:8080/"),
        ("https://example.com/a?b=1&a=2", "https://example.com/a?b=1&a=2"),  # the site's own order is kept
        ("https://例子.中国/新闻", "https://xn--fsqu00a.xn--fiqs8s/新闻"),
    ],
)
def test_canonical_url(url, expected):
    assert canonical_url(url) == expected


def test_clean_text_removes_markup_and_keeps_paragraphs():
    raw = "<p>Ciao &amp; <b>benvenuti</b>&nbsp;a&#160;Milano</p><script>track()</script><p>Secondo\u200b paragrafo</p>"
    assert clean_text(raw) == "Ciao & benvenuti a Milano\n\nSecondo paragrafo"
    assert clean_text("  testo   semplice \r\n") == "testo semplice"
    assert clean_text("&lt;b&gt;literal&lt;/b&gt;") == "<b>literal</b>"


@pytest.mark.parametrize(
    ("text", "declared", "hints", "expected"),
    [
        ("双城时装周在米兰开幕", None, (), "zh"),
        ("双城时装周在米兰开幕", "it", (), "zh"),  # script beats a wrong declaration
        ("HUI时装亮相米兰", None, (), "zh"),
        ("Settimana della moda", None, (), "it"),
        ("notizie", None, (), "it"),
        ("The government announces", None, (), "en"),
        ("Milano", "en", (), "en"),  # a declared language is trusted on Latin text
        ("Shenzhen", None, ("it-IT",), "it"),  # short and ambiguous: the feed's hint wins
    ],
)
def test_language(text, declared, hints, expected):
    assert detect_language(text, declared=declared, hints=hints) == expected


def test_language_is_always_one_of_three():
    assert detect_language("Die Regierung kündigt neue Maßnahmen an", declared=None, hints=("de",)) in (
        "zh",
        "it",
        "en",
    )


def test_entry_to_article():
    entry = Entry(
        url="https://www.ansa.it/moda/2025/04/09/shenzhen.html?utm_source=rss",
        title="<b>Moda</b>: Shenzhen &amp; Milano",
        summary="<p>La settimana della moda Bi-City apre a Milano.</p>",
        guid="ansa-123",
        published=NOW - timedelta(hours=2),
    )
    article = normalize_entry(entry, SOURCE, now=NOW)
    assert article.url == "https://www.ansa.it/moda/2025/04/09/shenzhen.html"
    assert article.original_url == entry.url
    assert article.title == "Moda: Shenzhen & Milano"
    assert article.summary == "La settimana della moda Bi-City apre a Milano."
    assert article.language == "it" and article.fetched_at == NOW
    assert article.content_hash == normalize_entry(entry, SOURCE, now=NOW + timedelta(days=1)).content_hash


def test_future_dates_are_dropped_and_titles_derived():
    entry = Entry(url="", summary="Prima frase del pezzo. Seconda frase.", published=NOW + timedelta(days=30))
    article = normalize_entry(entry, SOURCE, now=NOW)
    assert article.published_at is None
    assert article.title == "Prima frase del pezzo."
    assert article.url.startswith("urn:pressbot:ansa:")


def test_extracted_body_and_date_fill_gaps():
    entry = Entry(url="https://www.ansa.it/x.html", title="Titolo")
    extracted = Extracted(body="Corpo completo.", published=NOW - timedelta(days=1), language_hints=("it",))
    article = normalize_entry(entry, SOURCE, now=NOW, extracted=extracted)
    assert article.body == "Corpo completo." and article.published_at == NOW - timedelta(days=1)


def test_fragments_are_kept_only_where_they_tell_items_apart():
    from pressbot.normalize import normalize_entries

    entries = [
        Entry(url="http://scripting.com/2017/06/26.html#a1", guid="a1", title="First post"),
        Entry(url="http://scripting.com/2017/06/26.html#a2", guid="a2", title="Second post"),
        Entry(url="https://www.ansa.it/x.html#comments", guid="x", title="Un articolo"),
    ]
    urls = [a.url for a in normalize_entries(entries, SOURCE, now=NOW)]
    assert urls == [
        "http://scripting.com/2017/06/26.html#a1",
        "http://scripting.com/2017/06/26.html#a2",
        "https://www.ansa.it/x.html",
    ]
