"""Digests from the archive to the outbox: the period, the topic filter, the translation lookups.

Input → output: a channel (or an ad-hoc audience) and a period → a :class:`Prepared` digest
(entries and rendered messages), and — when posting — its messages stored in the archive's
outbox with the channel's last digest time, in one transaction. Blocking (SQLite): call it from
a worker thread inside an event loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pressbot.channels import Channel
from pressbot.config import Config
from pressbot.errors import ConfigError
from pressbot.models import Article, Topic
from pressbot.store import Archive
from pressbot.store.outbox import DigestRecord
from pressbot.store.search import any_of
from pressbot.telegram.digest import Digest, build_digest, wanted_translations
from pressbot.telegram.render import render_digest

DEFAULT_PERIOD = timedelta(hours=24)  # a channel's first digest, when no period is given


@dataclass(frozen=True)
class DigestRequest:
    channel: Channel
    since: datetime | None = None  # None: since the channel's last digest (or DEFAULT_PERIOD)
    topic: str | None = None  # a one-off topic instead of the channel's own topics
    language: str | None = None  # preview in another language (never posted)

    @property
    def scheduled(self) -> bool:
        """The channel's regular digest: it moves the channel's last digest time on."""
        return self.since is None and self.topic is None and self.language is None


@dataclass(frozen=True)
class Prepared:
    request: DigestRequest
    digest: Digest
    messages: tuple[str, ...]  # Telegram HTML; empty when an empty digest is skipped

    @property
    def skipped(self) -> bool:
        return not self.messages


def prepare_digest(archive: Archive, config: Config, request: DigestRequest, *, now: datetime) -> Prepared:
    channel = request.channel
    language = request.language or channel.language
    since = request.since
    if since is None:
        since = archive.channel_state(channel.id).last_digest_at or now - DEFAULT_PERIOD
    topics = [config.topic(request.topic)] if request.topic else [config.topic(t) for t in channel.topics]
    stories, loose = archive.period_articles(since=since, until=now, match=topic_match(topics))
    groups = [story.articles for story in stories] + [(article,) for article in loose]
    digest = build_digest(
        stories,
        loose,
        language=language,
        timezone=channel.timezone,
        since=since,
        until=now,
        now=now,
        translations=cached_headlines(archive, groups, language),
        outlet_names={source.id: source.name for source in config.sources},
        max_stories=channel.max_stories,
        title=", ".join(topic.name for topic in topics),
        channel_id=channel.id,
    )
    skip = not digest.entries and channel.skip_empty
    return Prepared(request, digest, () if skip else tuple(render_digest(digest)))


def queue_digest(archive: Archive, prepared: Prepared, *, now: datetime) -> int:
    """Store the digest's messages in the outbox (and, for the regular digest, the channel's
    last digest time) in one transaction; returns the digest's id."""
    request, digest = prepared.request, prepared.digest
    if request.language is not None and request.language != request.channel.language:
        raise ConfigError(
            f"--lang {request.language} only previews: channel {request.channel.id} posts in "
            f"{request.channel.language}."
        )
    record = DigestRecord(
        channel_id=request.channel.id,
        chat=request.channel.chat,
        since=digest.since,
        until=digest.until,
        topic=request.topic,
        stories=len(digest.entries),
    )
    return archive.queue_digest(record, prepared.messages, now=now, advance=request.scheduled)


def cached_headlines(
    archive: Archive, groups: Sequence[Sequence[Article]], language: str
) -> dict[tuple[str, str], tuple[str, str]]:
    """(headline, its language) → (cached translation into ``language``, model) for the entries
    these article groups make (only the headlines that need one)."""
    translations: dict[tuple[str, str], tuple[str, str]] = {}
    for source_language, titles in wanted_translations(groups, language).items():
        found = archive.latest_translations(titles, source=source_language, targets=[language])
        translations.update({(t, source_language): v for t, v in found.get(language, {}).items()})
    return translations


def topic_match(topics: Sequence[Topic]) -> str | None:
    """The FTS5 expression matching any keyword of these topics (None: no filter)."""
    if not topics:
        return None
    return any_of([word for topic in topics for words in topic.keywords.values() for word in words])
