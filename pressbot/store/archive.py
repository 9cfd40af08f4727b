"""The archive: articles (unique by canonical URL, updated in place with revision history),
per-source state, and full-text search in zh/it/en. SQLite by default, in ``storage/``.

Input → output: Articles and source outcomes in; search hits, articles and source health
out. The full-text rows are written in the same transaction as the article rows, by this
code, not by triggers. An :class:`Archive` is used from one thread at a time (the pipeline
gives it a dedicated worker thread).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    create_engine,
    event,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from pressbot.errors import StoreError
from pressbot.models import Article, SourceState
from pressbot.store import fulltext, schema
from pressbot.store.migrations import migrate
from pressbot.store.outbox import OutboxMixin
from pressbot.store.search import match_expression
from pressbot.store.stories import StoriesMixin
from pressbot.store.translations import TranslationsMixin

Outcome = Literal["new", "updated", "unchanged"]
BATCH = 500


@dataclass(frozen=True)
class SearchQuery:
    text: str  # the user's query (see store.search.match_expression)
    language: str | None = None
    source_id: str | None = None
    since: datetime | None = None
    limit: int = 20
    sort: Literal["recent", "relevance"] = "recent"
    raw_match: str | None = None  # a ready FTS5 expression instead of ``text`` (topics)


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=10000"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


class Archive(StoriesMixin, TranslationsMixin, OutboxMixin):
    """One archive database; open with :meth:`open`, close when done."""

    def __init__(self, engine: Engine):
        self.engine = engine

    @classmethod
    def open(cls, storage: Path) -> Archive:
        """Open (creating and migrating as needed) ``<storage>/pressbot.db``."""
        database = storage / "pressbot.db"
        try:
            storage.mkdir(parents=True, exist_ok=True)
            engine = create_engine(f"sqlite:///{database}", connect_args={"check_same_thread": False})
            event.listen(engine, "connect", _on_connect)
            migrate(engine, database=database)
        except (OSError, SQLAlchemyError) as error:
            raise StoreError(
                f"cannot open the archive {database}: {_reason(error)} — check the --storage folder and "
                "its permissions (a damaged file can be restored from storage/backups/)."
            ) from None
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ articles

    def upsert(self, incoming: Sequence[Article], *, now: datetime) -> list[tuple[Outcome, int]]:
        """Store articles: new ones inserted, changed ones updated (old text kept as a revision)."""
        results: list[tuple[Outcome, int]] = []
        with self.engine.begin() as conn:
            for start in range(0, len(incoming), BATCH):
                results.extend(self._upsert_batch(conn, incoming[start : start + BATCH], now=now))
        return results

    def _existing(
        self, conn: Connection, batch: Sequence[Article]
    ) -> tuple[dict[str, Any], dict[tuple[str, str], Any]]:
        """Stored rows matching the batch by URL or by (source, GUID), found through the indexes.

        (A row-value ``(source_id, guid) IN (…)`` makes SQLite 3.40 scan the whole table; one
        ``source_id = ? AND guid IN (…)`` term per source uses ix_articles_source_guid.)
        """
        a = schema.articles
        guids: dict[str, set[str]] = {}
        for article in batch:
            if article.guid:
                guids.setdefault(article.source_id, set()).add(article.guid)
        terms: list[ColumnElement[bool]] = [a.c.url.in_({article.url for article in batch})]
        terms += [and_(a.c.source_id == source_id, a.c.guid.in_(keys)) for source_id, keys in guids.items()]
        rows = conn.execute(select(a).where(or_(*terms))).all()
        return {row.url: row for row in rows}, {(row.source_id, row.guid): row for row in rows if row.guid}

    def _upsert_batch(
        self, conn: Connection, batch: Sequence[Article], *, now: datetime
    ) -> list[tuple[Outcome, int]]:
        by_url, by_guid = self._existing(conn, batch)
        # (outcome, stored id, or index into `pending` for rows inserted below)
        planned: list[tuple[Outcome, int | None, int | None]] = []
        pending: list[Article] = []
        seen: dict[str, int] = {}  # url / source+guid → index in pending: an item listed twice in one batch
        for article in batch:
            row = by_url.get(article.url) or (
                by_guid.get((article.source_id, article.guid)) if article.guid else None
            )
            if row is not None:
                planned.append((self._update(conn, row, article, now=now), int(row.id), None))
                continue
            keys = [article.url] + ([f"{article.source_id}\x1f{article.guid}"] if article.guid else [])
            twin = next((seen[key] for key in keys if key in seen), None)
            if twin is not None:  # the first listing wins (feeds list newest first)
                planned.append(("unchanged", None, twin))
                continue
            seen.update(dict.fromkeys(keys, len(pending)))
            planned.append(("new", None, len(pending)))
            pending.append(article)
        ids = self._insert(conn, pending)
        return [
            (outcome, stored if stored is not None else ids[index or 0]) for outcome, stored, index in planned
        ]

    def _insert(self, conn: Connection, articles: Sequence[Article]) -> list[int]:
        """Insert new articles with one executemany each for rows and index; their ids in order."""
        if not articles:
            return []
        statement = schema.articles.insert().returning(schema.articles.c.id, sort_by_parameter_order=True)
        ids = [
            int(row.id)
            for row in conn.execute(statement, [schema.article_values(article) for article in articles])
        ]
        fulltext.insert(
            conn,
            [fulltext.row(article_id, article) for article_id, article in zip(ids, articles, strict=True)],
        )
        return ids

    def _update(self, conn: Connection, row: Any, article: Article, *, now: datetime) -> Outcome:
        fills_body = bool(article.body) and not row.body
        if row.content_hash == article.content_hash and not fills_body:
            return "unchanged"
        merged = replace(
            article,
            url=row.url if row.url != article.url and _taken(conn, article.url, row.id) else article.url,
            body=article.body or row.body,
            published_at=article.published_at or row.published_at,
        )
        values = schema.article_values(merged) | {"fetched_at": row.fetched_at}
        if row.content_hash != article.content_hash:
            conn.execute(
                schema.article_revisions.insert().values(
                    article_id=row.id,
                    revision=row.revision,
                    title=row.title,
                    summary=row.summary,
                    url=row.url,
                    content_hash=row.content_hash,
                    replaced_at=now,
                )
            )
            values |= {"updated_at": now, "revision": row.revision + 1}
        conn.execute(schema.articles.update().where(schema.articles.c.id == row.id).values(**values))
        fulltext.replace(conn, int(row.id), merged)
        return "updated"

    def known_with_body(self, urls: Iterable[str]) -> set[str]:
        """Which of these canonical URLs are already archived with a full body (no need to fetch again)."""
        wanted = list(set(urls))
        found: set[str] = set()
        a = schema.articles
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), BATCH):
                chunk = wanted[start : start + BATCH]
                found.update(
                    conn.execute(select(a.c.url).where(a.c.url.in_(chunk), a.c.body != "")).scalars()
                )
        return found

    def get(self, article_id: int) -> Article | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(schema.articles).where(schema.articles.c.id == article_id)).first()
        return schema.article_from_row(row) if row else None

    def revisions(self, article_id: int) -> list[dict[str, Any]]:
        r = schema.article_revisions
        with self.engine.connect() as conn:
            rows = conn.execute(select(r).where(r.c.article_id == article_id).order_by(r.c.revision)).all()
        return [dict(row._mapping) for row in rows]

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(schema.articles)).scalar() or 0)

    # ------------------------------------------------------------------ search

    def search(self, query: SearchQuery) -> list[Article]:
        """Full-text search (zh/it/en) with filters; newest first or by relevance."""
        sql, params = fulltext.search_sql(since=query.since, relevance=query.sort == "relevance")
        expression = query.raw_match or match_expression(query.text)
        params |= {
            "match": fulltext.match_with_facets(
                expression, language=query.language, source_id=query.source_id
            ),
            "limit": query.limit,
        }
        statement = text(sql).columns(*schema.articles.c)
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(statement, params).all()
        except OperationalError as error:
            raise StoreError(
                f"the search {query.text!r} failed: {error.orig} — simplify the query."
            ) from None
        return [schema.article_from_row(row) for row in rows]

    # ------------------------------------------------------------------ source state

    def source_states(self) -> dict[str, SourceState]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(schema.source_state)).all()
            counts: dict[str, int] = dict(
                conn.execute(
                    select(schema.articles.c.source_id, func.count()).group_by(schema.articles.c.source_id)
                ).all()
            )
        states = {row.source_id: SourceState(**dict(row._mapping)) for row in rows}
        for source_id, number in counts.items():
            states[source_id] = replace(
                states.get(source_id, SourceState(source_id=source_id)), articles=int(number)
            )
        return states

    def source_state(self, source_id: str) -> SourceState:
        """One source's state (without the article count, which needs a scan)."""
        s = schema.source_state
        with self.engine.connect() as conn:
            row = conn.execute(select(s).where(s.c.source_id == source_id)).first()
        return SourceState(**dict(row._mapping)) if row else SourceState(source_id=source_id)

    def record_success(
        self, source_id: str, *, now: datetime, etag: str | None, last_modified: str | None
    ) -> None:
        self._save_state(
            source_id,
            {
                "etag": etag,
                "last_modified": last_modified,
                "last_attempt": now,
                "last_success": now,
                "failures": 0,
            },
        )

    def record_failure(self, source_id: str, *, now: datetime, error: str) -> None:
        previous = self.source_state(source_id)
        self._save_state(
            source_id,
            {
                "last_attempt": now,
                "failures": previous.failures + 1,
                "last_error": error,
                "last_error_at": now,
            },
        )

    def _save_state(self, source_id: str, values: dict[str, Any]) -> None:
        s = schema.source_state
        with self.engine.begin() as conn:
            updated = conn.execute(s.update().where(s.c.source_id == source_id).values(**values)).rowcount
            if not updated:
                conn.execute(s.insert().values(source_id=source_id, **({"failures": 0} | values)))


def _taken(conn: Connection, url: str, own_id: int) -> bool:
    """Whether another article already owns ``url`` (a GUID match whose link moved onto an existing page)."""
    a = schema.articles
    return conn.execute(select(a.c.id).where(a.c.url == url, a.c.id != own_id)).first() is not None


def _reason(error: BaseException) -> str:
    """One line: the driver's own message (SQLAlchemy appends the statement and a help link)."""
    original = getattr(error, "orig", None) or error
    return f"{original.__class__.__name__}: {str(original).splitlines()[0] if str(original) else ''}".strip()
