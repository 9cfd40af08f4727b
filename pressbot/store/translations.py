"""The translation cache: the same text is never translated twice by the same model.

A mixin of :class:`pressbot.store.Archive`. Keys are the SHA-256 of the source text, the two
languages and the model label, so installing a newer model naturally starts a new cache line.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from pressbot.store import schema

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
