"""SQLite's full-text index (FTS5) for the archive: its DDL, its rows and its queries.

The index holds the pre-tokenized text (see :mod:`pressbot.store.search`), plus what searches
filter on: language and source as tokens of an indexed ``facets`` column (so a filter is one more
term of the MATCH, resolved inside the index like any word) and the article's date as an
UNINDEXED ``ts``. Matching, filtering, ranking and LIMIT happen inside the index; only the hits
are joined to the articles table. (Filtering on UNINDEXED language/source columns instead made a
ranked, filtered search read every matching row: p95 111 ms on 1M articles, bench_search.py.)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from pressbot.models import Article
from pressbot.store.search import index_tokens

CREATE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS articles_fts USING fts5("
    "ts UNINDEXED, facets, title, text, "
    "tokenize = 'unicode61 remove_diacritics 2')"
)
INSERT = (
    "INSERT INTO articles_fts(rowid, ts, facets, title, text) VALUES (:rowid, :ts, :facets, :title, :text)"
)
DELETE = "DELETE FROM articles_fts WHERE rowid = :rowid"
TITLE_WEIGHT, TEXT_WEIGHT = 5.0, 1.0


def _epoch(moment: datetime | None) -> int:
    return int(moment.timestamp()) if moment else 0


def language_token(language: str) -> str:
    return f"l{language}"


def source_token(source_id: str) -> str:
    # hex: one alphanumeric token per id, whatever '-' or '_' the id holds
    return "s" + source_id.encode("utf-8").hex()


def row(
    article_id: int, article: Article, translated_titles: str = "", translated_text: str = ""
) -> dict[str, Any]:
    """The index row of an article; its machine-translated titles and leads are searchable too
    (a search in Italian finds the Chinese article whose headline was translated into Italian)."""
    return {
        "rowid": article_id,
        "ts": _epoch(article.published_at or article.fetched_at),
        "facets": f"{language_token(article.language)} {source_token(article.source_id)}",
        "title": index_tokens(f"{article.title}\n{translated_titles}".strip()),
        "text": index_tokens(f"{article.summary}\n{article.body}\n{translated_text}".strip()),
    }


def insert(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(text(INSERT), rows)


def replace(conn: Connection, article_id: int, article: Article, titles: str = "", other: str = "") -> None:
    conn.execute(text(DELETE), {"rowid": article_id})
    conn.execute(text(INSERT), row(article_id, article, titles, other))


def match_with_facets(expression: str, *, language: str | None, source_id: str | None) -> str:
    """The user's MATCH expression restricted to a language and/or a source."""
    for token in ([language_token(language)] if language else []) + (
        [source_token(source_id)] if source_id else []
    ):
        expression = f"({expression}) AND facets : {token}"
    return expression


def search_sql(*, since: datetime | None, relevance: bool) -> tuple[str, dict[str, Any]]:
    """The hits subquery (inside the index) joined to articles; parameters besides :limit.

    ``:match`` gets the caller's expression through :func:`match_with_facets`.
    """
    where = ["articles_fts MATCH :match"]
    params: dict[str, Any] = {}
    if since:
        where.append("ts >= :since")
        params["since"] = _epoch(since)
    score = f"bm25(articles_fts, 0, 0, {TITLE_WEIGHT}, {TEXT_WEIGHT})" if relevance else "-rowid"
    sql = (
        f"SELECT a.* FROM (SELECT rowid AS hit, {score} AS score FROM articles_fts "
        f"WHERE {' AND '.join(where)} ORDER BY {'score' if relevance else 'rowid DESC'} LIMIT :limit) AS hits "
        "JOIN articles a ON a.id = hits.hit ORDER BY hits.score"
    )
    return sql, params
