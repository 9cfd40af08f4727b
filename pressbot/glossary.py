"""The translation glossary of ``sources.yaml``: names machine translation must not touch.

Input → output: the ``glossary:`` list of ``sources.yaml`` → a :class:`Glossary` (validated,
every mistake a :class:`ConfigError` naming file, entry and key); then, for one direction, a
:class:`Terms` that swaps the glossary's source-language terms for placeholders before
translation and puts the target-language rendering back afterwards. Pure: no model, no I/O.

An entry maps languages to a term (``{en: Bi-City Fashion Week, zh: 双城时装周, it: Settimana
della moda Bi-City}``; a list gives variants, the first is the rendering), or lists names that
stay as written in every language (``{keep: [HUI, Leju]}``). A term written in lower case
matches in any case; one with capitals matches only as written (``Honor`` the brand, not
``honor`` the word). Latin-script terms match whole words only; Chinese ones anywhere.

The placeholder is a short code such as ``ZQX3``: Latin capitals and digits, no punctuation,
so the sentence splitter leaves it alone and translation models copy it the way they copy a
product code (the tiny test packages copy it exactly, also through the zh→en→it pivot). Models
may space it out (``ZQX 3``) or change its case, so restoring accepts both.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pressbot.errors import ConfigError
from pressbot.models import LANGUAGES

ENTRY_KEYS = (*LANGUAGES, "keep")
_MARKERS = ("ZQX", "QZX", "XZQ")  # placeholder prefixes; the first absent from a text is used
_LATIN = r"A-Za-z0-9\u00c0-\u024f"  # a term with a Latin edge matches only as a whole word
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_SPACES = re.compile(r"[ \t\u00a0]+")


@dataclass(frozen=True)
class GlossaryEntry:
    terms: dict[str, tuple[str, ...]] = field(default_factory=dict)  # language → forms; first renders
    keep: tuple[str, ...] = ()  # names written the same in every language


@dataclass(frozen=True)
class Glossary:
    entries: tuple[GlossaryEntry, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.entries)

    def terms(self, source: str, target: str) -> Terms:
        """The rules that apply when translating ``source`` → ``target``."""
        return Terms(self, source, target)


def _key(form: str) -> str:
    return _SPACES.sub(" ", form.strip()).casefold()


@dataclass(frozen=True)
class _Rule:
    rendering: str | None  # None: keep the text as it was written
    fingerprint: str  # what the entry says for this direction (names the cache line)


class Terms:
    """One direction's glossary: :meth:`protect` before translating, :meth:`restore` after."""

    def __init__(self, glossary: Glossary, source: str, target: str):
        self.source, self.target = source, target
        rules: dict[str, _Rule] = {}
        spelled: dict[str, str] = {}  # key → the form as written (its case decides how it matches)
        for entry in glossary.entries:
            forms: tuple[str, ...] = entry.keep
            rendering: str | None = None
            if not entry.keep:
                if source not in entry.terms or target not in entry.terms:
                    continue  # the entry says nothing about this direction: the model translates
                forms, rendering = entry.terms[source], entry.terms[target][0]
            fingerprint = repr((sorted(_key(f) for f in forms), rendering))
            for form in forms:
                rules.setdefault(_key(form), _Rule(rendering, fingerprint))
                spelled.setdefault(_key(form), form)
        self._rules = rules
        patterns = [_pattern(spelled[key]) for key in sorted(rules, key=len, reverse=True)]
        self._regex = re.compile("|".join(patterns)) if patterns else None

    def __bool__(self) -> bool:
        return self._regex is not None

    def _matches(self, text: str) -> list[re.Match[str]]:
        return list(self._regex.finditer(text)) if self._regex is not None and text else []

    def label(self, text: str) -> str:
        """``""``, or ``glossary-<hash>`` of the entries that change ``text``'s translation.

        Part of the cache key, so editing an entry retranslates only the texts it appears in.
        """
        found = sorted({self._rules[_key(m.group(0))].fingerprint for m in self._matches(text)})
        if not found:
            return ""
        return "glossary-" + hashlib.sha256("\n".join(found).encode("utf-8")).hexdigest()[:10]

    def protect(self, text: str) -> Protected:
        """``text`` with each glossary term replaced by a placeholder, and what each one becomes."""
        matches = self._matches(text)
        if not matches:
            return Protected(text)
        marker = next((m for m in _MARKERS if m.lower() not in text.lower()), _MARKERS[0])
        replacements: list[str] = []
        parts: list[str] = []
        end = 0
        for match in matches:
            rule = self._rules[_key(match.group(0))]
            rendering = match.group(0) if rule.rendering is None else rule.rendering
            if rendering not in replacements:
                replacements.append(rendering)
            # a digit right after the code would read as part of its number ("龙华2025")
            gap = " " if text[match.end() : match.end() + 1].isdigit() else ""
            parts += [text[end : match.start()], f"{marker}{replacements.index(rendering)}{gap}"]
            end = match.end()
        parts.append(text[end:])
        return Protected("".join(parts), marker, tuple(replacements))

    def restore(self, translated: str, protected: Protected) -> str:
        """Put the renderings back in place of ``protected``'s placeholders in its translation."""
        if not protected.replacements:
            return translated
        spaced = r"[ \t]?".join(protected.marker)
        pattern = re.compile(rf"[ \t]*{spaced}[ \t]?(\d+)[ \t]*", re.IGNORECASE)
        pieces: list[str] = []
        end = 0
        for match in pattern.finditer(translated):
            index = int(match.group(1))
            if index >= len(protected.replacements):
                continue
            rendering = protected.replacements[index]
            pieces.append(translated[end : match.start()])
            before = "".join(pieces)[-1:]
            after = translated[match.end() : match.end() + 1]
            left, right = _edges(match.group(0))
            pieces += [
                _space(before, rendering[:1], left, self.target),
                rendering,
                _space(after, rendering[-1:], right, self.target),
            ]
            end = match.end()
        pieces.append(translated[end:])
        return "".join(pieces)


@dataclass(frozen=True)
class Protected:
    """A text ready for the model: its glossary terms are placeholders ``<marker><n>``."""

    text: str
    marker: str = ""
    replacements: tuple[str, ...] = ()  # what placeholder n becomes


def _pattern(form: str) -> str:
    """A regular expression for ``form``: whole words when its edges are Latin; any case when it is
    written in lower case, else exactly as written (``Honor`` is a brand, ``honor`` is a word)."""
    body = r"[ \t\u00a0]+".join(re.escape(word) for word in form.split(" "))
    if form == form.lower():
        body = f"(?i:{body})"
    if re.match(f"[{_LATIN}]", form):
        body = f"(?<![{_LATIN}])" + body
    if re.search(f"[{_LATIN}]$", form):
        body += f"(?![{_LATIN}])"
    return body


def _edges(matched: str) -> tuple[str, str]:
    return matched[: len(matched) - len(matched.lstrip())], matched[len(matched.rstrip()) :]


def _space(neighbour: str, edge: str, original: str, target: str) -> str:
    """The spacing between a rendering's ``edge`` character and its ``neighbour`` in the output.

    The model may glue a placeholder to a word (zh→en: ``helloZQX0``) or space it inside
    Chinese (``你好 ZQX0世界``); the rendering gets the spacing its language wants.
    """
    if not neighbour or neighbour.isspace():
        return original
    latin_edge = re.match(f"[{_LATIN}]", edge) is not None
    latin_neighbour = re.match(f"[{_LATIN}]", neighbour) is not None
    if target == "zh" and (_HAN.match(edge) or _HAN.match(neighbour)) and not (latin_edge or latin_neighbour):
        return ""
    if latin_edge and latin_neighbour:
        return original or " "
    return original


# --------------------------------------------------------------------------- sources.yaml


def _did_you_mean(word: str) -> str:
    close = difflib.get_close_matches(word, ENTRY_KEYS, n=1, cutoff=0.6)
    return f" — did you mean '{close[0]}'?" if close else f" — allowed keys: {', '.join(ENTRY_KEYS)}"


def _forms(prefix: str, key: str, value: Any) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str | int | float) and str(v).strip() for v in values):
        raise ConfigError(f"{prefix}: key '{key}' must be a term or a list of terms (non-empty text)")
    return tuple(_SPACES.sub(" ", str(v).strip()) for v in values)


def _parse_entry(prefix: str, raw: Any) -> GlossaryEntry:
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(
            f"{prefix}: each glossary entry must map languages to a term, e.g. "
            "{en: Bi-City Fashion Week, zh: 双城时装周, it: Settimana della moda Bi-City}, "
            "or list names to keep as written: {keep: [HUI, Leju]}"
        )
    for key in raw:
        if key not in ENTRY_KEYS:
            raise ConfigError(f"{prefix}: unknown key '{key}'{_did_you_mean(str(key))}")
    if "keep" in raw:
        if len(raw) > 1:
            others = ", ".join(str(k) for k in raw if k != "keep")
            raise ConfigError(
                f"{prefix}: key 'keep' stands alone (names kept as written in every language); "
                f"move {others} to an entry of their own"
            )
        return GlossaryEntry(keep=_forms(prefix, "keep", raw["keep"]))
    if len(raw) < 2:
        [language] = raw
        raise ConfigError(
            f"{prefix}: key '{language}' alone says nothing — add how the term is written in another "
            "language (zh, it, en), or use {keep: …} for a name that is never translated"
        )
    return GlossaryEntry(terms={language: _forms(prefix, language, raw[language]) for language in raw})


def parse_glossary(raw: Any, *, path: Path) -> Glossary:
    """Validate the ``glossary:`` section; the first problem raises ConfigError naming file, entry and key."""
    if raw is None:
        return Glossary()
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: 'glossary' must be a list (each entry starts with '- ')")
    entries: list[GlossaryEntry] = []
    seen: dict[tuple[str, str], int] = {}  # (language, term) → entry number
    for index, item in enumerate(raw):
        ident = _ident(item)
        prefix = f"{path}, glossary entry {index + 1}" + (f" ({ident})" if ident else "")
        entry = _parse_entry(prefix, item)
        owned = [(lang, form) for lang, forms in entry.terms.items() for form in forms]
        owned += [(lang, form) for form in entry.keep for lang in LANGUAGES]
        for language, form in owned:
            other = seen.setdefault((language, _key(form)), index + 1)
            if other != index + 1:
                key = "keep" if entry.keep else language
                raise ConfigError(
                    f"{prefix}: key '{key}': '{form}' is already in glossary entry {other} — "
                    "a term may have only one rendering"
                )
        entries.append(entry)
    return Glossary(tuple(entries))


def _ident(item: Any) -> str:
    if not isinstance(item, dict):
        return ""
    first = item.get("en", item.get("keep", next(iter(item.values()), "")))
    if isinstance(first, list):
        first = first[0] if first else ""
    return str(first)[:40] if isinstance(first, str | int | float) else ""
