"""What digests read from and write to the archive: new stories of a period, the outbox of
Telegram messages, each channel's delivery state, and which stories were already alerted.

A mixin of :class:`pressbot.store.Archive` (same engine, same single-thread rule). The outbox
makes delivery restartable: a digest's messages are stored before the first one is sent, a
message is marked ``sending`` (committed) before the request and ``sent`` with Telegram's
message id right after Telegram's answer. A message found ``sending`` after a crash may or may
not have reached Telegram; it is sent again (at-least-once for that one message only).

An alert is a digest of one story: its ``digests`` row has ``topic`` = ``alert:<story id>`` (the
schema has no alert table yet), and checking for that row and inserting it with its message
happen in one transaction, so a story is alerted to a channel at most once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select, text

from pressbot.models import Article, Story
from pressbot.store import schema

OPEN = ("pending", "sending")  # still to be sent
STATUSES = ("pending", "sending", "sent", "failed")


def alert_key(story_id: int) -> str:
    return f"alert:{story_id}"


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    digest_id: int | None
    channel_id: str
    chat: str
    part: int
    parts: int
    text: str
    status: str
    attempts: int
    created_at: datetime
    attempted_at: datetime | None = None
    sent_at: datetime | None = None
    telegram_message_id: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class ChannelState:
    channel_id: str
    last_digest_at: datetime | None = None
    last_sent_at: datetime | None = None
    failures: int = 0
    last_error: str | None = None
    last_error_at: datetime | None = None


@dataclass(frozen=True)
class DigestRecord:
    """The digest row stored with its messages."""

    channel_id: str
    chat: str
    since: datetime
    until: datetime
    topic: str | None
    stories: int


class OutboxMixin:
    engine: Engine
    # from StoriesMixin, beside this mixin in Archive
    _load_stories: Callable[[Sequence[int]], list[Story]]
    articles_by_id: Callable[[Iterable[int]], dict[int, Article]]

    # ------------------------------------------------------------------ what a digest covers

    def period_articles(
        self, *, since: datetime, until: datetime, match: str | None = None, limit: int = 5000
    ) -> tuple[list[Story], list[Article]]:
        """Stories with an article fetched in [since, until), and the period's articles not yet in
        a story; with ``match`` (an FTS5 expression: a topic's keywords) only articles matching it."""
        a, s = schema.articles, schema.article_stories
        with self.engine.connect() as conn:
            query = select(a.c.id, s.c.story_id).outerjoin(s, s.c.article_id == a.c.id)
            query = query.where(a.c.fetched_at >= since, a.c.fetched_at < until).order_by(a.c.id.desc())
            rows = conn.execute(query.limit(limit)).all()
            if match is not None and rows:
                # Ids grow with insertion, so the period's articles all have ids ≥ the smallest one:
                # a rowid range keeps the index lookup to the period.
                hits = conn.execute(
                    text("SELECT rowid FROM articles_fts WHERE articles_fts MATCH :match AND rowid >= :low"),
                    {"match": match, "low": min(row.id for row in rows)},
                )
                matching = set(hits.scalars())
                rows = [row for row in rows if row.id in matching]
        story_ids = list(dict.fromkeys(row.story_id for row in rows if row.story_id is not None))
        loose = [row.id for row in rows if row.story_id is None]
        stories = self._load_stories(story_ids)
        articles = self.articles_by_id(loose)
        return stories, [articles[i] for i in loose if i in articles]

    # ------------------------------------------------------------------ outbox

    def queue_digest(
        self, record: DigestRecord, messages: Sequence[str], *, now: datetime, advance: bool
    ) -> int:
        """Store a digest and its messages (pending) in one transaction; with ``advance`` the
        channel's last digest time moves to the end of the period in the same transaction."""
        with self.engine.begin() as conn:
            digest_id = int(
                conn.execute(
                    schema.digests.insert().values(
                        channel_id=record.channel_id,
                        created_at=now,
                        since=record.since,
                        until=record.until,
                        topic=record.topic,
                        stories=record.stories,
                        messages=len(messages),
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
            )
            if messages:
                conn.execute(
                    schema.outbox.insert(),
                    [
                        {
                            "digest_id": digest_id,
                            "channel_id": record.channel_id,
                            "chat": record.chat,
                            "part": number,
                            "parts": len(messages),
                            "text": message,
                            "status": "pending",
                            "attempts": 0,
                            "created_at": now,
                        }
                        for number, message in enumerate(messages, start=1)
                    ],
                )
            if advance:
                self._save_channel(conn, record.channel_id, {"last_digest_at": record.until})
        return digest_id

    def queue_alert(self, record: DigestRecord, message: str, *, story_id: int, now: datetime) -> int | None:
        """Queue the alert for one story to one channel, unless that channel already had one for
        this story; returns the outbox message's id, or None when it was alerted before."""
        d = schema.digests
        key = alert_key(story_id)
        with self.engine.begin() as conn:
            seen = conn.execute(
                select(d.c.id).where(d.c.channel_id == record.channel_id, d.c.topic == key).limit(1)
            ).first()
            if seen is not None:
                return None
            digest_id = conn.execute(
                d.insert().values(
                    channel_id=record.channel_id,
                    created_at=now,
                    since=record.since,
                    until=record.until,
                    topic=key,
                    stories=1,
                    messages=1,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            return int(
                conn.execute(
                    schema.outbox.insert().values(
                        digest_id=digest_id,
                        channel_id=record.channel_id,
                        chat=record.chat,
                        part=1,
                        parts=1,
                        text=message,
                        status="pending",
                        attempts=0,
                        created_at=now,
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
            )

    def alerted_stories(self, channel_id: str, story_ids: Iterable[int]) -> set[int]:
        """The stories among ``story_ids`` already alerted to the channel."""
        d = schema.digests
        keys = {alert_key(story_id): story_id for story_id in story_ids}
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(d.c.topic).where(d.c.channel_id == channel_id, d.c.topic.in_(sorted(keys)))
            ).scalars()
            return {keys[row] for row in rows}

    def open_messages(self, *, channel_ids: Iterable[str] | None = None) -> list[OutboxMessage]:
        """Messages still to send (pending, or caught 'sending' by a crash), in sending order."""
        o = schema.outbox
        query = select(o).where(o.c.status.in_(OPEN)).order_by(o.c.id)
        if channel_ids is not None:
            query = query.where(o.c.channel_id.in_(list(channel_ids)))
        with self.engine.connect() as conn:
            return [OutboxMessage(**dict(row._mapping)) for row in conn.execute(query)]

    def outbox_messages(
        self, *, statuses: Iterable[str] = STATUSES, limit: int = 1000
    ) -> list[OutboxMessage]:
        o = schema.outbox
        query = select(o).where(o.c.status.in_(list(statuses))).order_by(o.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            rows = [OutboxMessage(**dict(row._mapping)) for row in conn.execute(query)]
        return rows[::-1]

    def outbox_counts(self) -> dict[tuple[str, str], int]:
        """(channel id, status) → number of messages."""
        o = schema.outbox
        query = select(o.c.channel_id, o.c.status, func.count()).group_by(o.c.channel_id, o.c.status)
        with self.engine.connect() as conn:
            return {(row[0], row[1]): int(row[2]) for row in conn.execute(query)}

    def mark_sending(self, message_id: int, *, now: datetime) -> None:
        o = schema.outbox
        with self.engine.begin() as conn:
            conn.execute(
                o.update()
                .where(o.c.id == message_id)
                .values(status="sending", attempts=o.c.attempts + 1, attempted_at=now)
            )

    def mark_sent(self, message: OutboxMessage, *, telegram_message_id: int, now: datetime) -> None:
        o = schema.outbox
        with self.engine.begin() as conn:
            conn.execute(
                o.update()
                .where(o.c.id == message.id)
                .values(status="sent", sent_at=now, telegram_message_id=telegram_message_id, error=None)
            )
            self._save_channel(conn, message.channel_id, {"last_sent_at": now, "failures": 0})

    def mark_pending(self, message_id: int, *, error: str) -> None:
        """A transient failure: the message stays to be sent, with the reason."""
        o = schema.outbox
        with self.engine.begin() as conn:
            conn.execute(o.update().where(o.c.id == message_id).values(status="pending", error=error))

    def mark_failed(
        self, message: OutboxMessage, *, error: str, now: datetime, whole_chat: bool = False
    ) -> int:
        """A permanent failure: this message (or, when the chat itself is unusable, every open
        message of that channel and chat) will not be retried until `pressbot outbox retry`."""
        o = schema.outbox
        where = (
            (o.c.channel_id == message.channel_id) & (o.c.chat == message.chat) & o.c.status.in_(OPEN)
            if whole_chat
            else o.c.id == message.id
        )
        with self.engine.begin() as conn:
            failed = conn.execute(o.update().where(where).values(status="failed", error=error)).rowcount
            previous = conn.execute(
                select(schema.channel_state.c.failures).where(
                    schema.channel_state.c.channel_id == message.channel_id
                )
            ).scalar()
            self._save_channel(
                conn,
                message.channel_id,
                {"failures": int(previous or 0) + 1, "last_error": error, "last_error_at": now},
            )
        return int(failed)

    def retry_failed(self, *, channel_id: str | None = None, chat: str | None = None) -> int:
        """Failed messages back to pending (after the bot was re-added or the chat fixed);
        ``chat`` also moves them to the channel's current chat."""
        o = schema.outbox
        values: dict[str, Any] = {"status": "pending", "attempts": 0}
        if chat is not None:
            values["chat"] = chat
        where = o.c.status == "failed"
        if channel_id is not None:
            where = where & (o.c.channel_id == channel_id)
        with self.engine.begin() as conn:
            return int(conn.execute(o.update().where(where).values(**values)).rowcount)

    # ------------------------------------------------------------------ channel state

    def channel_state(self, channel_id: str) -> ChannelState:
        c = schema.channel_state
        with self.engine.connect() as conn:
            row = conn.execute(select(c).where(c.c.channel_id == channel_id)).first()
        return ChannelState(**dict(row._mapping)) if row else ChannelState(channel_id=channel_id)

    def channel_states(self) -> dict[str, ChannelState]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(schema.channel_state)).all()
        return {row.channel_id: ChannelState(**dict(row._mapping)) for row in rows}

    def _save_channel(self, conn: Any, channel_id: str, values: dict[str, Any]) -> None:
        c = schema.channel_state
        updated = conn.execute(c.update().where(c.c.channel_id == channel_id).values(**values)).rowcount
        if not updated:
            conn.execute(c.insert().values(channel_id=channel_id, **({"failures": 0} | values)))
