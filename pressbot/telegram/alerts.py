"""Alerts: a new story matching a topic marked ``alert: true`` goes to its channels at once.

Input → output: the period a collection cycle covered → one outbox message per (channel, story)
for each story with an article collected in that period that matches an alert topic, in the
channels following the topic (those listing it in ``topics``, and those with no ``topics``, which
follow everything). Each is queued through the outbox, so pacing, retries and restarts work as for
digests, and the archive remembers it: a story is never alerted twice to a channel, however often
this runs. Blocking (SQLite): call from a worker thread inside an event loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pressbot.config import Config
from pressbot.store import Archive
from pressbot.store.outbox import DigestRecord
from pressbot.telegram.digest import build_digest
from pressbot.telegram.render import render_alert
from pressbot.telegram.service import cached_headlines, topic_match


@dataclass
class AlertReport:
    queued: dict[str, list[int]] = field(default_factory=dict)  # channel id → story ids queued now

    @property
    def total(self) -> int:
        return sum(len(stories) for stories in self.queued.values())


def queue_alerts(archive: Archive, config: Config, *, since: datetime, now: datetime) -> AlertReport:
    """Queue the alerts for what was collected in [since, now); returns what was queued."""
    report = AlertReport()
    names = {source.id: source.name for source in config.sources}
    for topic in (t for t in config.topics if t.id in config.alert_topics):
        channels = [c for c in config.channels if not c.topics or topic.id in c.topics]
        if not channels:
            continue
        stories, _loose = archive.period_articles(since=since, until=now, match=topic_match([topic]))
        # (loose articles are not in a story yet: they are alerted once clustering has placed them)
        for channel in channels:
            done = archive.alerted_stories(channel.id, [s.id for s in stories])
            fresh = sorted((s for s in stories if s.id not in done), key=lambda s: (s.first_seen, s.id))
            if not fresh:
                continue
            translations = cached_headlines(archive, [s.articles for s in fresh], channel.language)
            for story in fresh:
                digest = build_digest(
                    [story],
                    [],
                    language=channel.language,
                    timezone=channel.timezone,
                    since=since,
                    until=now,
                    now=now,
                    translations=translations,
                    outlet_names=names,
                    max_stories=1,
                    channel_id=channel.id,
                )
                message = render_alert(
                    digest.entries[0], topic=topic.name, language=channel.language, zone=channel.timezone
                )
                record = DigestRecord(
                    channel_id=channel.id,
                    chat=channel.chat,
                    since=story.first_seen,
                    until=now,
                    topic=None,  # (queue_alert records the story instead)
                    stories=1,
                )
                if archive.queue_alert(record, message, story_id=story.id, now=now) is not None:
                    report.queued.setdefault(channel.id, []).append(story.id)
    return report
