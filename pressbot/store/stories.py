"""Stories in the archive: fingerprints, article → story links with their reasons, story listings.

A mixin of :class:`pressbot.store.Archive` (same engine, same single-thread rule).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, case, func, select, update

from pressbot.models import Article, Story, StoryLink
from pressbot.store import schema

BATCH = 500


@dataclass(frozen=True)
class Fingerprint:
    article_id: int
    story_id: int
    language: str
    moment: datetime
    minhash: bytes
    vector: bytes
    clues: tuple[str, ...]


class StoriesMixin:
    engine: Engine

    def fingerprints_since(self, moment: datetime, *, until: datetime | None = None) -> list[Fingerprint]:
        """Fingerprints of articles dated from ``moment`` on (up to ``until``): what the in-memory
        indexes are rebuilt from."""
        f, s, a = schema.fingerprints, schema.article_stories, schema.articles
        query = (
            select(f.c.article_id, s.c.story_id, a.c.language, f.c.moment, f.c.minhash, f.c.vector, f.c.clues)
            .join(s, s.c.article_id == f.c.article_id)
            .join(a, a.c.id == f.c.article_id)
            .where(f.c.moment >= moment)
            .order_by(f.c.moment)
        )
        if until is not None:
            query = query.where(f.c.moment <= until)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            Fingerprint(
                r.article_id,
                r.story_id,
                r.language,
                r.moment,
                r.minhash,
                r.vector,
                tuple(filter(None, r.clues.split("\n"))),
            )
            for r in rows
        ]

    def unclustered(self, *, limit: int = 1000, after: int = 0) -> list[Article]:
        """Archived articles not yet in a story (new ones, or left over by an interrupted cycle),
        lowest ids first; ``after``: every article up to that id is known to be in a story already
        (without it the scan walks the whole archive to reach the new rows at its end)."""
        a, s = schema.articles, schema.article_stories
        query = (
            select(a)
            .outerjoin(s, s.c.article_id == a.c.id)
            .where(s.c.article_id.is_(None), a.c.id > after)
            .order_by(a.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [schema.article_from_row(row) for row in conn.execute(query).all()]

    def articles_by_id(self, ids: Iterable[int]) -> dict[int, Article]:
        wanted = sorted(set(ids))
        found: dict[int, Article] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), BATCH):
                rows = conn.execute(
                    select(schema.articles).where(schema.articles.c.id.in_(wanted[start : start + BATCH]))
                )
                found.update({row.id: schema.article_from_row(row) for row in rows})
        return found

    def create_story(self, first_seen: datetime) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(
                schema.stories.insert().values(first_seen=first_seen, last_seen=first_seen, size=0)
            )
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    def record_links(self, links: Sequence[StoryLink], *, now: datetime) -> None:
        """Store links and fingerprints in one transaction; stories' size and dates follow."""
        if not links:
            return
        st = schema.stories
        with self.engine.begin() as conn:
            conn.execute(schema.fingerprints.insert(), [_fingerprint_row(link) for link in links])
            conn.execute(schema.article_stories.insert(), [_link_row(link, now) for link in links])
            by_story: dict[int, list[datetime]] = defaultdict(list)
            for link in links:
                by_story[link.story_id].append(link.moment)
            for story_id, moments in by_story.items():
                conn.execute(
                    update(st)
                    .where(st.c.id == story_id)
                    .values(
                        size=st.c.size + len(moments),
                        # CASE, not two-argument min()/max(): the same SQL on SQLite and PostgreSQL
                        first_seen=case(
                            (st.c.first_seen > min(moments), min(moments)), else_=st.c.first_seen
                        ),
                        last_seen=case((st.c.last_seen < max(moments), max(moments)), else_=st.c.last_seen),
                    )
                )

    def story_of(self, article_ids: Iterable[int]) -> dict[int, int]:
        s = schema.article_stories
        wanted = sorted(set(article_ids))
        with self.engine.connect() as conn:
            rows = conn.execute(select(s.c.article_id, s.c.story_id).where(s.c.article_id.in_(wanted))).all()
        return {row.article_id: row.story_id for row in rows}

    def stories(
        self,
        *,
        since: datetime | None = None,
        language: str | None = None,
        article_ids: Iterable[int] | None = None,
        limit: int = 50,
    ) -> list[Story]:
        """Stories seen since ``since`` (newest first), optionally only those containing some articles
        (a topic's matches) or having an article in ``language``."""
        st, s, a = schema.stories, schema.article_stories, schema.articles
        query = select(st.c.id).order_by(st.c.last_seen.desc(), st.c.id.desc()).limit(limit)
        if since is not None:
            query = query.where(st.c.last_seen >= since)
        if article_ids is not None:
            query = query.where(
                st.c.id.in_(select(s.c.story_id).where(s.c.article_id.in_(sorted(set(article_ids)))))
            )
        if language:
            query = query.where(
                st.c.id.in_(
                    select(s.c.story_id).join(a, a.c.id == s.c.article_id).where(a.c.language == language)
                )
            )
        with self.engine.connect() as conn:
            ids = [row.id for row in conn.execute(query)]
        return self._load_stories(ids)

    def story(self, story_id: int) -> Story | None:
        loaded = self._load_stories([story_id])
        return loaded[0] if loaded else None

    def _load_stories(self, ids: Sequence[int]) -> list[Story]:
        if not ids:
            return []
        st, s, a = schema.stories, schema.article_stories, schema.articles
        with self.engine.connect() as conn:
            heads = {row.id: row for row in conn.execute(select(st).where(st.c.id.in_(ids)))}
            members = conn.execute(
                select(a, s.c.story_id, s.c.reason)
                .join(s, s.c.article_id == a.c.id)
                .where(s.c.story_id.in_(ids))
                .order_by(func.coalesce(a.c.published_at, a.c.fetched_at), a.c.id)
            ).all()
        grouped: dict[int, list[Any]] = defaultdict(list)
        for row in members:
            grouped[row.story_id].append(row)
        return [
            Story(
                id=story_id,
                first_seen=heads[story_id].first_seen,
                last_seen=heads[story_id].last_seen,
                articles=tuple(schema.article_from_row(row) for row in grouped[story_id]),
                reasons={row.id: row.reason for row in grouped[story_id]},
            )
            for story_id in ids
            if story_id in heads and grouped.get(story_id)
        ]


def _fingerprint_row(link: StoryLink) -> dict[str, Any]:
    return {
        "article_id": link.article_id,
        "moment": link.moment,
        "minhash": link.minhash,
        "vector": link.vector,
        "clues": "\n".join(link.clues),
        "model": link.model,
    }


def _link_row(link: StoryLink, now: datetime) -> dict[str, Any]:
    return {
        "article_id": link.article_id,
        "story_id": link.story_id,
        "score": link.score,
        "reason": link.reason,
        "near_copy_of": link.near_copy_of,
        "matched_article": link.matched_article,
        "linked_at": now,
    }
