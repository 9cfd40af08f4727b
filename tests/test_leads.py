"""An article's lead: the summary, else the body's start, cut at a sentence end within 600 characters."""

from __future__ import annotations

import pytest

from pressbot.leads import LEAD_CHARS, cut_lead, lead_text
from pressbot.models import Article


def article(summary: str = "", body: str = "") -> Article:
    return Article(
        source_id="s", url="https://example.com/a", title="t", language="en", summary=summary, body=body
    )


def test_the_summary_is_the_lead_and_the_body_only_stands_in() -> None:
    assert lead_text(article(summary="  Short summary.  ", body="Body text.")) == "Short summary."
    assert lead_text(article(summary=" ", body="Body text. More.")) == "Body text. More."
    assert lead_text(article()) == ""


@pytest.mark.parametrize(
    ("text", "expected_end"),
    [
        # English: the last whole sentence that fits
        ("First sentence is here. " * 40, "is here."),
        # Chinese: 。！？ end sentences, closing quotes stay with them
        ("深圳龙华的双城时装周在米兰开幕。" * 30 + "“好！”" + "结束" * 400, "。“好！”"),
        ("深圳龙华的双城时装周在米兰开幕。" * 40, "开幕。"),
        ("他说：“你好。”" + "新" * 300 + "！" + "闻" * 800, "！"),
    ],
)
def test_long_text_is_cut_at_a_sentence_end(text: str, expected_end: str) -> None:
    lead = lead_text(article(body=text))
    assert len(lead) <= LEAD_CHARS
    assert lead.endswith(expected_end)
    assert text.startswith(lead)
    assert len(lead) > LEAD_CHARS // 2


def test_without_a_sentence_end_the_cut_falls_on_a_space_or_hard() -> None:
    words = "word " * 300
    lead = cut_lead(words)
    assert lead.endswith("word …") and len(lead) <= LEAD_CHARS
    chinese = "汉" * 1000
    assert cut_lead(chinese) == "汉" * (LEAD_CHARS - 1) + "…"


def test_a_dateline_alone_is_not_a_lead() -> None:
    text = "ROMA. " + "parola " * 200
    lead = cut_lead(text)
    assert len(lead) > 100 and lead.endswith("…")


def test_a_short_body_is_kept_whole_with_its_paragraphs() -> None:
    assert lead_text(article(body="Line one.\nLine two.")) == "Line one.\nLine two."
