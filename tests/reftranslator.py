"""A reference translator: answers from the NTREX-128 human references instead of a model.

Real translation models cannot be installed on this offline machine, so the story layer's English
pivot is exercised with the references: NTREX gives every English news sentence with its Chinese
and Italian translation. ``translate`` splits a text into known sentences (longest match first)
and joins their references; a text with an unknown sentence is an error, never a guess.
It satisfies ``pressbot.translate.cached.TextTranslator``, what the clusterer's pivot needs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

FILES = {
    "en": "newstest2019-src.eng.txt",
    "zh": "newstest2019-ref.zho-CN.txt",
    "it": "newstest2019-ref.ita.txt",
}
KEY_CHARS = 6


class ReferenceTranslator:
    def __init__(self, folder: Path):
        lines = {
            language: (folder / name).read_text(encoding="utf-8").split("\n")[:-1]
            for language, name in FILES.items()
        }
        assert len({len(v) for v in lines.values()}) == 1, "NTREX files are not line-aligned"
        self._lines = {language: [line.strip() for line in rows] for language, rows in lines.items()}
        self._index: dict[str, dict[str, list[int]]] = {}
        for language, rows in self._lines.items():
            index: dict[str, list[int]] = defaultdict(list)
            for number, row in enumerate(rows):
                index[row[:KEY_CHARS]].append(number)
            self._index[language] = dict(index)
        self.calls = 0

    def can_translate(self, source: str, target: str) -> bool:
        return source in self._lines and target in self._lines

    def model_id(self, source: str, target: str) -> str:
        return "reference:ntrex128"

    def translate(self, texts: Sequence[str], *, source: str, target: str) -> list[str]:
        self.calls += 1
        return [self._one(text, source, target) for text in texts]

    def _one(self, text: str, source: str, target: str) -> str:
        rows, index, out = self._lines[source], self._index[source], []
        position = 0
        while position < len(text):
            if text[position].isspace():
                position += 1
                continue
            numbers = index.get(text[position : position + KEY_CHARS], [])
            fitting = [n for n in numbers if rows[n] and text.startswith(rows[n], position)]
            if not fitting:
                raise KeyError(f"no reference sentence at {text[position : position + 40]!r}")
            number = max(fitting, key=lambda n: len(rows[n]))
            out.append(self._lines[target][number])
            position += len(rows[number])
        return " ".join(out)
