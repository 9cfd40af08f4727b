"""The translation cache: the same text is never translated twice by the same model.

A mixin of :class:`pressbot.store.Archive`. Keys are the SHA-256 of the source text, the two
languages and the model label, so installing a newer model naturally starts a new cache line.
The cache is also where translated titles and leads live: :meth:`latest_translations` finds
an article's by the hashes of its texts. :meth:`articles_for_translation` reads articles in
id order, newest first, a page at a time (the backlog's scan).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from pressbot.leads import LEAD_CHARS, lead_text
from pressbot.models import Article
from pressbot.store import fulltext, schema

BATCH = 500


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class TranslationsMixin:
    engine: Engine

    def cached_translations(
        self, texts: Sequence[str], *, source: str, target: str, model: str
    ) -> dict[str, str]:
        """Source text → cached translation, for the texts already translated by this model."""
        t = schema.translations
        by_hash = {text_hash(text): text for text in texts}
        hashes = sorted(by_hash)
        found: dict[str, str] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(hashes), BATCH):
                rows = conn.execute(
                    select(t.c.text_hash, t.c.translation).where(
                        t.c.text_hash.in_(hashes[start : start + BATCH]),
                        t.c.source_language == source,
                        t.c.target_language == target,
                        t.c.model == model,
                    )
                )
                found.update({by_hash[row.text_hash]: row.translation for row in rows})
        return found

    def store_translations(
        self, pairs: Sequence[tuple[str, str]], *, source: str, target: str, model: str, now: datetime
    ) -> None:
        """Remember (text, translation) pairs; a pair already cached is left as it is."""
        if not pairs:
            return
        rows = [
            {
                "text_hash": text_hash(text),
                "source_language": source,
                "target_language": target,
                "model": model,
                "translation": translation,
                "created_at": now,
            }
            for text, translation in pairs
        ]
        with self.engine.begin() as conn:
            # (PostgreSQL will take the same statement from its own dialect: INSERT … ON CONFLICT DO NOTHING)
            conn.execute(sqlite_insert(schema.translations).on_conflict_do_nothing(), rows)

    def index_translations(self, articles: Sequence[Article]) -> None:
        """Put the cached translations of these articles' titles and leads into their search rows."""
        rows: list[tuple[Article, str, str]] = []
        for language in {a.language for a in articles}:
            group = [a for a in articles if a.language == language and a.id is not None]
            found = self.latest_translations(
                [t for a in group for t in (a.title, lead_text(a))], source=language
            )
            for article in group:
                titles = [by_text[article.title][0] for by_text in found.values() if article.title in by_text]
                lead = lead_text(article)
                leads = [by_text[lead][0] for by_text in found.values() if lead in by_text]
                if titles or leads:
                    rows.append((article, "\n".join(titles), "\n".join(leads)))
        if rows:
            with self.engine.begin() as conn:
                for article, title_text, lead_texts in rows:
                    fulltext.replace(conn, article.id or 0, article, title_text, lead_texts)

    def latest_translations(
        self, texts: Sequence[str], *, source: str, targets: Sequence[str] | None = None
    ) -> dict[str, dict[str, tuple[str, str]]]:
        """Target language → {text: (translation, model)}: the newest cached translation of each
        text into each language (or only into ``targets``), whatever the model."""
        t = schema.translations
        by_hash = {text_hash(text): text for text in texts if text.strip()}
        hashes = sorted(by_hash)
        found: dict[str, dict[str, tuple[str, str]]] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(hashes), BATCH):
                query = select(t.c.text_hash, t.c.target_language, t.c.translation, t.c.model).where(
                    t.c.text_hash.in_(hashes[start : start + BATCH]), t.c.source_language == source
                )
                if targets is not None:
                    query = query.where(t.c.target_language.in_(list(targets)))
                rows = conn.execute(query.order_by(t.c.created_at, t.c.id))  # later rows win
                for row in rows:
                    found.setdefault(row.target_language, {})[by_hash[row.text_hash]] = (
                        row.translation,
                        row.model,
                    )
        return found

    def articles_for_translation(
        self,
        *,
        ids: Sequence[int] | None = None,
        before_id: int | None = None,
        languages: Sequence[str] | None = None,
        limit: int = BATCH,
    ) -> list[Article]:
        """Articles newest first (by id) with what their title and lead need: the body only as far
        as a lead can reach. ``ids``: just these; ``before_id``: the next page of a scan."""
        a = schema.articles
        query = select(
            a.c.id,
            a.c.source_id,
            a.c.url,
            a.c.title,
            a.c.language,
            a.c.summary,
            func.substr(a.c.body, 1, 4 * LEAD_CHARS).label("body"),
        ).order_by(a.c.id.desc())
        if ids is not None:
            query = query.where(a.c.id.in_(list(ids)))
        if before_id is not None:
            query = query.where(a.c.id < before_id)
        if languages is not None:
            query = query.where(a.c.language.in_(list(languages)))
        with self.engine.connect() as conn:
            rows = conn.execute(query.limit(limit)).all()
        return [
            Article(
                id=row.id,
                source_id=row.source_id,
                url=row.url,
                title=row.title,
                language=row.language,
                summary=row.summary,
                body=row.body,
            )
            for row in rows
        ]

    def count_articles(self, *, languages: Sequence[str] | None = None) -> int:
        a = schema.articles
        query = select(func.count()).select_from(a)
        if languages is not None:
            query = query.where(a.c.language.in_(list(languages)))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)
