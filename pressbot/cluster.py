"""Pipeline glue for the dedup stage: archived articles → near-copy and story links, recorded.

Takes the articles not yet in a story (so an interrupted cycle is finished by the next one),
rebuilds dedup's in-memory indexes from the fingerprints of the articles around them (the time
window, never the whole archive), decides article by article in time order, and records every
decision with its reason. Runs on the archive's thread: it reads and writes the archive directly.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from pressbot.dedup import (
    DedupSettings,
    Encoder,
    NearCopyIndex,
    Profile,
    StoryIndex,
    StoryMember,
    best_near_copy,
    clues,
    minhash,
    profile,
    shingles,
    signature_bytes,
    signature_from_bytes,
    story_text,
)
from pressbot.errors import TranslateError
from pressbot.leads import lead_text
from pressbot.models import Article, StoryLink
from pressbot.store import Archive
from pressbot.translate.cached import TextTranslator, cached_only, translate_cached

log = logging.getLogger(__name__)
MATCH_TEXT_CHARS = 3000
MIN_TEXT_CHARS = 200
PIVOT = "en"
CHUNK_WINDOWS = 4  # a batch is linked in chunks spanning at most this many story windows


@dataclass(frozen=True)
class ClusterReport:
    articles: int = 0
    new_stories: int = 0
    joined: int = 0
    near_copies: int = 0


def match_text(article: Article) -> str:
    """The text compared for near-copies: lead and body start; the headline only for short items.

    Outlets rewrite the headlines of wire copy and keep the text, so a headline must not hide a copy.
    """
    text = f"{article.summary}\n{article.body[:MATCH_TEXT_CHARS]}".strip()
    return text if len(text) >= MIN_TEXT_CHARS else f"{article.title}\n{text}"


def compared_text(title: str, lead: str) -> str:
    """What the story layer compares: the headline and the lead."""
    return f"{title}\n{lead}".strip()


def moment_of(article: Article) -> datetime:
    moment = article.published_at or article.fetched_at
    assert moment is not None  # every stored article has fetched_at
    return moment


class StoryClusterer:
    """Links new articles to stories; one per archive, used from the archive's thread.

    It assumes it is the archive's only clusterer while it lives (one `pressbot` process links
    stories at a time); a new instance always starts from what is stored.
    """

    def __init__(
        self,
        archive: Archive,
        *,
        settings: DedupSettings | None = None,
        encoder: Callable[[], Encoder] = Encoder,
        translator: TextTranslator | None = None,
        translate_missing: bool = True,
    ):
        self.archive = archive
        self.settings = settings or DedupSettings()
        self.translator = translator
        # False: the English pivot comes from the translation cache only (`pressbot run` translates
        # in its own thread first; what it has not reached yet is compared by the encoder alone).
        self.translate_missing = translate_missing
        self._make_encoder = encoder
        self._encoder: Encoder | None = None
        self._cache: tuple[datetime, NearCopyIndex, StoryIndex, dict[int, int]] | None = None
        self._linked_up_to = 0  # every article with an id up to this one is in a story

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            self._encoder = self._make_encoder()
        return self._encoder

    def process(self, *, now: datetime, limit: int = 2000) -> ClusterReport:
        """Cluster up to ``limit`` unclustered articles; returns what happened.

        They are taken in time order, in chunks spanning at most ``CHUNK_WINDOWS`` windows: a
        chunk of recent articles uses the indexes kept between calls, an older one (a new source's
        first fetch brings months of items) indexes built for its own time range only, so the work
        is bounded by the window, never by the archive.
        """
        found = self.archive.unclustered(limit=limit, after=self._linked_up_to)
        if not found:
            return ClusterReport()
        articles = sorted(found, key=lambda a: (moment_of(a), a.id or 0))
        counts = {"new": 0, "joined": 0, "near": 0}
        for chunk in self._chunks(articles):
            self._process_chunk(chunk, now=now, counts=counts)
        # Every article up to the highest id of this batch is now in a story.
        self._linked_up_to = max(self._linked_up_to, max(a.id or 0 for a in found))
        return ClusterReport(len(articles), counts["new"], counts["joined"], counts["near"])

    def _chunks(self, articles: Sequence[Article]) -> list[list[Article]]:
        """Consecutive runs of time-ordered articles spanning at most ``CHUNK_WINDOWS`` windows."""
        span = CHUNK_WINDOWS * self.settings.window
        chunks: list[list[Article]] = []
        for article in articles:
            if chunks and moment_of(article) - moment_of(chunks[-1][0]) <= span:
                chunks[-1].append(article)
            else:
                chunks.append([article])
        return chunks

    def _process_chunk(self, articles: list[Article], *, now: datetime, counts: dict[str, int]) -> None:
        window = self.settings.window
        since, until = moment_of(articles[0]) - window, moment_of(articles[-1]) + window
        near, stories, story_of, cached = self._indexes(since=since, until=until, now=now)
        vectors = self.encoder.encode([story_text(a.title, lead_text(a)) for a in articles])
        texts = self._texts(articles, now=now)
        links: list[StoryLink] = []
        try:
            for article, vector in zip(articles, vectors, strict=True):
                link = self._decide(
                    article,
                    vector,
                    texts[article.id or 0],
                    near=near,
                    stories=stories,
                    story_of=story_of,
                    counts=counts,
                )
                links.append(link)
                story_of[link.article_id] = link.story_id
            self.archive.record_links(links, now=now)
        except BaseException:
            if cached:
                self._cache = None  # the kept indexes now hold links that were not stored
            raise

    def _texts(self, articles: Sequence[Article], *, now: datetime) -> dict[int, dict[str, Profile]]:
        """Each article's compared text in its own language, and in English when a pivot exists."""
        texts = {
            a.id or 0: {a.language: profile(compared_text(a.title, lead_text(a)), a.language)}
            for a in articles
        }
        for article_id, english in self._pivot(articles, now=now).items():
            texts[article_id][PIVOT] = profile(english, PIVOT)
        return texts

    def _pivot(self, articles: Sequence[Article], *, now: datetime) -> dict[int, str]:
        """English title + lead of the non-English articles, through the translation cache.

        Titles and leads are translated as separate texts, as the collection cycle does, so what
        the cycle already translated is a cache hit here. No model for a language: no pivot, and the
        encoder alone compares those articles across languages.
        """
        translator = self.translator
        if translator is None:
            return {}
        groups: dict[str, list[Article]] = defaultdict(list)
        for article in articles:
            if article.language != PIVOT:
                groups[article.language].append(article)
        english: dict[int, str] = {}
        for language, group in groups.items():
            if not translator.can_translate(language, PIVOT):
                continue
            if not self.translate_missing:
                found = cached_only(
                    translator,
                    self.archive,
                    [t for a in group for t in (a.title, lead_text(a))],
                    source=language,
                    target=PIVOT,
                )
                for article in group:
                    title, lead = found.get(article.title), found.get(lead_text(article), "")
                    if title is not None and (lead or not lead_text(article).strip()):
                        english[article.id or 0] = compared_text(title, lead)
                continue
            try:
                titles = translate_cached(
                    translator, self.archive, [a.title for a in group], source=language, target=PIVOT, now=now
                )
                leads = translate_cached(
                    translator,
                    self.archive,
                    [lead_text(a) for a in group],
                    source=language,
                    target=PIVOT,
                    now=now,
                )
            except TranslateError as error:
                log.warning("no English pivot for %d %s articles: %s", len(group), language, error)
                continue
            for article, title, lead in zip(group, titles.texts, leads.texts, strict=True):
                english[article.id or 0] = compared_text(title, lead)
        return english

    def _indexes(
        self, *, since: datetime, until: datetime, now: datetime
    ) -> tuple[NearCopyIndex, StoryIndex, dict[int, int], bool]:
        """Indexes covering [since, until]; the last value says whether they are the kept ones.

        Recent articles use indexes kept between calls (built with one window of margin before the
        batch that needed them, rebuilt when they would hold more than four windows of history).
        Articles older than those get indexes of their own time range, built from the stored
        fingerprints and not kept; if that range reaches into the kept indexes, those are dropped
        (rebuilt on their next use), since they would lack the links made now.
        """
        window = self.settings.window
        if self._cache is not None:
            loaded_since, near, stories, story_of = self._cache
            if loaded_since <= since <= loaded_since + 3 * window:
                return near, stories, story_of, True
            if since < loaded_since:
                if until >= loaded_since:
                    self._cache = None
                return (*self._build(since=since, until=until, now=now), False)
        elif until < now - window:  # nothing kept yet, and these articles are old: not worth keeping
            return (*self._build(since=since, until=until, now=now), False)
        # One window more than needed: articles dated a little earlier than this batch's (a late
        # copy, an item first seen a day after it was published) still find the kept indexes valid.
        near, stories, story_of = self._build(since=since - window, until=None, now=now)
        self._cache = (since - window, near, stories, story_of)
        return near, stories, story_of, True

    def _build(
        self, *, since: datetime, until: datetime | None, now: datetime
    ) -> tuple[NearCopyIndex, StoryIndex, dict[int, int]]:
        """Indexes of the stored fingerprints dated in [since, until] (until None: onwards)."""
        near, stories, story_of = NearCopyIndex(self.settings), StoryIndex(self.settings), {}
        fingerprints = self.archive.fingerprints_since(since, until=until)
        stored = self.archive.articles_by_id([f.article_id for f in fingerprints])
        texts = self._texts(list(stored.values()), now=now)
        for fingerprint in fingerprints:
            signature = signature_from_bytes(fingerprint.minhash)
            if signature is None and fingerprint.article_id in stored:  # stored by an older scheme
                article = stored[fingerprint.article_id]
                signature = minhash(shingles(match_text(article), article.language))
            if signature is not None:
                near.add(fingerprint.article_id, fingerprint.language, signature)
            vector = np.frombuffer(fingerprint.vector, dtype=np.float32)
            stories.add(
                StoryMember(
                    fingerprint.article_id,
                    fingerprint.story_id,
                    fingerprint.moment,
                    vector,
                    fingerprint.language,
                    frozenset(fingerprint.clues),
                    texts.get(fingerprint.article_id, {}),
                )
            )
            story_of[fingerprint.article_id] = fingerprint.story_id
        return near, stories, story_of

    def _decide(
        self,
        article: Article,
        vector: np.ndarray,
        texts: dict[str, Profile],
        *,
        near: NearCopyIndex,
        stories: StoryIndex,
        story_of: dict[int, int],
        counts: dict[str, int],
    ) -> StoryLink:
        assert article.id is not None
        when = moment_of(article)
        own = shingles(match_text(article), article.language)
        signature = minhash(own)
        facts = frozenset(clues(f"{article.title} {article.summary}", self.settings.topics))
        near_copy_of = matched = None
        found, keys = near.lookup(article.language, signature)
        candidates = [c for c in found if c in story_of]
        stored = self.archive.articles_by_id(candidates) if candidates else {}
        window = self.settings.window
        copy = best_near_copy(
            own,
            {
                i: shingles(match_text(a), a.language)
                for i, a in stored.items()
                if abs(moment_of(a) - when) <= window
            },
            threshold=self.settings.near_copy,
        )
        if copy is not None:
            near_copy_of, score = copy
            story_id = story_of[near_copy_of]
            reason = f"near-copy of article {near_copy_of} (Jaccard {score:.2f})"
            counts["near"] += 1
        else:
            match = stories.best(vector, when=when, language=article.language, facts=facts, texts=texts)
            if match is not None:
                story_id, score, matched = match.story_id, match.score, match.article_id
                reason = match.explain()
                counts["joined"] += 1
            else:
                story_id, score = self.archive.create_story(when), 1.0
                reason = "first article of the story"
                counts["new"] += 1
        near.add(article.id, article.language, signature, keys)
        stories.add(StoryMember(article.id, story_id, when, vector, article.language, facts, texts))
        return StoryLink(
            article_id=article.id,
            story_id=story_id,
            score=round(float(score), 4),
            reason=reason,
            moment=when,
            minhash=signature_bytes(signature),
            vector=np.asarray(vector, dtype=np.float32).tobytes(),
            model=self.encoder.name,
            clues=tuple(sorted(facts)),
            near_copy_of=near_copy_of,
            matched_article=matched,
        )


def cluster_all(clusterer: StoryClusterer, *, now: datetime, batch: int = 2000) -> Sequence[ClusterReport]:
    """Work through the whole backlog, batch by batch."""
    reports: list[ClusterReport] = []
    while True:
        report = clusterer.process(now=now, limit=batch)
        if not report.articles:
            return reports
        reports.append(report)
