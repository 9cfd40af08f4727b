"""Translation benchmark: argostranslate one text at a time vs pressbot's batched Translator.

Packages: ``fixtures/argos-base`` — glossary/copy models with the compute cost of a real Argos
Transformer-base (6+6 layers, d_model 512, FFN 2048, 32k vocabulary, int8). Their SentencePiece
model is character-level over Latin letters and punctuation only, so an English sentence has ~4×
the pieces a real model would give it, and Chinese text (outside that vocabulary) has *fewer*: a
run of unknown characters is one piece. For a realistic per-sentence cost each English input is
cut to the piece count a real model spends on the whole sentence (1.3 pieces per word → that many
characters, at a word boundary); Chinese sentences are used whole (~17 pieces each here, ~25–30
with a real model, so zh costs are on the low side). Texts: NTREX-128 news sentences (en source,
zh-CN reference), distinct, N per direction.

* en→it (one model) and zh→it (zh→en→it, two models: argostranslate's pivot vs pressbot's
  explicit two batched passes).
* argostranslate 1.12 (``argos-translate-lt``): ``translate.translate()`` per text, default
  settings (beam 4, CTranslate2's default threads), in a subprocess with an isolated
  ``ARGOS_PACKAGES_DIR`` (it reads its settings at import time). pressbot: one
  ``Translator.translate(all texts)`` call, same beam size, default ``EngineOptions``
  (``--threads`` adds ``inter_threads=2, intra_threads=1``). Both warmed up first (model
  load, allocator growth).
* Outputs compared text by text: identical; identical once runs of whitespace are collapsed
  (argostranslate joins some sentences with two spaces and turns ``_`` into a space); identical
  once all whitespace is removed (argostranslate's splitter cuts ``。”`` before the quote, and the
  quote's sentence then starts with a space: ``。 ”``).

Run: ``.venv/bin/python bench/bench_translate.py [--quick]`` → table + ``bench/results/translate.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

from _common import fixtures_root, table, write_result

from pressbot.translate.engine import EngineOptions, Translator
from pressbot.translate.packages import install_package

BEAM = 4
WARM = 16
NTREX = "mt/ntrex128_news_en_zh_it"
SETS = (  # name, source, target, file, cut
    ("en→it", "en", "it", "newstest2019-src.eng.txt", "words"),
    ("zh→it (pivot)", "zh", "it", "newstest2019-ref.zho-CN.txt", "none"),
)
DEFAULT = {"pressbot default": EngineOptions(beam_size=BEAM)}
THREADS = {"pressbot inter 2 × intra 1": EngineOptions(beam_size=BEAM, inter_threads=2, intra_threads=1)}


def realistic(text: str, cut: str) -> str:
    """``text`` cut to the piece count a real (subword) Argos model would spend on all of it."""
    limit = round(1.3 * len(text.split()))
    if cut == "none" or len(text) <= limit:
        return text
    head = text[:limit]
    return head.rsplit(" ", 1)[0] if " " in head else head


def load_texts(n: int) -> dict[str, dict[str, Any]]:
    """Per set: n timed texts and WARM warm-up texts, all distinct."""
    sets = {}
    for name, source, target, file, cut in SETS:
        lines = (fixtures_root() / NTREX / file).read_text(encoding="utf-8").splitlines()
        texts = list(dict.fromkeys(t for t in (realistic(line.strip(), cut) for line in lines) if t))
        if len(texts) < n + WARM:
            raise SystemExit(f"{file}: only {len(texts)} distinct texts, need {n + WARM}")
        sets[name] = {
            "source": source,
            "target": target,
            "texts": texts[WARM : WARM + n],
            "warm": texts[:WARM],
        }
    return sets


# --------------------------------------------------------------------------- argostranslate (subprocess)


def argos_worker() -> None:
    """Runs in a fresh interpreter: isolated argostranslate settings, no network, then timings."""
    request = json.load(sys.stdin)
    home = tempfile.mkdtemp(prefix="argos-bench-")
    for key in [k for k in os.environ if k.startswith("ARGOS_")]:
        del os.environ[key]
    closed = "http://127.0.0.1:9"  # any download attempt fails at once
    os.environ.update(
        {
            "HOME": home,
            "XDG_DATA_HOME": f"{home}/data",
            "XDG_CONFIG_HOME": f"{home}/config",
            "XDG_CACHE_HOME": f"{home}/cache",
            "ARGOS_PACKAGES_DIR": f"{home}/packages",
            "ARGOS_DEVICE_TYPE": "cpu",
            "ARGOS_BEAM_SIZE": str(request["beam"]),
            "HTTP_PROXY": closed,
            "HTTPS_PROXY": closed,
            "http_proxy": closed,
            "https_proxy": closed,
        }
    )
    import argostranslate.package
    import argostranslate.translate

    for archive in request["archives"]:
        argostranslate.package.install_from_path(archive)
    results = {}
    for name, spec in request["sets"].items():
        source, target = spec["source"], spec["target"]
        started = time.perf_counter()
        argostranslate.translate.translate(spec["warm"][0], source, target)
        first = time.perf_counter() - started
        for text in spec["warm"][1:]:
            argostranslate.translate.translate(text, source, target)
        started = time.perf_counter()
        outputs = [argostranslate.translate.translate(text, source, target) for text in spec["texts"]]
        results[name] = {"seconds": time.perf_counter() - started, "first_call_s": first, "outputs": outputs}
    json.dump(results, sys.stdout, ensure_ascii=False)
    shutil.rmtree(home, ignore_errors=True)


def run_argos(archives: list[Path], sets: dict[str, dict[str, Any]]) -> dict[str, Any]:
    request = {"archives": [str(a) for a in archives], "sets": sets, "beam": BEAM}
    done = subprocess.run(
        [sys.executable, __file__, "--argos-worker"],
        input=json.dumps(request, ensure_ascii=False),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"argostranslate worker failed:\n{done.stderr[-4000:]}")
    return dict(json.loads(done.stdout))


# --------------------------------------------------------------------------- pressbot


def run_pressbot(models: Path, sets: dict[str, dict[str, Any]], options: EngineOptions) -> dict[str, Any]:
    translator = Translator(models, options)
    results = {}
    for name, spec in sets.items():
        source, target = spec["source"], spec["target"]
        started = time.perf_counter()
        translator.translate(spec["warm"][:1], source=source, target=target)
        first = time.perf_counter() - started
        translator.translate(spec["warm"], source=source, target=target)
        started = time.perf_counter()
        outputs = translator.translate(spec["texts"], source=source, target=target)
        results[name] = {"seconds": time.perf_counter() - started, "first_call_s": first, "outputs": outputs}
    return results


def _spacing(text: str) -> str:
    return " ".join(text.replace("_", " ").split())


def _unspaced(text: str) -> str:
    return "".join(text.replace("_", " ").split())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="40 texts per direction instead of 200 (~45 s)")
    parser.add_argument("-n", type=int, default=None, help="texts per direction")
    parser.add_argument("--threads", action="store_true", help="also time inter_threads=2, intra_threads=1")
    parser.add_argument("--argos-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.argos_worker:
        argos_worker()
        return
    n = args.n or (40 if args.quick else 200)
    configs = DEFAULT | (THREADS if args.threads else {})
    archives = sorted((fixtures_root() / "argos-base").glob("*.argosmodel"))
    sets = load_texts(n)
    with tempfile.TemporaryDirectory(prefix="pressbot-bench-") as tmp:
        models = Path(tmp) / "models"
        packages = [install_package(models, archive) for archive in archives]
        from sentencepiece import SentencePieceProcessor

        tokenizer = SentencePieceProcessor(model_file=str(packages[0].path / "sentencepiece.model"))
        started = time.perf_counter()
        argos = run_argos(archives, sets)
        argos_wall = time.perf_counter() - started
        ours = {label: run_pressbot(models, sets, options) for label, options in configs.items()}

    rows: list[Any] = []
    report: dict[str, Any] = {}
    for name, spec in sets.items():
        texts = spec["texts"]
        pieces = sum(len(tokenizer.encode(t)) for t in texts) / len(texts)
        base = argos[name]
        entry: dict[str, Any] = {
            "texts": len(texts),
            "source_pieces_per_text": round(pieces, 1),
            "argostranslate": {
                "seconds": round(base["seconds"], 2),
                "texts_per_s": round(len(texts) / base["seconds"], 2),
                "first_call_s": round(base["first_call_s"], 2),
            },
            "examples": [
                {"source": t, "argostranslate": a, "pressbot": p}
                for t, a, p in list(
                    zip(texts, base["outputs"], ours["pressbot default"][name]["outputs"], strict=True)
                )[:3]
            ],
        }
        rows.append(
            (name, "argostranslate translate() ×1", len(texts), f"{pieces:.1f}", f"{base['seconds']:.1f}",
             f"{len(texts) / base['seconds']:.2f}", "1.0×", "—", "—", "—")
        )  # fmt: skip
        for label, result in ours.items():
            mine = result[name]
            identical = sum(a == p for a, p in zip(base["outputs"], mine["outputs"], strict=True))
            pairs = list(zip(base["outputs"], mine["outputs"], strict=True))
            same = sum(_spacing(a) == _spacing(p) for a, p in pairs)
            unspaced = sum(_unspaced(a) == _unspaced(p) for a, p in pairs)
            speedup = base["seconds"] / mine["seconds"]
            entry[label] = {
                "seconds": round(mine["seconds"], 2),
                "texts_per_s": round(len(texts) / mine["seconds"], 2),
                "first_call_s": round(mine["first_call_s"], 2),
                "speedup": round(speedup, 2),
                "identical": identical,
                "identical_whitespace_collapsed": same,
                "identical_whitespace_ignored": unspaced,
            }
            rows.append(
                (name, f"{label} (batched)", len(texts), f"{pieces:.1f}", f"{mine['seconds']:.1f}",
                 f"{len(texts) / mine['seconds']:.2f}", f"{speedup:.1f}×", f"{identical}/{len(texts)}",
                 f"{same}/{len(texts)}", f"{unspaced}/{len(texts)}")
            )  # fmt: skip
        rows.append(None)
        report[name] = entry
    table(
        f"Translation: argostranslate vs pressbot on fixtures/argos-base (Transformer-base cost, int8), beam {BEAM}, "
        f"{os.cpu_count()} CPUs",
        ("direction", "engine", "texts", "pieces/text", "seconds", "texts/s", "speed-up", "identical",
         "same, spaces collapsed", "same, spaces ignored"),
        rows[:-1],
        caption=(
            "Inputs: NTREX-128 sentences, English ones cut to a real subword model's piece count, Chinese whole "
            "(see the module docstring); "
            "zh→it goes through English in both engines. 'spaces collapsed': runs of whitespace as one space "
            "('_' read as a space, as argostranslate decodes it); 'spaces ignored': all whitespace removed. "
            "argostranslate's splitter cuts 。” before the quote, so its output has 。 ” where pressbot keeps 。”."
        ),
    )  # fmt: skip
    write_result(
        "translate",
        {
            "quick": args.quick,
            "setup": {
                "texts_per_direction": n,
                "beam_size": BEAM,
                "packages": [p.package_id for p in packages],
                "pressbot_options": {label: asdict(o) for label, o in configs.items()},
                "argostranslate": _version("argos-translate-lt"),
                "ctranslate2": _version("ctranslate2"),
                "argos_subprocess_wall_s": round(argos_wall, 1),
            },
            "directions": report,
        },
    )


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


if __name__ == "__main__":
    main()
