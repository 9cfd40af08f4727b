"""Search tokens shared by every archive backend (pure functions, no SQL engine needed).

Chinese is written without spaces, so no word tokenizer in a database finds ``深圳`` inside
``深圳市``. pressbot indexes every run of CJK characters as overlapping character bigrams
(``深圳市`` → ``深圳 圳市``) and searches a CJK query as the phrase of its bigrams: a
2-character query is one token, a 4-character query three consecutive ones. That gives exact
substring matches with no dictionary and no segmentation errors (``bench/bench_search.py``
measures it against jieba segmentation). Latin text is left to the backend's word tokenizer
(SQLite FTS5 ``unicode61 remove_diacritics 2``; PostgreSQL ``simple`` + unaccent), so
``città`` finds ``citta`` and ``Città``. The same token string feeds PostgreSQL's
``to_tsvector('simple', …)`` unchanged.
"""

from __future__ import annotations

import re
import shlex

from pressbot.errors import PressbotError

CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
CJK_RUN_RE = re.compile(f"[{CJK}]+")
WORD_RE = re.compile(rf"[^\W{CJK}]+", re.UNICODE)


def _bigrams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def index_tokens(text: str) -> str:
    """Text → the token string stored in the full-text index."""
    if not text:
        return ""
    return CJK_RUN_RE.sub(lambda m: " " + " ".join(_bigrams(m.group(0))) + " ", text)


class QuerySyntaxError(PressbotError):
    """A search query that cannot be understood (e.g. an unbalanced quote)."""


def _quote(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def _term(word: str) -> str | None:
    """One user word → an FTS5 expression (a phrase for CJK, a quoted token or prefix otherwise)."""
    prefix = word.endswith("*")
    word = word.rstrip("*")
    parts: list[str] = []
    for piece in re.split(f"([{CJK}]+)", word):
        if not piece:
            continue
        if CJK_RUN_RE.fullmatch(piece):
            grams = _bigrams(piece)
            parts.append(f"{_quote(grams[0])} *" if len(piece) == 1 else _quote(" ".join(grams)))
        else:
            parts.extend(_quote(w.lower()) for w in WORD_RE.findall(piece))
    if not parts:
        return None
    if prefix and not parts[-1].endswith("*"):
        parts[-1] += " *"
    return (
        " + ".join(parts)
        if len(parts) > 1 and not any(CJK_RUN_RE.search(p) for p in parts)
        else " AND ".join(parts)
    )


def match_expression(query: str) -> str:
    """A user's query → an FTS5 MATCH expression.

    Words are ANDed; ``"quoted words"`` form a phrase; ``word*`` is a prefix; ``-word`` excludes.
    Raises QuerySyntaxError when nothing searchable is left.
    """
    try:
        words = shlex.split(query, posix=True)
    except ValueError:
        raise QuerySyntaxError(f"cannot read the query {query!r}: a quote is not closed.") from None
    include: list[str] = []
    exclude: list[str] = []
    for word in words:
        negative = word.startswith("-") and len(word) > 1
        if " " in word.strip():  # a quoted phrase
            tokens = index_tokens(word.lstrip("-")).split()
            expression = _quote(" ".join(t.lower() for t in tokens)) if tokens else None
        else:
            expression = _term(word.lstrip("-") if negative else word)
        if expression:
            (exclude if negative else include).append(f"({expression})")
    if not include:
        raise QuerySyntaxError(
            f"the query {query!r} has no word to search for — try a word such as 深圳, moda or fashion."
        )
    expression = " AND ".join(include)
    for excluded in exclude:
        expression += f" NOT {excluded}"
    return expression


def any_of(phrases: list[str]) -> str:
    """An FTS5 expression matching any of the phrases (a topic's keywords, in any language)."""
    parts = []
    for phrase in phrases:
        quoted = '"' + phrase.replace('"', " ") + '"' if " " in phrase.strip() else phrase
        try:
            parts.append(f"({match_expression(quoted)})")
        except QuerySyntaxError:
            continue  # a keyword with nothing searchable in it (punctuation only)
    if not parts:
        raise QuerySyntaxError(
            "the topic has no searchable keyword — add words to its keywords in sources.yaml."
        )
    return " OR ".join(parts)
