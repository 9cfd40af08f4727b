"""The batched translation runner: texts in one language → texts in another, offline.

Input → output: many texts, a source and a target language → their translations, in order.
Every text is cut into paragraphs (lines) and sentences (:mod:`pressbot.translate.split`), the
sentences of all texts are tokenized with the package's SentencePiece model and translated
together by CTranslate2 in length-sorted batches, then put back together. zh↔it goes through
English when no direct package exists (two passes: source→en for all texts, then en→target).

The decoding settings are argostranslate's (beam 4, ``length_penalty=0.2``,
``replace_unknowns=True``, output pieces of a paragraph decoded together), so on the same
package this produces argostranslate's ``translate()`` text up to whitespace. Blocking and
CPU-heavy: call it from a worker thread. One :class:`Translator` may serve several threads.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ctranslate2
import sentencepiece

from pressbot.errors import TranslateError
from pressbot.glossary import Glossary, Terms
from pressbot.translate.packages import ModelPackage, installed_packages
from pressbot.translate.split import join_paragraphs, paragraphs, split_sentences

PIVOT = "en"
LENGTH_PENALTY = 0.2  # argostranslate's value; changes which beam wins, so keep it identical


@dataclass(frozen=True)
class EngineOptions:
    device: str = "cpu"  # "cpu", "cuda" or "auto"
    compute_type: str = "default"  # CTranslate2 compute type ("default" = as the model was saved)
    beam_size: int = 4
    inter_threads: int = 0  # batches translated at once (each with intra_threads threads); 0 = auto
    intra_threads: int = 0  # threads per batch; 0 = auto (with inter_threads 0) or CTranslate2's default
    max_batch_sentences: int = 32
    max_decoding_ratio: float = 3.0  # output may be ≈ ratio × input pieces + 10 long, no more
    max_input_pieces: int = 250  # longer sentences are cut into chunks (models have ~256 positions)

    def __post_init__(self) -> None:
        for name in ("beam_size", "max_batch_sentences", "max_input_pieces"):
            if getattr(self, name) < 1:
                raise ValueError(f"EngineOptions.{name} must be ≥ 1, not {getattr(self, name)}")
        if self.inter_threads < 0 or self.intra_threads < 0 or self.max_decoding_ratio <= 0:
            raise ValueError(
                "EngineOptions.inter_threads and intra_threads must be ≥ 0 and max_decoding_ratio > 0"
            )

    def threads(self) -> tuple[int, int]:
        """(inter_threads, intra_threads) as given to CTranslate2, ``inter_threads=0`` resolved.

        On CPU, batches in parallel with one thread each beat one batch on all threads (beam
        search on small batches scales poorly across threads): auto = up to 4 batches at once,
        the available cores shared among them (2 cores → 2 × 1). With ``intra_threads`` set,
        auto runs as many batches as fit in the cores. On a GPU, auto = 1 batch at a time.
        """
        if self.inter_threads:
            return self.inter_threads, self.intra_threads
        if self.device == "cuda" or (self.device == "auto" and ctranslate2.get_cuda_device_count() > 0):
            return 1, self.intra_threads
        cores = _cores()
        if self.intra_threads:
            return max(1, min(MAX_AUTO_BATCHES, cores // self.intra_threads)), self.intra_threads
        inter = max(1, min(MAX_AUTO_BATCHES, cores))
        return inter, max(1, cores // inter)


MAX_AUTO_BATCHES = 4  # more parallel batches buy little and each needs its own buffers


def _cores() -> int:
    """CPUs this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass
class _Model:
    translator: Any  # ctranslate2.Translator (untyped library)
    tokenizer: Any  # sentencepiece.SentencePieceProcessor


class Translator:
    """Translates with the packages installed in ``models_dir`` (read once, at construction).

    Models are loaded on first use and kept; build a new Translator after installing or
    removing packages. ``glossary`` (from ``sources.yaml``) fixes how some names come out:
    its terms are swapped for placeholders before the first model and back after the last.
    """

    def __init__(
        self, models_dir: Path, options: EngineOptions | None = None, *, glossary: Glossary | None = None
    ):
        self.models_dir = models_dir
        self.options = options or EngineOptions()
        self.glossary = glossary or Glossary()
        self._packages = {(p.source, p.target): p for p in installed_packages(models_dir)}
        self._models: dict[tuple[str, str], _Model] = {}
        self._terms: dict[tuple[str, str], Terms] = {}
        self._lock = threading.Lock()
        self._threads = self.options.threads()

    def pairs(self) -> set[tuple[str, str]]:
        """The directions with an installed package."""
        return set(self._packages)

    def can_translate(self, source: str, target: str) -> bool:
        try:
            self.route(source, target)
        except TranslateError:
            return False
        return True

    def route(self, source: str, target: str) -> list[ModelPackage]:
        """The packages that take ``source`` to ``target``: one, or two through English."""
        if source == target:
            return []
        direct = self._packages.get((source, target))
        if direct is not None:
            return [direct]
        first, second = self._packages.get((source, PIVOT)), self._packages.get((PIVOT, target))
        if first is not None and second is not None:
            return [first, second]
        if PIVOT in (source, target):
            raise TranslateError(
                f"no {source}→{target} translation model is installed in {self.models_dir}: install one with "
                f"`pressbot models install PATH.argosmodel` or `pressbot models install --from-index {source} {target}`."
            )
        missing = " and ".join(
            f"{a}→{b}" for a, b in ((source, PIVOT), (PIVOT, target)) if (a, b) not in self._packages
        )
        raise TranslateError(
            f"no {source}→{target} translation model is installed in {self.models_dir}, nor a way through "
            f"English ({missing} missing): install {source}→{PIVOT} and {PIVOT}→{target} with "
            f"`pressbot models install PATH.argosmodel …` or "
            f"`pressbot models install --from-index {source} {target} {PIVOT}`."
        )

    def model_id(self, source: str, target: str) -> str:
        """A stable label of the model(s) used, e.g. ``argos:translate-zh_en-1.9+translate-en_it-1.0``."""
        route = self.route(source, target)
        return "argos:" + "+".join(p.package_id for p in route) if route else "identity"

    def model_ids(self, texts: Sequence[str], *, source: str, target: str) -> list[str]:
        """Each text's cache label: :meth:`model_id`, plus ``+glossary-<hash>`` of the glossary
        entries found in it (so editing an entry retranslates only the texts it concerns)."""
        base = self.model_id(source, target)
        terms = self.terms(source, target)
        if not terms or base == "identity":
            return [base] * len(texts)
        return [f"{base}+{label}" if (label := terms.label(text)) else base for text in texts]

    def terms(self, source: str, target: str) -> Terms:
        """The glossary rules of one direction (built once)."""
        with self._lock:
            terms = self._terms.get((source, target))
            if terms is None:
                terms = self._terms[(source, target)] = self.glossary.terms(source, target)
        return terms

    def translate(self, texts: Sequence[str], *, source: str, target: str) -> list[str]:
        """Translate ``texts`` from ``source`` to ``target``, all sentences batched together.

        Empty texts stay empty; equal texts get equal translations; paragraph (line) breaks are
        kept; glossary terms come out as the glossary says. Raises :class:`TranslateError` when
        no package (or pivot) covers the direction.
        """
        route = self.route(source, target)
        if not route:
            return list(texts)
        terms = self.terms(source, target)
        protected = [terms.protect(text) for text in texts] if terms else []
        results = [p.text for p in protected] if terms else list(texts)
        for package in route:
            results = self._translate_step(results, package)
        if terms:
            results = [terms.restore(r, p) for r, p in zip(results, protected, strict=True)]
        return results

    # ----------------------------------------------------------------------- one package

    def _model(self, package: ModelPackage) -> _Model:
        key = (package.source, package.target)
        with self._lock:
            model = self._models.get(key)
            if model is None:
                model = _Model(self._load_translator(package), self._load_tokenizer(package))
                self._models[key] = model
        return model

    def _load_translator(self, package: ModelPackage) -> Any:
        o = self.options
        inter, intra = self._threads
        try:
            return ctranslate2.Translator(
                str(package.path / "model"),
                device=o.device,
                compute_type=o.compute_type,
                inter_threads=inter,
                intra_threads=intra,
            )
        except (RuntimeError, ValueError, OSError) as error:
            raise TranslateError(
                f"the {package.source}→{package.target} model in {package.path} cannot be loaded on "
                f"{o.device!r} with compute type {o.compute_type!r} ({error}); check PRESSBOT_TRANSLATE_DEVICE, "
                "or reinstall the package with `pressbot models install PATH`."
            ) from error

    @staticmethod
    def _load_tokenizer(package: ModelPackage) -> Any:
        try:
            return sentencepiece.SentencePieceProcessor(model_file=str(package.path / "sentencepiece.model"))
        except (RuntimeError, OSError) as error:
            raise TranslateError(
                f"the SentencePiece model of {package.path} is unreadable ({error}); reinstall the package "
                "with `pressbot models install PATH`."
            ) from error

    def _translate_step(self, texts: list[str], package: ModelPackage) -> list[str]:
        model = self._model(package)
        # layout[t][p] = segment ids of paragraph p of text t; segments are distinct piece lists
        segment_ids: dict[tuple[str, ...], int] = {}
        layout: list[list[list[int]]] = []
        for text in texts:
            text_layout = []
            for paragraph in paragraphs(text):
                ids = []
                for sentence in split_sentences(paragraph, package.source):
                    for chunk in self._chunks(model.tokenizer.encode(sentence, out_type=str)):
                        ids.append(segment_ids.setdefault(tuple(chunk), len(segment_ids)))
                text_layout.append(ids)
            layout.append(text_layout)
        outputs = self._run(model, list(segment_ids), package.target_prefix)
        return [
            join_paragraphs(
                [self._detokenize(model, [outputs[i] for i in ids], package.target_prefix) for ids in paras]
            )
            for paras in layout
        ]

    def _chunks(self, pieces: list[str]) -> list[list[str]]:
        """``pieces`` cut into runs of at most ``max_input_pieces``, at word starts where possible."""
        limit = self.options.max_input_pieces
        chunks = []
        start = 0
        while len(pieces) - start > limit:
            end = start + limit
            for cut in range(end, start + limit // 2, -1):
                if pieces[cut].startswith("\u2581"):
                    end = cut
                    break
            chunks.append(pieces[start:end])
            start = end
        if start < len(pieces):
            chunks.append(pieces[start:])
        return chunks

    def _run(self, model: _Model, segments: list[tuple[str, ...]], prefix: str) -> list[list[str]]:
        """Translate distinct piece lists in length-sorted batches; each batch's decoding length is
        capped by its longest input (a runaway short sentence cannot decode for hundreds of steps).
        Batches hold at most ``max_batch_sentences``, and fewer when that gives every parallel
        worker (``inter_threads``) a batch."""
        o = self.options
        order = sorted(range(len(segments)), key=lambda i: len(segments[i]))
        workers = self._threads[0]
        size = max(1, min(o.max_batch_sentences, -(-len(order) // workers)))
        pending = []
        for start in range(0, len(order), size):
            batch = order[start : start + size]
            longest = max(len(segments[i]) for i in batch)
            pending.append(
                (
                    batch,
                    model.translator.translate_batch(
                        [list(segments[i]) for i in batch],
                        target_prefix=[[prefix] for _ in batch] if prefix else None,
                        max_batch_size=size,
                        beam_size=o.beam_size,
                        num_hypotheses=1,
                        length_penalty=LENGTH_PENALTY,
                        replace_unknowns=True,
                        return_scores=False,
                        max_decoding_length=int(o.max_decoding_ratio * longest) + 10,
                        asynchronous=True,  # batches run in parallel when inter_threads > 1
                    ),
                )
            )
        outputs: list[list[str]] = [[] for _ in segments]
        try:
            for batch, results in pending:
                for i, result in zip(batch, results, strict=True):
                    outputs[i] = list(result.result().hypotheses[0])
        except (RuntimeError, ValueError) as error:
            raise TranslateError(
                f"the translation model failed ({error}); if the package is damaged, reinstall it with "
                "`pressbot models install PATH`."
            ) from error
        return outputs

    @staticmethod
    def _detokenize(model: _Model, sentences: list[list[str]], prefix: str) -> str:
        """Decode a paragraph's sentences together, as argostranslate does (so target-language
        spacing between sentences comes from the pieces), then tidy the spaces."""
        pieces = [
            p
            for sentence in sentences
            for p in (sentence[1:] if prefix and sentence[:1] == [prefix] else sentence)
        ]
        text: str = model.tokenizer.decode_pieces(pieces).replace("\u2581", " ")
        return " ".join(text.split())
