"""The archive (``storage/pressbot.db``): schema and migrations, upserts, search, source state."""

from pressbot.store.archive import Archive, Outcome, SearchQuery
from pressbot.store.search import QuerySyntaxError, index_tokens, match_expression

__all__ = ["Archive", "Outcome", "QuerySyntaxError", "SearchQuery", "index_tokens", "match_expression"]
