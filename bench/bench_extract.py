"""Extraction quality benchmark: fixture pages → precision / recall / F1 table + bench/results/extract.json.

Sets (under ../shared/fixtures/pages, or $PRESSBOT_FIXTURES/pages):

* ``scrapinghub_aeb``   181 English pages with human ``articleBody`` (scrapinghub's benchmark);
* ``fundus_it``         4 pages from fundus' parser tests (3 Italian, 1 German from South Tyrol);
                        truth = fundus' body: ``summary`` + ``sections[].paragraphs``;
* ``fundus_cn``         1 Chinese page (People's Daily), same kind of truth;
* ``fundus_tw``         1 page from Taipei Times, which is an *English-language* paper;
* ``gne_zh (GNE output)`` 20 Chinese pages whose "truth" is GeneralNewsExtractor's own output,
                        not a human annotation: it says how close a system gets to GNE, nothing more.

Systems: pressbot's :func:`extract_article` (gets the raw bytes), plain ``trafilatura.extract``,
readability-lxml (``Document(html).summary()`` → text) and ``BeautifulSoup.get_text()`` (gets the
decoded text). Metric: :mod:`pressbot.quality` — scrapinghub's word-shingle metric; Chinese sets are
scored twice: ``· char`` (one token per CJK character, the meaningful variant for Chinese) and
``· word`` (scrapinghub's ``\\w+`` tokens, where a run of Chinese characters is one token).

Run: ``.venv/bin/python bench/bench_extract.py``.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import platform
import re
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import trafilatura  # noqa: E402
from bs4 import BeautifulSoup  # noqa: E402
from readability import Document  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from pressbot import quality  # noqa: E402
from pressbot.errors import ExtractError  # noqa: E402
from pressbot.extract import decode_html, extract_article, html_to_text  # noqa: E402

RESULTS = REPO / "bench" / "results" / "extract.json"


@dataclass(frozen=True)
class Page:
    name: str
    html: bytes
    truth: str
    url: str = ""


@dataclass(frozen=True)
class Row:
    set: str
    system: str
    n: int
    precision: float
    recall: float
    f1: float
    seconds: float


def pages_root() -> Path:
    return Path(os.environ.get("PRESSBOT_FIXTURES", REPO.parent / "shared" / "fixtures")) / "pages"


def load_aeb(root: Path) -> list[Page]:
    folder = root / "scrapinghub_aeb"
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    return [
        Page(
            key,
            gzip.decompress((folder / "html" / f"{key}.html.gz").read_bytes()),
            item["articleBody"],
            item.get("url", ""),
        )
        for key, item in sorted(truth.items())
    ]


def fundus_body(record: dict) -> str:
    """fundus' article body as text: the summary, then every section's paragraphs."""
    body = record["body"]
    parts = list(body.get("summary", []))
    for section in body.get("sections", []):
        parts.extend(section.get("paragraphs", []))
    return "\n".join(parts)


def load_fundus(root: Path, country: str) -> list[Page]:
    folder = root / "fundus_parser_testdata" / country
    info = json.loads((folder / "meta.info").read_text(encoding="utf-8"))
    pages = []
    for spec in sorted(folder.glob("*.json")):
        record = json.loads(spec.read_text(encoding="utf-8"))["V1"]
        for html in sorted(folder.glob(f"{spec.stem}_*.html.gz")):
            url = info.get(html.name, {}).get("url", "")
            pages.append(Page(html.name, gzip.decompress(html.read_bytes()), fundus_body(record), url))
    return pages


def load_gne(root: Path) -> list[Page]:
    folder = root / "gne_chinese_news_pages"
    text = (folder / "result.txt").read_text(encoding="utf-8")
    pattern = re.compile(r">{13}(tests/\S+?\.html)>{13}\n(.*?)\n<{38}", re.S)
    return [
        Page(name, gzip.decompress((folder / f"{name}.gz").read_bytes()), json.loads(body)["content"])
        for name, body in pattern.findall(text)
    ]


def _pressbot(page: Page) -> str:
    try:
        return extract_article(page.html, url=page.url).body
    except ExtractError:
        return ""


def _readability(html: str) -> str:
    return html_to_text(Document(html).summary())


SYSTEMS: dict[str, Callable[[Page, str], str]] = {
    "pressbot": lambda page, html: _pressbot(page),
    "trafilatura": lambda page, html: trafilatura.extract(html) or "",
    "readability-lxml": lambda page, html: _readability(html),
    "beautifulsoup": lambda page, html: BeautifulSoup(html, "lxml").get_text(),
}


def run_set(name: str, pages: list[Page], *, chinese: bool) -> list[Row]:
    """Run every system on ``pages`` once; score each output per tokenization (char first for Chinese)."""
    decoded = [decode_html(page.html) for page in pages]
    runs: list[tuple[str, list[str], float]] = []
    for system, extract in SYSTEMS.items():
        started = time.perf_counter()
        outputs = [extract(page, html) for page, html in zip(pages, decoded, strict=True)]
        runs.append((system, outputs, time.perf_counter() - started))
    variants: list[tuple[str, quality.Tokenization]] = [(name, "word")]
    if chinese:
        variants = [(f"{name} · char", "cjk-char"), (f"{name} · word", "word")]
    rows = []
    for label, tokenization in variants:
        for system, outputs, seconds in runs:
            pairs = [(page.truth, output) for page, output in zip(pages, outputs, strict=True)]
            score = quality.evaluate(pairs, tokenization=tokenization)
            rows.append(Row(label, system, score.n, score.precision, score.recall, score.f1, seconds))
    return rows


def render(rows: list[Row]) -> Table:
    table = Table(
        "set", "system", "n", "precision", "recall", "F1", "seconds", title="Article body extraction"
    )
    previous = ""
    for row in rows:
        if previous and row.set != previous:
            table.add_section()
        previous = row.set
        table.add_row(
            row.set,
            row.system,
            str(row.n),
            f"{row.precision:.3f}",
            f"{row.recall:.3f}",
            f"{row.f1:.3f}",
            f"{row.seconds:.1f}",
        )
    return table


def versions() -> dict[str, str]:
    names = ("trafilatura", "readability-lxml", "beautifulsoup4", "lxml", "charset-normalizer")
    return {name: metadata.version(name) for name in names} | {"python": platform.python_version()}


def main() -> None:
    logging.disable(logging.WARNING)  # readability and trafilatura log every odd page
    root = pages_root()
    sets = [
        ("scrapinghub_aeb", load_aeb(root), False),
        ("fundus_it", load_fundus(root, "it"), False),
        ("fundus_cn", load_fundus(root, "cn"), True),
        ("fundus_tw (English)", load_fundus(root, "tw"), False),
        ("gne_zh (GNE output, not human truth)", load_gne(root), True),
    ]
    rows = [row for name, pages, chinese in sets for row in run_set(name, pages, chinese=chinese)]
    Console(width=120).print(render(rows))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "metric": "scrapinghub article-extraction-benchmark 4-token shingle P/R/F1; '· char' = one token per CJK character, '· word' = \\w+ tokens",
        "versions": versions(),
        "rows": [asdict(row) for row in rows],
    }
    RESULTS.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
