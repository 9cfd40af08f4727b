"""The normalize stage: an :class:`Entry` (+ optional extracted body) → an :class:`Article`.

Canonical URLs (tracking parameters and fragments dropped, host lower-cased, default ports
removed), UTC dates (impossible future dates dropped), clean text (HTML and entities removed,
whitespace and Unicode normalized) and a language restricted to zh/it/en that trusts the
declared language. Pure: ``now`` is passed in.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from pressbot.models import LANGUAGES, Article, Entry, Extracted, Source

TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gclsrc", "msclkid", "yclid", "igshid", "mc_cid", "mc_eid", "_ga", "_gl",
        "ocid", "cmpid", "xtor", "ref_src", "ref_url", "smid", "smtyp", "wt_mc", "wt.mc_id", "spm", "scm",
        "share_token", "sharetype", "cmp", "at_medium", "at_campaign", "at_custom1", "at_custom2", "rss",
    }
)  # fmt: skip
TRACKING_PREFIXES = ("utm_", "ns_", "at_", "pk_", "mtm_", "hmsr", "hmpl", "hmcu", "hmkw", "hmci")
DEFAULT_PORTS = {"http": 80, "https": 443}
TAG_RE = re.compile(r"<[^>]*>")
BLOCK_RE = re.compile(r"<\s*(?:br|/p|/div|/li|/h[1-6]|/tr|/blockquote|p|li)\b[^>]*>", re.I)
DROP_RE = re.compile(r"<(script|style|noscript|template)\b.*?</\1\s*>|<!--.*?-->", re.I | re.S)
INVISIBLE_RE = re.compile(
    r"[\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\ufeff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
)
SPACES_RE = re.compile(r"[ \t\u00a0\u3000]+")
HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LATIN_RE = re.compile(r"[A-Za-z\u00c0-\u024f]")
SENTENCE_END_RE = re.compile(r"(?<=[.!?。！？])\s")
LINGUA = {Language.CHINESE: "zh", Language.ITALIAN: "it", Language.ENGLISH: "en"}
FUTURE_SLACK = timedelta(days=1)
TITLE_FROM_TEXT_CHARS = 120


# ----------------------------------------------------------------------------- URLs


def canonical_url(url: str, *, keep_fragment: bool = False) -> str:
    """The form of a URL used as an article's identity (two spellings of one page → one string).

    The fragment is dropped unless ``keep_fragment``: see :func:`normalize_entries`.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    with contextlib.suppress(UnicodeError):
        host = host.encode("idna").decode("ascii") if host and not host.isascii() else host
    netloc = host
    if parts.port and parts.port != DEFAULT_PORTS.get(scheme):
        netloc = f"{host}:{parts.port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [
        (k, v)
        for k, v in pairs
        if k.lower() not in TRACKING_PARAMS and not k.lower().startswith(TRACKING_PREFIXES)
    ]
    # Re-encode the query only when something was removed: the site's own spelling is the safest.
    query = parts.query if len(kept) == len(pairs) else urlencode(kept, doseq=True)
    return urlunsplit((scheme, netloc, parts.path or "/", query, parts.fragment if keep_fragment else ""))


# ----------------------------------------------------------------------------- text


def clean_text(raw: str) -> str:
    """HTML or plain text → readable plain text: tags and entities gone, paragraphs kept, spaces tidy."""
    if not raw:
        return ""
    text = raw
    if "<" in text:
        text = DROP_RE.sub(" ", text)
        text = BLOCK_RE.sub("\n", text)
        text = TAG_RE.sub("", text)
    text = html.unescape(text)
    text = unicodedata.normalize("NFC", INVISIBLE_RE.sub("", text))
    lines = (SPACES_RE.sub(" ", line).strip() for line in text.replace("\r", "\n").split("\n"))
    paragraphs: list[str] = []
    for line in lines:
        if line:
            paragraphs.append(line)
        elif paragraphs and paragraphs[-1] != "":
            paragraphs.append("")
    return "\n".join(paragraphs).strip().replace("\n\n\n", "\n\n")


def title_from_text(text: str) -> str:
    """A stand-in title for items without one: the first sentence, shortened."""
    first = SENTENCE_END_RE.split(text.strip(), maxsplit=1)[0].split("\n")[0] if text else ""
    return first if len(first) <= TITLE_FROM_TEXT_CHARS else first[: TITLE_FROM_TEXT_CHARS - 1].rstrip() + "…"


# ----------------------------------------------------------------------------- language


@cache
def _detector() -> LanguageDetector:
    return LanguageDetectorBuilder.from_languages(*LINGUA).build()


def _short_code(hint: str | None) -> str | None:
    if not hint:
        return None
    code = hint.strip().lower().replace("_", "-").split("-")[0]
    return code if code in LANGUAGES else None


def detect_language(text: str, *, declared: str | None = None, hints: tuple[str | None, ...] = ()) -> str:
    """zh, it or en for a title/lead.

    Script first (Han characters → zh, whatever was declared: a Chinese piece in an English feed
    is Chinese). Otherwise a declared language is trusted; lingua (restricted to zh/it/en) decides
    only when nothing was declared, and on short, ambiguous text a page or feed hint wins.
    """
    sample = text[:600]
    han = len(HAN_RE.findall(sample))
    latin = len(LATIN_RE.findall(sample))
    if han and han >= 0.3 * (han + latin / 4):  # ~4 Latin letters carry what one Han character does
        return "zh"
    if declared in LANGUAGES and declared != "zh":
        return declared
    hint = next((code for code in map(_short_code, hints) if code and code != "zh"), None)
    if latin == 0:
        return declared or hint or "en"
    confidences = _detector().compute_language_confidence_values(sample)
    best = confidences[0]
    if hint and (latin < 40 and best.value < 0.9):
        return hint
    return LINGUA.get(best.language, hint or "en")


# ----------------------------------------------------------------------------- articles


def content_hash(*parts: str) -> str:
    """A fingerprint of what the outlet published (title, lead, feed content): changes mean an update."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(" ".join(part.split()).encode("utf-8"))
        digest.update(b"\x1f")
    return digest.hexdigest()[:32]


def identity_url(entry: Entry, source: Source, *, title: str, text: str, keep_fragment: bool = False) -> str:
    """The canonical URL, or a stable ``urn:pressbot:`` for items without a link."""
    if entry.url:
        return canonical_url(entry.url, keep_fragment=keep_fragment)
    key = entry.guid or content_hash(title, text)
    return f"urn:pressbot:{source.id}:{hashlib.sha256(key.encode('utf-8')).hexdigest()[:24]}"


def normalize_entry(
    entry: Entry,
    source: Source,
    *,
    now: datetime,
    extracted: Extracted | None = None,
    keep_fragment: bool = False,
) -> Article:
    """One source item (and its extracted page, when full text was fetched) → an Article."""
    summary = clean_text(entry.summary)
    content = clean_text(entry.content)
    body = extracted.body.strip() if extracted and extracted.body.strip() else content
    if summary and body and summary == body:
        summary = title_from_text(body) if len(summary) > 400 else summary
    title = clean_text(entry.title).replace("\n", " ") or (extracted.title if extracted else "")
    title = title or title_from_text(summary or body)
    published = entry.published or (extracted.published if extracted else None)
    if published is not None and published > now + FUTURE_SLACK:
        published = None  # an outlet's clock or template is wrong; fetched_at stands in
    hints = (entry.language_hint, *(extracted.language_hints if extracted else ()))
    language = detect_language(f"{title}\n{summary or body[:400]}", declared=source.language, hints=hints)
    return Article(
        source_id=source.id,
        url=identity_url(entry, source, title=title, text=summary or body, keep_fragment=keep_fragment),
        original_url=entry.url,
        title=title,
        summary=summary,
        body=body,
        guid=entry.guid,
        language=language,
        published_at=published,
        fetched_at=now,
        authors=entry.authors,
        content_hash=content_hash(title, summary, content),
    )


def fragment_items(entries: Sequence[Entry]) -> set[str]:
    """Links whose #fragment tells items apart: one page, several entries with their own GUIDs.

    Blogs and live pages publish each post as ``page.html#post-12``; dropping the fragment there
    would fold 50 items into 7. Elsewhere a fragment is noise (``#comments``) and is dropped.
    """
    groups: dict[str, set[tuple[str, str]]] = {}
    for entry in entries:
        fragment = urlsplit(entry.url).fragment if entry.url else ""
        if fragment:
            groups.setdefault(canonical_url(entry.url), set()).add((fragment, entry.guid))
    return {entry.url for entry in entries if entry.url and len(groups.get(canonical_url(entry.url), ())) > 1}


def normalize_entries(
    entries: Sequence[Entry],
    source: Source,
    *,
    now: datetime,
    extracted: Mapping[str, Extracted] | None = None,
) -> list[Article]:
    """All items of one fetch → Articles (see :func:`normalize_entry` and :func:`fragment_items`)."""
    keep = fragment_items(entries)
    pages = extracted or {}
    return [
        normalize_entry(
            entry, source, now=now, extracted=pages.get(entry.url), keep_fragment=entry.url in keep
        )
        for entry in entries
    ]
