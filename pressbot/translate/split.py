"""Offline paragraph and sentence splitting for zh, it and en: text → paragraphs → sentences.

Pure functions, no model and no download (argostranslate's MiniSBD splitter fetches an ONNX
model at translate time unless the package carries one). Paragraphs are lines, as in
argostranslate, so :func:`join_paragraphs` restores the line structure after translation.

Rules:

* ``。！？`` (and ``……``) always end a Chinese sentence, together with any closing quotes or
  brackets that follow them (``。”``).
* ``.``, ``!``, ``?`` and ``…`` end a Latin-script sentence when followed by whitespace and a
  character that can start a sentence (not a lowercase letter), unless the word before a ``.``
  is an abbreviation (``Dr.``, ``Sig.``, ``ecc.``), an initial (``J. K. Rowling``) or dotted
  (``U.S.``, ``S.p.A.``).
* ``；`` and ``;`` never end a sentence (a clause separator; splitting there changes meaning).
"""

from __future__ import annotations

import re
from collections.abc import Sequence


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Lowercased, without the final dot; Italian text also gets the English list (news mixes them).
_ABBREVIATIONS_EN = _words(
    "mr mrs ms dr prof st jr sr gen gov sen rep col lt sgt capt cmdr adm rev hon pres "
    "inc ltd co corp bros dept univ assn est vs etc al approx fig figs no nos vol vols ed eds "
    "p pp cf ca jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thurs fri "
    "sat sun mt ft ave blvd rd e.g i.e a.m p.m u.s u.k u.n e.u"
)
_ABBREVIATIONS_IT = _words(
    "sig sigg sig.ra sig.na dott dott.ssa prof.ssa ing avv arch geom rag on sen dr prof "
    "mons don fr sr gen col magg ten cap ecc es pag pagg cfr art artt n nn tel fax ca "
    "vol sez c.a s.p.a s.r.l s.n.c spa srl p.es gen feb mar apr mag giu lug ago set ott nov dic"
)
_ABBREVIATIONS = {"en": _ABBREVIATIONS_EN, "it": _ABBREVIATIONS_IT | _ABBREVIATIONS_EN}

_CJK_END = "。！？"
_LATIN_END = ".!?…"
_CLOSERS = "”’」』）》〉】)]}\"'»"
# A candidate boundary: a run of terminators, then closing quotes/brackets.
_BOUNDARY = re.compile(rf"(?:[{_CJK_END}]+|……|[{re.escape(_LATIN_END)}]+)[{re.escape(_CLOSERS)}]*")
_WORD_BEFORE = re.compile(r"([\w.\-]+)$")


def paragraphs(text: str) -> list[str]:
    """The lines of ``text`` (``\\r\\n`` and ``\\r`` count as line breaks); blank lines are kept."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def join_paragraphs(parts: Sequence[str]) -> str:
    """The inverse of :func:`paragraphs` (line breaks normalised to ``\\n``)."""
    return "\n".join(parts)


def split_sentences(text: str, language: str) -> list[str]:
    """The sentences of one paragraph, stripped, in order; ``[]`` for blank text.

    ``language`` ("zh", "it", "en", or any other code: English rules) only selects the
    abbreviation list; Chinese and Latin punctuation are recognised in every language, since
    Chinese news quotes English and machine translation leaves ``。`` in English output.
    """
    abbreviations = _ABBREVIATIONS.get(language, _ABBREVIATIONS_EN)
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        if not _ends_sentence(text, match, abbreviations):
            continue
        sentence = text[start:end].strip()
        if sentence:
            sentences.append(sentence)
        start = end
    rest = text[start:].strip()
    if rest:
        sentences.append(rest)
    return sentences


def _ends_sentence(text: str, match: re.Match[str], abbreviations: frozenset[str]) -> bool:
    terminators = match.group(0).rstrip(_CLOSERS)
    if terminators[0] in _CJK_END or terminators == "……":
        return True
    after = text[match.end() :]
    if after and not after[0].isspace():
        return False  # "3.5", "www.example.com", "Yahoo!Japan"
    following = after.lstrip()
    if not following:
        return True
    if following[0].islower():
        return False  # "approx. five", "e.g. this" — a sentence starts with a capital
    if terminators != ".":
        return True  # "!", "?", "...", "?!"
    word = _WORD_BEFORE.search(text, 0, match.start())
    if word is None:
        return True
    token = word.group(1).lower().lstrip(".-")
    if token in abbreviations:
        return False
    if len(token) == 1 and token.isalpha():
        return False  # an initial: "J. K. Rowling", "via G. Verdi"
    dotted = "." in token and token.replace(".", "").isalpha()
    return not (dotted and all(len(part) <= 2 for part in token.split(".")))  # "U.S", "S.p.A"
