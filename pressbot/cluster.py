"""Pipeline glue for the dedup stage: archived articles → near-copy and story links, recorded.

Takes the articles not yet in a story (so an interrupted cycle is finished by the next one),
rebuilds dedup's in-memory indexes from the fingerprints of the articles around them (the time
window, never the whole archive), decides article by article in time order, and records every
decision with its reason. Runs on the archive's thread: it reads and writes the archive directly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from pressbot.dedup import (
    DedupSettings,
    Encoder,
    NearCopyIndex,
    StoryIndex,
    StoryMember,
    best_near_copy,
    clues,
    minhash,
    shingles,
    signature_bytes,
    signature_from_bytes,
    story_text,
)
from pressbot.models import Article, StoryLink
from pressbot.store import Archive

MATCH_TEXT_CHARS = 3000
MIN_TEXT_CHARS = 200


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
    ):
        self.archive = archive
        self.settings = settings or DedupSettings()
        self._make_encoder = encoder
        self._encoder: Encoder | None = None
        self._cache: tuple[datetime, NearCopyIndex, StoryIndex, dict[int, int]] | None = None

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            self._encoder = self._make_encoder()
        return self._encoder

    def process(self, *, now: datetime, limit: int = 2000) -> ClusterReport:
        """Cluster up to ``limit`` unclustered articles; returns what happened."""
        articles = sorted(self.archive.unclustered(limit=limit), key=lambda a: (moment_of(a), a.id or 0))
        if not articles:
            return ClusterReport()
        near, stories, story_of = self._indexes(since=moment_of(articles[0]) - self.settings.window)
        vectors = self.encoder.encode([story_text(a.title, a.summary or a.body[:400]) for a in articles])
        links: list[StoryLink] = []
        counts = {"new": 0, "joined": 0, "near": 0}
        try:
            for article, vector in zip(articles, vectors, strict=True):
                link = self._decide(
                    article, vector, near=near, stories=stories, story_of=story_of, counts=counts
                )
                links.append(link)
                story_of[link.article_id] = link.story_id
            self.archive.record_links(links, now=now)
        except BaseException:
            self._cache = None  # the in-memory indexes now hold links that were not stored
            raise
        return ClusterReport(len(links), counts["new"], counts["joined"], counts["near"])

    def _indexes(self, *, since: datetime) -> tuple[NearCopyIndex, StoryIndex, dict[int, int]]:
        """The indexes covering ``since`` onwards: kept between calls (a long-running process
        rebuilds them only when a batch reaches further back, or when they hold more than two
        windows of history); built from the stored fingerprints otherwise."""
        if self._cache is not None:
            loaded_since, near, stories, story_of = self._cache
            if loaded_since <= since <= loaded_since + 2 * self.settings.window:
                return near, stories, story_of
        near, stories, story_of = NearCopyIndex(self.settings), StoryIndex(self.settings), {}
        for fingerprint in self.archive.fingerprints_since(since):
            near.add(fingerprint.article_id, fingerprint.language, signature_from_bytes(fingerprint.minhash))
            vector = np.frombuffer(fingerprint.vector, dtype=np.float32)
            stories.add(
                StoryMember(
                    fingerprint.article_id,
                    fingerprint.story_id,
                    fingerprint.moment,
                    vector,
                    fingerprint.language,
                    frozenset(fingerprint.clues),
                )
            )
            story_of[fingerprint.article_id] = fingerprint.story_id
        self._cache = (since, near, stories, story_of)
        return near, stories, story_of

    def _decide(
        self,
        article: Article,
        vector: np.ndarray,
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
        candidates = [c for c in near.candidates(article.language, signature) if c in story_of]
        texts = self.archive.articles_by_id(candidates) if candidates else {}
        window = self.settings.window
        copy = best_near_copy(
            own,
            {
                i: shingles(match_text(a), a.language)
                for i, a in texts.items()
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
            match = stories.best(vector, when=when, language=article.language, facts=facts)
            if match is not None:
                story_id, score, matched = match.story_id, match.score, match.article_id
                shared = f", shared: {', '.join(match.shared)}" if match.shared else ""
                reason = (
                    f"same story as article {matched} (cosine {match.cosine:.2f}{shared}; score {score:.2f})"
                )
                counts["joined"] += 1
            else:
                story_id, score = self.archive.create_story(when), 1.0
                reason = "first article of the story"
                counts["new"] += 1
        near.add(article.id, article.language, signature)
        stories.add(StoryMember(article.id, story_id, when, vector, article.language, facts))
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
