"""Schema migrations: numbered steps that take any older archive to the current schema.

``migrate()`` reads ``schema_version``, backs the database file up before touching an
archive that already holds data, and applies each missing step in its own transaction. Steps
are written by hand (no autogenerate: Alembic's SQLite batch mode silently drops FTS5
triggers, and pressbot keeps the index in application code for that reason too). Every step
must keep existing rows; ``tests/test_store.py`` migrates a populated version-1 archive.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, select, text

from pressbot.errors import StoreError
from pressbot.store import fulltext, schema

Step = Callable[[Connection], None]
REINDEX_CHUNK = 5000


def _v1_initial(conn: Connection) -> None:
    for table in (schema.source_state, schema.articles):
        table.create(conn, checkfirst=True)
    if conn.dialect.name == "sqlite":
        # Pre-tokenized text (see store.search): unicode61 only splits it and folds case/accents.
        conn.execute(
            text(
                "CREATE VIRTUAL TABLE IF NOT EXISTS articles_fts USING fts5("
                "title, text, tokenize = 'unicode61 remove_diacritics 2')"
            )
        )


def _v2_revisions(conn: Connection) -> None:
    schema.article_revisions.create(conn, checkfirst=True)


def _v3_filterable_index(conn: Connection) -> None:
    """Rebuild the full-text index with language/source/date columns (filters inside the index)."""
    if conn.dialect.name != "sqlite":
        return
    conn.execute(text("DROP TABLE IF EXISTS articles_fts"))
    conn.execute(text(fulltext.CREATE))
    a = schema.articles
    last_id = 0
    while True:  # in chunks: an archive of millions of rows is rebuilt in bounded memory
        rows = conn.execute(select(a).where(a.c.id > last_id).order_by(a.c.id).limit(REINDEX_CHUNK)).all()
        if not rows:
            break
        fulltext.insert(conn, [fulltext.row(row.id, schema.article_from_row(row)) for row in rows])
        last_id = rows[-1].id


def _v4_stories(conn: Connection) -> None:
    for table in (schema.stories, schema.article_stories, schema.fingerprints):
        table.create(conn, checkfirst=True)


def _v5_translations(conn: Connection) -> None:
    schema.translations.create(conn, checkfirst=True)


def _v6_outbox(conn: Connection) -> None:
    for table in (schema.digests, schema.outbox, schema.channel_state):
        table.create(conn, checkfirst=True)


STEPS: tuple[Step, ...] = (
    _v1_initial,
    _v2_revisions,
    _v3_filterable_index,
    _v4_stories,
    _v5_translations,
    _v6_outbox,
)
CURRENT_VERSION = len(STEPS)


def current_version(conn: Connection) -> int:
    if not inspect(conn).has_table("schema_version"):
        return 0
    version = conn.execute(
        select(schema.schema_version.c.version).order_by(schema.schema_version.c.version.desc()).limit(1)
    ).scalar()
    return int(version or 0)


def _backup(database: Path, version: int) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = database.parent / "backups" / f"{database.stem}-v{version}-{stamp}.db"
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(database) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    return target


def migrate(engine: Engine, *, database: Path | None = None, now: datetime | None = None) -> int:
    """Bring the schema up to date; returns the version reached. StoreError if the archive is newer."""
    with engine.begin() as conn:
        schema.schema_version.create(conn, checkfirst=True)
        version = current_version(conn)
    if version > CURRENT_VERSION:
        raise StoreError(
            f"the archive uses schema version {version}, newer than this pressbot understands "
            f"({CURRENT_VERSION}) — upgrade pressbot; the archive was not touched."
        )
    if version == CURRENT_VERSION:
        return version
    if database is not None and version > 0 and database.exists():
        _backup(database, version)
    for number in range(version + 1, CURRENT_VERSION + 1):
        with engine.begin() as conn:
            STEPS[number - 1](conn)
            conn.execute(
                schema.schema_version.insert().values(version=number, applied_at=now or datetime.now(UTC))
            )
    return CURRENT_VERSION
