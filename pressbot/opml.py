"""OPML 2.0 in and out of ``sources.yaml``: the subscription list every feed reader speaks.

Input → output: OPML bytes → :class:`Outline` feeds → an :class:`ImportPlan` (what would be
added, skipped as already present, or refused as invalid) → the new ``sources.yaml`` text, made
by appending the added entries *as text* to the ``sources:`` list, so the file's comments, order
and layout stay as they were. The new text is validated by pressbot's own strict loader before
anything is written, and written atomically. Export: the enabled feed sources → OPML 2.0.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from lxml import etree

from pressbot.config import ID_RE, Config, parse_config
from pressbot.errors import ConfigError
from pressbot.models import LANGUAGES, Source

# pressbot's own attributes on an outline, so an export imports back with the same ids.
PRESSBOT_NS = "https://github.com/pressbot/pressbot/opml"
MAX_ID = 64
DTD_SUBSET_RE = re.compile(rb"<!DOCTYPE[^>\[]*\[", re.I)


@dataclass(frozen=True)
class Outline:
    """One feed outline of an OPML file (an ``<outline>`` with an ``xmlUrl``)."""

    url: str
    title: str = ""
    language: str | None = None  # as written: "zh-CN", "it", …
    id: str | None = None  # pressbot:id, when the file came from `pressbot sources export`
    interval: str | None = None  # pressbot:interval


@dataclass
class ImportPlan:
    added: list[dict[str, Any]] = field(default_factory=list)  # new sources.yaml entries
    skipped: list[tuple[Outline, str]] = field(default_factory=list)  # (outline, why)
    invalid: list[tuple[Outline, str]] = field(default_factory=list)  # (outline, what is wrong)


def parse_opml(data: bytes, *, name: str = "OPML") -> list[Outline]:
    """The feed outlines of an OPML document, in document order (folders are walked)."""
    # No DTDs, no entities, no network: an OPML file from elsewhere is untrusted input.
    if DTD_SUBSET_RE.search(data[:4096]):
        raise ConfigError(
            f"{name}: declares entities in a DTD (<!DOCTYPE … [ … ]>), which pressbot refuses to expand — "
            "OPML needs none; remove the DOCTYPE."
        )
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise ConfigError(f"{name}: not well-formed XML ({error}) — is it an OPML file?") from None
    if root is None or etree.QName(root).localname != "opml":
        raise ConfigError(f"{name}: the top element is not <opml> — is it an OPML file?")
    body = root.find("body")
    if body is None:
        raise ConfigError(f"{name}: OPML without a <body> — there are no outlines to import.")
    outlines = []
    for element in body.iter("outline"):
        url = (element.get("xmlUrl") or element.get("xmlurl") or "").strip()
        if not url:
            continue  # a folder, or a link that is not a feed
        outlines.append(
            Outline(
                url=url,
                title=(element.get("title") or element.get("text") or "").strip(),
                language=(element.get("language") or "").strip() or None,
                id=element.get(f"{{{PRESSBOT_NS}}}id"),
                interval=element.get(f"{{{PRESSBOT_NS}}}interval"),
            )
        )
    return outlines


def _language(outline: Outline, default: str | None) -> str | None:
    """zh/it/en from an outline's language tag (zh-CN → zh), else the default; ValueError otherwise."""
    if not outline.language:
        return default
    primary = outline.language.replace("_", "-").split("-")[0].lower()
    if primary not in LANGUAGES:
        raise ValueError(
            f"language '{outline.language}' is not one of {', '.join(LANGUAGES)} — pressbot follows zh, it and en"
        )
    return primary


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:MAX_ID].strip("-")


def derive_id(outline: Outline) -> str:
    """A source id from the outline: pressbot's own id, else its title, else its host."""
    if outline.id and ID_RE.fullmatch(outline.id):
        return outline.id
    slug = _slug(outline.title)
    if len(slug) < 3:  # a Chinese or empty title: name it after the host
        slug = _slug((urlsplit(outline.url).hostname or "").removeprefix("www.")) or "feed"
    return slug


def _unique_id(base: str, taken: set[str]) -> str:
    candidate, number = base, 2
    while candidate in taken:
        suffix = f"-{number}"
        candidate = base[: MAX_ID - len(suffix)].rstrip("-") + suffix
        number += 1
    return candidate


def _url_key(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{(parts.netloc or '').lower()}{parts.path.rstrip('/')}?{parts.query}"


def plan_import(config: Config, outlines: list[Outline], *, language: str | None = None) -> ImportPlan:
    """Decide, for each outline, whether it is added, skipped (already there) or invalid."""
    plan = ImportPlan()
    urls = {_url_key(source.url): source.id for source in config.sources}
    taken = {source.id for source in config.sources}
    for outline in outlines:
        key = _url_key(outline.url)
        if key in urls:
            plan.skipped.append((outline, f"already in sources.yaml as '{urls[key]}'"))
            continue
        try:
            entry = _entry(outline, language, taken)
            # The strict loader judges each entry alone first, so one bad outline is reported, not fatal.
            parse_config(yaml.safe_dump({"sources": [entry]}, allow_unicode=True), path=Path("OPML"))
        except (ValueError, ConfigError) as error:
            message = str(error).split(": ", 2)[-1] if isinstance(error, ConfigError) else str(error)
            plan.invalid.append((outline, message))
            continue
        urls[key] = entry["id"]
        taken.add(entry["id"])
        plan.added.append(entry)
    return plan


def _entry(outline: Outline, default_language: str | None, taken: set[str]) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": _unique_id(derive_id(outline), taken)}
    if outline.title:
        entry["name"] = outline.title
    entry |= {"kind": "feed", "url": outline.url}
    language = _language(outline, default_language)
    if language:
        entry["language"] = language
    if outline.interval:
        entry["interval"] = outline.interval
    return entry


# --------------------------------------------------------------------------- writing sources.yaml

TOP_KEY_RE = re.compile(r"^[A-Za-z_][\w-]*\s*:")


def _entry_text(entry: dict[str, Any], indent: str) -> str:
    dumped = yaml.safe_dump([entry], allow_unicode=True, sort_keys=False, width=1000)
    return "".join(indent + line if line.strip() else line for line in dumped.splitlines(keepends=True))


def append_sources(text: str, entries: list[dict[str, Any]]) -> str:
    """``text`` with ``entries`` appended to its ``sources:`` list, everything else untouched."""
    if not entries:
        return text
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    start = next((i for i, line in enumerate(lines) if re.match(r"^sources\s*:", line)), None)
    if start is None:  # no sources yet: a new section at the end
        blocks = "\n".join(_entry_text(e, "  ") for e in entries)
        return "".join(lines) + ("\n" if lines and lines[-1].strip() else "") + "sources:\n" + blocks
    rest = lines[start].split(":", 1)[1].split("#", 1)[0].strip()
    if rest in ("[]", "null", "~"):
        lines[start] = "sources:\n"
    elif rest:
        raise ConfigError(
            "sources.yaml writes 'sources:' in flow style ([...]) — put each source on its own lines "
            "('- id: …') so entries can be appended without rewriting the file."
        )
    end = next((i for i in range(start + 1, len(lines)) if TOP_KEY_RE.match(lines[i])), len(lines))
    # Comments and blank lines just before the next section belong to it: insert above them.
    insert = end
    while insert > start + 1 and (
        not lines[insert - 1].strip() or lines[insert - 1].lstrip().startswith("#")
    ):
        insert -= 1
    items = [line for line in lines[start + 1 : insert] if re.match(r"^\s*- ", line)]
    indent = re.match(r"^(\s*)", items[0]).group(1) if items else "  "  # type: ignore[union-attr]
    block = "".join(("\n" if items else "") + _entry_text(e, indent) for e in entries)
    tail = lines[insert:]
    if tail and tail[0].strip():
        block += "\n"
    return "".join(lines[:insert]) + block + "".join(tail)


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step: readers see the old file or the new one."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o777)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def import_text(config: Config, text: str, plan: ImportPlan) -> str:
    """The new sources.yaml text for ``plan``, checked by the strict loader (ConfigError otherwise)."""
    new_text = append_sources(text, plan.added)
    checked = parse_config(new_text, path=config.path)
    expected = [s.id for s in config.sources] + [e["id"] for e in plan.added]
    if [s.id for s in checked.sources] != expected:  # the text edit must mean exactly this
        raise ConfigError(
            f"{config.path}: appending the new sources did not give the expected list — the file's "
            "layout is unusual; add them by hand. Nothing was changed."
        )
    return new_text


# --------------------------------------------------------------------------- export


def export_opml(sources: list[Source], *, title: str, now: datetime) -> bytes:
    """OPML 2.0 of these feed sources (with pressbot's id and interval as extra attributes)."""
    root = etree.Element("opml", version="2.0", nsmap={"pressbot": PRESSBOT_NS})
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    etree.SubElement(head, "dateCreated").text = format_datetime(now)
    body = etree.SubElement(root, "body")
    for source in sources:
        outline = etree.SubElement(
            body, "outline", type="rss", text=source.name, title=source.name, xmlUrl=source.url
        )
        if source.language:
            outline.set("language", source.language)
        outline.set(f"{{{PRESSBOT_NS}}}id", source.id)
        outline.set(f"{{{PRESSBOT_NS}}}interval", _interval(source.interval_s))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _interval(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
