"""An article's lead: the short text shown (and translated) under its title.

Input → output: an :class:`Article` → its lead, a string of at most :data:`LEAD_CHARS`
characters. One definition for every stage that needs it (translation in the collection
cycle and the backlog, ``archive show``, digests), so the lead translated is the lead looked
up. Pure.
"""

from __future__ import annotations

import re

from pressbot.models import Article

LEAD_CHARS = 600
# A sentence ends at 。！？ (closing quotes/brackets included) or at .!?… followed by a space.
_SENTENCE_END = re.compile(r"[。！？]+[”’」』）)\]\"']*|[.!?…]+[”’»)\]\"']*(?=\s)")
_MIN_CUT = LEAD_CHARS // 4  # a "sentence" shorter than this is not a lead (e.g. "Roma." as a dateline)


def lead_text(article: Article) -> str:
    """The summary, or when there is none the start of the body, cut to at most
    :data:`LEAD_CHARS` characters at a sentence end (or, failing one, at a space)."""
    return cut_lead(article.summary.strip() or article.body.strip())


def cut_lead(text: str, limit: int = LEAD_CHARS) -> str:
    """``text`` itself when short enough, else its longest start of whole sentences within ``limit``."""
    text = text.strip()
    if len(text) <= limit:
        return text
    window = text[: limit + 1]  # +1: a terminator at position `limit` still ends a sentence inside
    ends = [m.end() for m in _SENTENCE_END.finditer(window) if m.end() <= limit]
    if ends and ends[-1] >= _MIN_CUT:
        return text[: ends[-1]].strip()
    space = window.rfind(" ", _MIN_CUT, limit - 1)
    if space > 0:
        return text[:space].rstrip() + " …"
    return text[: limit - 1].rstrip() + "…"
