"""The translation cache in front of a translator: each distinct text is translated once per model.

Used by the collection cycle (titles and leads), the clusterer (the English pivot), the CLI and the
bot. Blocking (model and SQLite): call it from a worker thread inside the event loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pressbot.store import Archive
from pressbot.translate.engine import Translator


@dataclass(frozen=True)
class Translated:
    texts: list[str]
    model: str
    cached: int  # how many distinct texts came from the cache
    translated: int  # how many went through the model
    fresh: frozenset[str] = frozenset()  # the source texts that went through the model


class TextTranslator(Protocol):
    """What :func:`translate_cached` needs: pressbot's :class:`Translator`, or a stand-in
    (benchmarks and tests answer from reference translations)."""

    def can_translate(self, source: str, target: str) -> bool: ...

    def model_id(self, source: str, target: str) -> str: ...

    def translate(self, texts: Sequence[str], *, source: str, target: str) -> list[str]: ...


def cache_labels(translator: TextTranslator, texts: Sequence[str], *, source: str, target: str) -> list[str]:
    """Each text's cache label (the engine adds the version of the glossary entries in the text)."""
    if isinstance(translator, Translator):
        return translator.model_ids(texts, source=source, target=target)
    return [translator.model_id(source, target)] * len(texts)


def translate_cached(
    translator: TextTranslator,
    archive: Archive,
    texts: Sequence[str],
    *,
    source: str,
    target: str,
    now: datetime,
) -> Translated:
    """Translate texts through the archive's cache: each distinct text is translated once per model
    (and per version of the glossary entries found in it).

    Blocking (model and SQLite): call it from a worker thread inside the event loop.
    """
    if source == target:
        return Translated(list(texts), "identity", 0, 0)
    model = translator.model_id(source, target)
    distinct = list(dict.fromkeys(texts))
    labels, cached = _lookup(translator, archive, distinct, source=source, target=target)
    todo = [text for text in distinct if text not in cached and text.strip()]
    fresh = dict(
        zip(todo, translator.translate(todo, source=source, target=target) if todo else [], strict=True)
    )
    for label in set(labels.values()):
        pairs = [(text, translation) for text, translation in fresh.items() if labels[text] == label]
        if pairs:
            archive.store_translations(pairs, source=source, target=target, model=label, now=now)
    known = cached | fresh
    return Translated(
        [known.get(text, text) for text in texts], model, len(cached), len(fresh), frozenset(fresh)
    )


def cached_only(
    translator: TextTranslator, archive: Archive, texts: Sequence[str], *, source: str, target: str
) -> dict[str, str]:
    """The translations of these texts already in the cache (for the current models); no model call."""
    if source == target:
        return {text: text for text in texts}
    return _lookup(translator, archive, list(dict.fromkeys(texts)), source=source, target=target)[1]


def _lookup(
    translator: TextTranslator, archive: Archive, distinct: list[str], *, source: str, target: str
) -> tuple[dict[str, str], dict[str, str]]:
    """(each text's cache label, the cached translations found)."""
    labels = dict(
        zip(distinct, cache_labels(translator, distinct, source=source, target=target), strict=True)
    )
    groups: dict[str, list[str]] = {}
    for text in distinct:
        groups.setdefault(labels[text], []).append(text)
    cached: dict[str, str] = {}
    for label, group in groups.items():
        cached |= archive.cached_translations(group, source=source, target=target, model=label)
    return labels, cached
