"""Listing pages and JSON endpoints (handmade test documents in tests/data), dates, encodings."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pressbot.encoding import decode_document
from pressbot.errors import ParseError
from pressbot.models import FetchedDocument, JsonFields, PageSelectors
from pressbot.parse import parse_date, parse_feed, parse_json, parse_listing

DATA = Path(__file__).parent / "data"


def doc(
    content: bytes,
    url: str = "https://news.cctv.com/2019/07/gaiban/cmsdatainterface/page/news_1.jsonp",
    charset: str | None = None,
) -> FetchedDocument:
    return FetchedDocument(url=url, status=200, content=content, charset=charset)


def test_cctv_jsonp_list_with_beijing_time():
    fields = JsonFields(
        items="data.list", url="url", title="title", date="focus_date", summary="brief", id="id"
    )
    entries = parse_json(doc((DATA / "cctv_news.jsonp").read_bytes()), fields, tz="Asia/Shanghai")
    assert [e.title for e in entries] == [
        "2025深圳（龙华）—米兰双城时装周在米兰圆满落幕",
        "双城时装周开幕：乐聚机器人身着HUI时装登台",
    ]
    assert entries[0].published == datetime(2025, 4, 14, 13, 30, tzinfo=UTC)  # 21:30 in Beijing
    assert entries[1].url.startswith(
        "https://news.cctv.com/2025/04/09/ARTIdE2f2025040901.shtml"
    )  # relative resolved
    assert entries[0].guid == "ARTIaB1c2025041401"
    assert "圆满落幕" in entries[0].summary


def test_json_errors_are_readable():
    with pytest.raises(ParseError, match="not valid JSON or JSONP"):
        parse_json(doc(b"news({broken"), JsonFields(items="data.list", url="url", title="title"))
    with pytest.raises(ParseError, match="no list at 'data.items'"):
        parse_json(doc(b'{"data": {"list": []}}'), JsonFields(items="data.items", url="url", title="title"))


def test_listing_page_in_gbk_with_base_href_and_duplicates():
    selectors = PageSelectors(item="ul.list li", link="a", date="span.time", summary="p.brief")
    entries = parse_listing(
        doc((DATA / "listing.gbk.html").read_bytes(), url="https://www.example-news.cn/world/index.htm"),
        selectors,
        tz="Asia/Shanghai",
    )
    assert [e.url for e in entries] == [
        "https://www.example-news.cn/world/20250409/c_1130001.htm",
        "https://www.example-news.cn/world/20250414/c_1130002.htm",
    ]
    assert entries[0].title == "深圳—米兰双城时装周在米兰开幕"  # declared gb2312, actually GBK (the dash)
    assert entries[0].published == datetime(2025, 4, 9, 10, 30, tzinfo=UTC)
    assert entries[0].summary == "中意时尚产业交流新平台。"


def test_listing_page_whose_markup_changed_is_an_error():
    with pytest.raises(ParseError, match="no element matching 'div.article'"):
        parse_listing(doc((DATA / "listing.gbk.html").read_bytes()), PageSelectors(item="div.article"))


@pytest.mark.parametrize(
    ("raw", "tz", "expected"),
    [
        ("Tue, 02 Mar 2021 23:39:15 +0100", None, datetime(2021, 3, 2, 22, 39, 15, tzinfo=UTC)),
        ("2025-04-09T18:00:00+02:00", None, datetime(2025, 4, 9, 16, 0, tzinfo=UTC)),
        ("2020/1/10 14:33:00", "Asia/Shanghai", datetime(2020, 1, 10, 6, 33, tzinfo=UTC)),
        ("2025年4月9日 18:00", "Asia/Shanghai", datetime(2025, 4, 9, 10, 0, tzinfo=UTC)),
        ("09/04/2025 18:00", "Europe/Rome", datetime(2025, 4, 9, 16, 0, tzinfo=UTC)),
        (1744214400, None, datetime(2025, 4, 9, 16, 0, tzinfo=UTC)),
        ("1744214400000", None, datetime(2025, 4, 9, 16, 0, tzinfo=UTC)),
        ("yesterday-ish", None, None),
        ("", None, None),
    ],
)
def test_dates(raw, tz, expected):
    assert parse_date(raw, tz=tz) == expected


@pytest.mark.parametrize(
    ("content", "charset", "expected"),
    [
        ("深圳时装周".encode("gb18030"), "gb2312", "深圳时装周"),
        ('<?xml version="1.0" encoding="gb2312"?><t>龍華 深圳</t>'.encode("gb18030"), None, "龍華 深圳"),
        ("città più".encode(), "iso-8859-1", "città più"),  # UTF-8 bytes labelled Latin-1
        ("città € più".encode("cp1252"), "iso-8859-1", "città € più"),
        ("città più".encode("latin-1"), None, "città più"),  # undeclared, not UTF-8
        (b"\xef\xbb\xbfhello", "gb2312", "hello"),  # a BOM wins
    ],
)
def test_decoding(content, charset, expected):
    text, _codec = decode_document(content, http_charset=charset)
    assert expected in text


def test_empty_body_is_a_readable_error():
    with pytest.raises(ParseError, match="empty body"):
        parse_feed(doc(b"  \n"))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("big5.xml", "《11月的蕭邦》是台灣歌手周杰倫發行第六張國語專輯"),
        ("gb2312_gb18030.xml", "信息交换用汉字编码字符集·基本集，通常简称GB"),
    ],
)
def test_undeclared_chinese_encodings_are_detected(fixtures_dir, name, expected):
    text, _codec = decode_document((fixtures_dir / "feeds" / "synthetic_encoding" / name).read_bytes())
    assert f"<title>{expected}</title>" in text
