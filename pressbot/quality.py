"""Extraction quality: extracted text + expected text → token-shingle precision / recall / F1.

The word-level metric follows the definition of scrapinghub's article-extraction-benchmark
(``evaluate.py``), so numbers are comparable with its published table:

* tokens are ``re.findall(r"\\w+", text)``;
* a document is the multiset (``Counter``) of its 4-token shingles; a text shorter than four
  tokens is one shorter shingle, an empty text has none;
* tp = shared shingles (minimum counts), fp / fn = the excess on either side;
* per document, precision = tp / (tp + fp) and recall = tp / (tp + fn), both 1.0 when
  fp == fn == 0; corpus precision is the mean over documents with tp + fp > 0, corpus recall
  the mean over documents with tp + fn > 0, and F1 is the harmonic mean of those two means.

``\\w+`` turns a whole run of Chinese characters (often a full sentence) into one token, so on
Chinese text that metric only counts sentences copied exactly. ``tokenize="cjk-char"`` makes each
CJK character its own token and keeps ``\\w+`` for everything else: use it for Chinese sets and say
which variant a number is.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Tokenization = Literal["word", "cjk-char"]

SHINGLE_SIZE = 4

_WORD_RE = re.compile(r"\w+", re.UNICODE)
# CJK ideographs (BMP, extension A, compatibility, extensions B+) and kana: one token per character.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_CJK_CHAR_RE = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+", re.UNICODE)


@dataclass(frozen=True)
class Counts:
    """Shingle counts for one document, normalised so that tp + fp + fn == 1 (when not all zero)."""

    tp: float
    fp: float
    fn: float

    @property
    def precision(self) -> float:
        if self.fp == 0 and self.fn == 0:
            return 1.0
        return self.tp / (self.tp + self.fp) if self.tp + self.fp > 0 else 0.0

    @property
    def recall(self) -> float:
        if self.fp == 0 and self.fn == 0:
            return 1.0
        return self.tp / (self.tp + self.fn) if self.tp + self.fn > 0 else 0.0

    @property
    def f1(self) -> float:
        return _harmonic(self.precision, self.recall)


@dataclass(frozen=True)
class Score:
    """Corpus-level precision, recall and F1 over ``n`` documents."""

    precision: float
    recall: float
    f1: float
    n: int


def tokenize(text: str, *, tokenization: Tokenization = "word") -> list[str]:
    """Split ``text`` into tokens: ``\\w+`` runs, or with ``"cjk-char"`` one token per CJK character."""
    pattern = _CJK_CHAR_RE if tokenization == "cjk-char" else _WORD_RE
    return pattern.findall(text or "")


def shingles(
    text: str, *, tokenization: Tokenization = "word", size: int = SHINGLE_SIZE
) -> Counter[tuple[str, ...]]:
    """The multiset of ``size``-token shingles of ``text`` (one shorter shingle for a short text)."""
    tokens = tokenize(text, tokenization=tokenization)
    if not tokens:
        return Counter()
    count = max(1, len(tokens) - size + 1)
    return Counter(tuple(tokens[i : i + size]) for i in range(count))


def compare(expected: str, predicted: str, *, tokenization: Tokenization = "word") -> Counts:
    """Shingle tp / fp / fn of ``predicted`` against ``expected``, normalised by their sum."""
    truth = shingles(expected, tokenization=tokenization)
    guess = shingles(predicted, tokenization=tokenization)
    tp = sum((truth & guess).values())
    fp = sum((guess - truth).values())
    fn = sum((truth - guess).values())
    total = tp + fp + fn
    if total == 0:
        return Counts(0.0, 0.0, 0.0)
    return Counts(tp / total, fp / total, fn / total)


def score(counts: Sequence[Counts]) -> Score:
    """Corpus precision / recall (means over the documents where each is defined) and their F1."""
    precision = _mean(c.precision for c in counts if c.tp + c.fp > 0)
    recall = _mean(c.recall for c in counts if c.tp + c.fn > 0)
    return Score(precision=precision, recall=recall, f1=_harmonic(precision, recall), n=len(counts))


def evaluate(pairs: Iterable[tuple[str, str]], *, tokenization: Tokenization = "word") -> Score:
    """Score ``(expected, predicted)`` text pairs."""
    return score([compare(expected, predicted, tokenization=tokenization) for expected, predicted in pairs])


def _mean(values: Iterable[float]) -> float:
    items = list(values)
    return statistics.fmean(items) if items else 0.0


def _harmonic(a: float, b: float) -> float:
    return 2 * a * b / (a + b) if a + b > 0 else 0.0
