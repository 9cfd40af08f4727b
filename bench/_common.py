"""Shared helpers for the bench scripts: fixture paths, tables, percentiles, JSON results.

Not part of pressbot; the bench scripts import it as ``_common`` (they put ``bench/`` on the path).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import sqlite3
import statistics
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
sys.path.insert(0, str(REPO))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

console = Console(width=200)


def fixtures_root() -> Path:
    return Path(os.environ.get("PRESSBOT_FIXTURES", REPO.parent / "shared" / "fixtures"))


def feeds_manifest() -> list[dict[str, Any]]:
    root = fixtures_root() / "feeds"
    return list(json.loads((root / "manifest.json").read_text(encoding="utf-8")))


def ntrex_sentences() -> dict[str, list[str]]:
    """The NTREX-128 news sentences, line-aligned: English and its professional it and zh references."""
    root = fixtures_root() / "mt" / "ntrex128_news_en_zh_it"
    files = {
        "en": "newstest2019-src.eng.txt",
        "it": "newstest2019-ref.ita.txt",
        "zh": "newstest2019-ref.zho-CN.txt",
    }
    return {lang: (root / name).read_text(encoding="utf-8").splitlines() for lang, name in files.items()}


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 3),
        "p95_ms": round(percentile(ms, 95), 3),
        "max_ms": round(max(ms), 3),
        "mean_ms": round(statistics.fmean(ms), 3),
    }


def maxrss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, caption: str = "") -> None:
    out = Table(*columns, title=title, title_justify="left")
    for row in rows:
        if row is None:
            out.add_section()
            continue
        out.add_row(*(str(cell) for cell in row))
    console.print(out)
    if caption:
        console.print(caption, highlight=False, markup=False)


def environment() -> dict[str, Any]:
    names = ("httpx", "feedparser", "sqlalchemy", "lingua-language-detector", "jieba")
    versions: dict[str, str] = {}
    for name in names:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "versions": versions,
    }


def write_result(name: str, report: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"benchmark": name, "environment": environment()} | report
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    console.print(f"wrote {path.relative_to(REPO)}")
    return path
