"""SQLite's full-text index (FTS5) for the archive: its DDL, its rows and its queries.

The index holds the pre-tokenized text (see :mod:`pressbot.store.search`) and, as UNINDEXED
columns placed first, the fields searches filter on (language, source, date), so a filtered
search never has to visit the articles table for rows it will not return: the matching,
filtering, ranking and LIMIT happen inside the index, and only the hits are joined.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from pressbot.models import Article
from pressbot.store.search import index_tokens

CREATE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS articles_fts USING fts5("
    "language UNINDEXED, source_id UNINDEXED, ts UNINDEXED, title, text, "
    "tokenize = 'unicode61 remove_diacritics 2')"
)
INSERT = (
    "INSERT INTO articles_fts(rowid, language, source_id, ts, title, text) "
    "VALUES (:rowid, :language, :source_id, :ts, :title, :text)"
)
DELETE = "DELETE FROM articles_fts WHERE rowid = :rowid"
TITLE_WEIGHT, TEXT_WEIGHT = 5.0, 1.0


def _epoch(moment: datetime | None) -> int:
    return int(moment.timestamp()) if moment else 0


def row(article_id: int, article: Article) -> dict[str, Any]:
    """The index row of an article."""
    return {
        "rowid": article_id,
        "language": article.language,
        "source_id": article.source_id,
        "ts": _epoch(article.published_at or article.fetched_at),
        "title": index_tokens(article.title),
        "text": index_tokens(f"{article.summary}\n{article.body}"),
    }


def insert(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(text(INSERT), rows)


def replace(conn: Connection, article_id: int, article: Article) -> None:
    conn.execute(text(DELETE), {"rowid": article_id})
    conn.execute(text(INSERT), row(article_id, article))


def search_sql(
    *, language: str | None, source_id: str | None, since: datetime | None, relevance: bool
) -> tuple[str, dict[str, Any]]:
    """The hits subquery (inside the index) joined to articles; parameters besides :match and :limit."""
    where = ["articles_fts MATCH :match"]
    params: dict[str, Any] = {}
    if language:
        where.append("language = :language")
        params["language"] = language
    if source_id:
        where.append("source_id = :source_id")
        params["source_id"] = source_id
    if since:
        where.append("ts >= :since")
        params["since"] = _epoch(since)
    score = f"bm25(articles_fts, 0, 0, 0, {TITLE_WEIGHT}, {TEXT_WEIGHT})" if relevance else "-rowid"
    sql = (
        f"SELECT a.* FROM (SELECT rowid AS hit, {score} AS score FROM articles_fts "
        f"WHERE {' AND '.join(where)} ORDER BY {'score' if relevance else 'rowid DESC'} LIMIT :limit) AS hits "
        "JOIN articles a ON a.id = hits.hit ORDER BY hits.score"
    )
    return sql, params
