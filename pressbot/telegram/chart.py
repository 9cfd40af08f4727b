"""The /coverage chart: counts per day (stacked by language) and per outlet, drawn as a PNG.

Input → output: a :class:`Coverage` → PNG bytes. Drawn with Pillow alone (no matplotlib: two bar
charts do not justify its size and its slow first import). Pillow's built-in font has no Chinese
glyphs, so the chart is labelled with ids, dates and language codes only (all ASCII); names in
any script go in the text message sent with it. Blocking (CPU): call it from a worker thread.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 1000, 560
MARGIN = 40
COLOURS = {"zh": (214, 39, 40), "it": (44, 160, 44), "en": (31, 119, 180)}
OTHER = (127, 127, 127)
INK = (30, 30, 30)
GRID = (225, 225, 225)
MAX_OUTLETS = 12


@dataclass(frozen=True)
class Coverage:
    """Articles matching a topic over a period, counted three ways."""

    topic_id: str
    topic_name: str
    days: tuple[date, ...]  # every day of the period, oldest first (empty days included)
    per_day: Mapping[date, Mapping[str, int]]  # day → language → articles
    per_outlet: Mapping[str, int]  # source id → articles, most first
    per_language: Mapping[str, int]  # language → articles
    outlet_names: Mapping[str, str]  # source id → name (for the text)
    zone: str = "UTC"  # the days are calendar days in this zone

    @property
    def total(self) -> int:
        return sum(self.per_language.values())


def coverage_png(coverage: Coverage) -> bytes:
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=14)
    title = ImageFont.load_default(size=20)
    first, last = coverage.days[0], coverage.days[-1]
    draw.text(
        (MARGIN, 12),
        f"{coverage.topic_id}: {coverage.total} articles, {first:%Y-%m-%d} to {last:%Y-%m-%d} ({coverage.zone})",
        fill=INK,
        font=title,
    )
    _per_day(draw, font, coverage, box=(MARGIN + 30, 60, 600, HEIGHT - 60))
    _per_outlet(draw, font, coverage, box=(760, 60, WIDTH - MARGIN, HEIGHT - 60))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _per_day(
    draw: ImageDraw.ImageDraw,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    coverage: Coverage,
    *,
    box: tuple[int, int, int, int],
) -> None:
    left, top, right, bottom = box
    languages = sorted(coverage.per_language, key=lambda lang: (lang not in COLOURS, lang))
    peak = max((sum(coverage.per_day.get(d, {}).values()) for d in coverage.days), default=0) or 1
    step = _nice_step(peak)
    scale = (bottom - top - 20) / (step * -(-peak // step))
    for tick in range(0, peak + step, step):
        y = bottom - tick * scale
        draw.line((left, y, right, y), fill=GRID)
        draw.text((left - 8, y), str(tick), fill=INK, font=font, anchor="rm")
    slot = (right - left) / len(coverage.days)
    bar = max(min(slot * 0.7, 60), 2)
    label_every = max(1, round(len(coverage.days) / 10))
    for index, day in enumerate(coverage.days):
        x = left + slot * index + (slot - bar) / 2
        y = float(bottom)
        for language in languages:
            count = coverage.per_day.get(day, {}).get(language, 0)
            if count:
                draw.rectangle((x, y - count * scale, x + bar, y), fill=COLOURS.get(language, OTHER))
                y -= count * scale
        if index % label_every == 0:
            draw.text((x + bar / 2, bottom + 6), f"{day:%m-%d}", fill=INK, font=font, anchor="mt")
    draw.line((left, bottom, right, bottom), fill=INK)
    x = left
    for language in languages:  # legend
        draw.rectangle((x, bottom + 30, x + 12, bottom + 42), fill=COLOURS.get(language, OTHER))
        text = f"{language} {coverage.per_language[language]}"
        draw.text((x + 18, bottom + 36), text, fill=INK, font=font, anchor="lm")
        x += 30 + int(draw.textlength(text, font=font))


def _per_outlet(
    draw: ImageDraw.ImageDraw,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    coverage: Coverage,
    *,
    box: tuple[int, int, int, int],
) -> None:
    left, top, right, bottom = box
    outlets = list(coverage.per_outlet.items())[:MAX_OUTLETS]
    if not outlets:
        return
    peak = max(count for _, count in outlets)
    row = min((bottom - top) / len(outlets), 34)
    for index, (outlet, count) in enumerate(outlets):
        y = top + row * index
        draw.text((left - 8, y + row / 2), outlet[:22], fill=INK, font=font, anchor="rm")
        length = (right - left - 40) * count / peak
        draw.rectangle((left, y + 4, left + max(length, 1), y + row - 4), fill=(90, 90, 140))
        draw.text((left + length + 6, y + row / 2), str(count), fill=INK, font=font, anchor="lm")


def _nice_step(peak: int) -> int:
    """A round tick step giving at most about six grid lines."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000):
        if peak / step <= 6:
            return step
    return 10 ** len(str(peak))
