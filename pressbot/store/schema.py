"""The archive's tables as SQLAlchemy Core metadata: the current shape, dialect-neutral.

Dates are stored as naive UTC (``UTCDateTime`` adds the zone back on the way out) so the
same columns work on SQLite and PostgreSQL. The full-text index is backend-specific and lives
in :mod:`pressbot.store.migrations` (FTS5 on SQLite).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)

from pressbot.models import Article


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime in Python, a naive UTC timestamp in the database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("pressbot stores only timezone-aware datetimes")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, nullable=False),
    Column("applied_at", UTCDateTime, nullable=False),
)

source_state = Table(
    "source_state",
    metadata,
    Column("source_id", String(64), primary_key=True),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("last_attempt", UTCDateTime),
    Column("last_success", UTCDateTime),
    Column("failures", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("last_error_at", UTCDateTime),
)

articles = Table(
    "articles",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source_id", String(64), nullable=False),
    Column("url", Text, nullable=False, unique=True),
    Column("original_url", Text, nullable=False, default=""),
    Column("guid", Text, nullable=False, default=""),
    Column("title", Text, nullable=False, default=""),
    Column("summary", Text, nullable=False, default=""),
    Column("body", Text, nullable=False, default=""),
    Column("language", String(8), nullable=False),
    Column("published_at", UTCDateTime),
    Column("fetched_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime),
    Column("authors", Text, nullable=False, default=""),  # newline-separated
    Column("content_hash", String(64), nullable=False, default=""),
    Column("revision", Integer, nullable=False, default=1),
    Index("ix_articles_source_guid", "source_id", "guid"),
    Index("ix_articles_published", "published_at"),
    Index("ix_articles_fetched", "fetched_at"),
)

article_revisions = Table(
    "article_revisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("revision", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("replaced_at", UTCDateTime, nullable=False),
)


stories = Table(
    "stories",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
    Column("size", Integer, nullable=False, default=1),
    Index("ix_stories_last_seen", "last_seen"),
)

article_stories = Table(
    "article_stories",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("story_id", Integer, ForeignKey("stories.id"), nullable=False, index=True),
    Column("score", Float, nullable=False),  # 1.0 for a story's first article
    Column("reason", Text, nullable=False),  # why it joined, for humans
    Column("near_copy_of", Integer),  # the article it repeats, when a near-copy
    Column("matched_article", Integer),  # the member it was most similar to
    Column("linked_at", UTCDateTime, nullable=False),
)

fingerprints = Table(
    "fingerprints",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("moment", UTCDateTime, nullable=False, index=True),  # published, else fetched: the story clock
    Column("minhash", LargeBinary, nullable=False),
    Column("vector", LargeBinary, nullable=False),  # float32 sentence embedding
    Column("clues", Text, nullable=False, default=""),  # numbers and names, newline-separated
    Column("model", String(80), nullable=False),
)

translations = Table(
    "translations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("text_hash", String(64), nullable=False),  # sha256 of the source text: the cache key
    Column("source_language", String(8), nullable=False),
    Column("target_language", String(8), nullable=False),
    Column("model", String(200), nullable=False),  # which package(s) produced it
    Column("translation", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ux_translations_key", "text_hash", "source_language", "target_language", "model", unique=True),
)

# Telegram delivery (v6): a digest is rendered into messages and stored before anything is sent;
# a message is 'sent' (with Telegram's message id) only after Telegram confirmed it.
digests = Table(
    "digests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel_id", String(64), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("since", UTCDateTime, nullable=False),  # the period covered
    Column("until", UTCDateTime, nullable=False),
    Column("topic", String(64)),  # a one-off topic, when not the channel's own selection
    Column("stories", Integer, nullable=False),
    Column("messages", Integer, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),  # sending order within a chat
    Column("digest_id", Integer, ForeignKey("digests.id"), index=True),
    Column("channel_id", String(64), nullable=False),
    Column("chat", String(64), nullable=False),
    Column("part", Integer, nullable=False, default=1),
    Column("parts", Integer, nullable=False, default=1),
    Column("text", Text, nullable=False),  # Telegram HTML, ready to send
    Column("status", String(16), nullable=False),  # pending | sending | sent | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    Column("attempted_at", UTCDateTime),
    Column("sent_at", UTCDateTime),
    Column("telegram_message_id", Integer),
    Column("error", Text),
    Index("ix_outbox_status", "status", "chat", "id"),
)

channel_state = Table(
    "channel_state",
    metadata,
    Column("channel_id", String(64), primary_key=True),
    Column("last_digest_at", UTCDateTime),  # end of the period of the last scheduled digest queued
    Column("last_sent_at", UTCDateTime),
    Column("failures", Integer, nullable=False, default=0),  # consecutive failed sends
    Column("last_error", Text),
    Column("last_error_at", UTCDateTime),
)


def article_from_row(row: Any) -> Article:
    return Article(
        id=row.id,
        source_id=row.source_id,
        url=row.url,
        original_url=row.original_url,
        guid=row.guid,
        title=row.title,
        summary=row.summary,
        body=row.body,
        language=row.language,
        published_at=row.published_at,
        fetched_at=row.fetched_at,
        updated_at=row.updated_at,
        authors=tuple(a for a in row.authors.split("\n") if a),
        content_hash=row.content_hash,
        extra={"revision": str(row.revision)},
    )


def article_values(article: Article) -> dict[str, Any]:
    return {
        "source_id": article.source_id,
        "url": article.url,
        "original_url": article.original_url,
        "guid": article.guid,
        "title": article.title,
        "summary": article.summary,
        "body": article.body,
        "language": article.language,
        "published_at": article.published_at,
        "fetched_at": article.fetched_at,
        "authors": "\n".join(article.authors),
        "content_hash": article.content_hash,
    }
