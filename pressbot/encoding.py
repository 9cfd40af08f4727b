"""Bytes → text for feeds and pages in any encoding (a helper shared by parse and extract).

Order of evidence: a byte-order mark; the HTTP ``charset``; the document's own declaration
(``<?xml encoding=…?>``, ``<meta charset>``); then detection. Labels are widened to their
supersets (GB2312/GBK → GB18030, ISO-8859-1 → windows-1252, Big5 → cp950) because Chinese and
Western outlets routinely use characters outside the charset they declare. A label that cannot
decode the bytes is treated as a mislabel, and so is a Latin label on bytes that are valid
multi-byte UTF-8 (a frequent server misconfiguration) — valid UTF-8 is checked first.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "gb_2312-80": "gb18030",
    "euc-cn": "gb18030",
    "big5": "cp950",
    "iso-8859-1": "cp1252",
    "latin-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
}
# Detection chooses among the encodings zh/it/en outlets actually use; an open choice mistakes
# short Italian text for Arabic or Cyrillic code pages.
DETECTABLE = ["utf_8", "gb18030", "big5", "cp1252", "iso8859_15", "iso8859_2", "cp1250", "utf_16"]
BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
XML_DECL_RE = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""", re.I)
META_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)


def normalize_label(label: str | None) -> str | None:
    """A charset label → the Python codec to decode it with (superset applied), or None if unknown."""
    if not label:
        return None
    label = label.strip().strip("'\"").lower()
    label = SUPERSETS.get(label, label)
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return SUPERSETS.get(name, name)


def declared_encoding(content: bytes) -> str | None:
    """The encoding a document declares for itself in its first 2 KB, if any."""
    head = content[:2048]
    match = XML_DECL_RE.search(head) or META_RE.search(head)
    return match.group(1).decode("ascii") if match else None


def _try(content: bytes, codec: str | None) -> str | None:
    if not codec:
        return None
    try:
        return content.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _is_multibyte_utf8(content: bytes) -> bool:
    if content.isascii():
        return False
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _mostly_utf8(content: bytes) -> bool:
    """Valid UTF-8 but for a handful of damaged sequences (a truncated character, a stray byte)."""
    text = content.decode("utf-8", "replace")
    damaged = text.count("\ufffd")
    multibyte = sum(1 for ch in text if ord(ch) > 0x7F) - damaged
    return damaged <= 8 and multibyte >= 4 * damaged


def _detect(content: bytes) -> str | None:
    """charset-normalizer's choice; among equally plausible ones, the first in DETECTABLE (cp1252 before cp1250)."""
    matches = list(from_bytes(content, cp_isolation=DETECTABLE))
    if not matches:
        return None
    chaos = min(m.chaos for m in matches)
    coherence = max(m.coherence for m in matches if m.chaos <= chaos + 0.01)
    tied = [m.encoding for m in matches if m.chaos <= chaos + 0.01 and m.coherence >= coherence - 0.01]
    return min(tied, key=lambda name: DETECTABLE.index(name) if name in DETECTABLE else len(DETECTABLE))


def _decode_tolerant(content: bytes, codec: str | None) -> str | None:
    """Decode with a declared codec when it fits: at most one undecodable byte in a thousand."""
    if not codec:
        return None
    try:
        text = content.decode(codec, "replace")
    except LookupError:
        return None
    return text if text.count("\ufffd") <= len(content) // 1000 else None


def decode_document(content: bytes, *, http_charset: str | None = None) -> tuple[str, str]:
    """Decode a feed or page; returns ``(text, codec used)``. Never raises: the last resort replaces.

    Valid multi-byte UTF-8 wins over any label: pages re-served as UTF-8 keep their old
    ``<meta charset="gb2312">`` (four of the Chinese fixture pages do), servers label UTF-8 as
    ISO-8859-1, and GBK or Latin-1 text is practically never valid UTF-8 by accident.
    """
    for bom, bom_codec in BOMS:
        if content.startswith(bom):
            return content[len(bom) :].decode(bom_codec, "replace"), bom_codec
    if _is_multibyte_utf8(content):
        return content.decode("utf-8"), "utf-8"
    for label in (http_charset, declared_encoding(content)):
        codec = normalize_label(label)
        text = _decode_tolerant(content, codec)
        if text is None and codec == "cp1252":
            codec, text = "latin-1", _try(content, "latin-1")  # bytes cp1252 leaves undefined
        if text is not None:
            return text, str(codec)
    text = _try(content, "utf-8")
    if text is not None:
        return text, "utf-8"
    if _mostly_utf8(content):
        return content.decode("utf-8", "replace"), "utf-8"  # a few broken bytes in a UTF-8 document
    guessed = normalize_label(_detect(content[:65536]))
    text = _try(content, guessed)
    if text is not None:
        return text, str(guessed)
    fallback = "gb18030" if guessed == "gb18030" else "cp1252"
    return content.decode(fallback, "replace"), fallback
