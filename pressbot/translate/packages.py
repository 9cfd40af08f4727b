"""Argos Translate packages on disk: list, install (validated, atomic), remove, download.

Input → output: an ``.argosmodel`` file (a zip of one folder holding ``metadata.json``, a
CTranslate2 model in ``model/`` and ``sentencepiece.model``) → a folder
``<models_dir>/translate-<from>_<to>`` and its :class:`ModelPackage`. One package per
direction: installing a direction again replaces it. Nothing here imports argostranslate (it
reads its settings from the environment at import time and may download a sentence splitter).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

import sentencepiece

from pressbot.errors import TranslateError

ARGOS_INDEX_URL = "https://raw.githubusercontent.com/argosopentech/argospm-index/main/index.json"
MAX_UNPACKED_BYTES = 8 * 1024**3  # a real Argos package unpacks to 100–400 MB; more is a zip bomb
MAX_DOWNLOAD_BYTES = 2 * 1024**3
_LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")
_FORMAT_HINT = (
    "an .argosmodel file is a zip of one folder with metadata.json, model/ (CTranslate2) and "
    "sentencepiece.model"
)


@dataclass(frozen=True)
class ModelPackage:
    """One installed translation direction."""

    source: str
    target: str
    version: str
    path: Path
    size_bytes: int
    package_id: str  # "<code>-<version>", e.g. "translate-en_it-1.9": a stable model label
    target_prefix: str = ""  # token some multilingual packages put before the target (metadata)
    replaced: str = field(default="", compare=False)  # install only: package_id it replaced


def package_folder(models_dir: Path, source: str, target: str) -> Path:
    """Where the ``source``→``target`` package lives once installed."""
    return models_dir / f"translate-{source}_{target}"


def installed_packages(models_dir: Path) -> list[ModelPackage]:
    """The packages in ``models_dir`` (none when it does not exist), sorted by direction."""
    if not models_dir.is_dir():
        return []
    found = [
        _describe(child, _read_metadata(child))
        for child in models_dir.iterdir()
        if child.is_dir() and not child.name.startswith(".")  # .installing-*, .removing-*
    ]
    return sorted(found, key=lambda p: (p.source, p.target, p.path.name))


def install_package(models_dir: Path, archive: Path) -> ModelPackage:
    """Check ``archive`` and install it; a broken or foreign file raises and changes nothing.

    The archive is unpacked into a hidden folder inside ``models_dir``, checked, then renamed
    into place, so a half-written package is never visible. A package of the same direction is
    replaced; the returned package's ``replaced`` names it.
    """
    if not archive.is_file():
        raise TranslateError(f"{archive}: no such file — give the path of an .argosmodel file.")
    if not zipfile.is_zipfile(archive):
        raise TranslateError(
            f"{archive} is not an Argos Translate package: it is not a zip archive ({_FORMAT_HINT}). "
            "Nothing was installed."
        )
    created = not models_dir.exists()
    models_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".installing-", dir=models_dir))
    try:
        root = _unpack(archive, staging)
        metadata = _read_metadata(root, origin=str(archive))
        _check_contents(root, origin=str(archive))
        source, target = metadata["from_code"], metadata["to_code"]
        previous = [p for p in installed_packages(models_dir) if (p.source, p.target) == (source, target)]
        final = package_folder(models_dir, source, target)
        _swap_in(root, final, [p.path for p in previous], staging)
    except TranslateError:
        shutil.rmtree(staging, ignore_errors=True)
        if created:
            shutil.rmtree(models_dir, ignore_errors=True)
        raise
    except (OSError, zipfile.BadZipFile, EOFError) as error:
        shutil.rmtree(staging, ignore_errors=True)
        if created:
            shutil.rmtree(models_dir, ignore_errors=True)
        raise TranslateError(
            f"{archive} could not be installed ({error}); the file may be damaged — download it again. "
            "Nothing was installed."
        ) from error
    shutil.rmtree(staging, ignore_errors=True)
    package = _describe(final, metadata)
    return replace(package, replaced=previous[0].package_id) if previous else package


def _swap_in(new: Path, final: Path, old: list[Path], staging: Path) -> None:
    """Move ``old`` folders out of sight (into ``staging``), then ``new`` to ``final``; undo on error."""
    moved: list[tuple[Path, Path]] = []
    try:
        for index, path in enumerate(old):
            parked = staging / f"replaced-{index}"
            path.rename(parked)
            moved.append((path, parked))
        new.rename(final)
    except OSError:
        for path, parked in reversed(moved):
            parked.rename(path)
        raise


def remove_package(models_dir: Path, source: str, target: str) -> ModelPackage:
    """Remove the ``source``→``target`` package and return what it was."""
    matches = [p for p in installed_packages(models_dir) if (p.source, p.target) == (source, target)]
    if not matches:
        raise TranslateError(
            f"no {source}→{target} translation package is installed in {models_dir}; "
            "see the installed ones with `pressbot models list`."
        )
    for package in matches:
        doomed = Path(tempfile.mkdtemp(prefix=".removing-", dir=models_dir))
        package.path.rename(doomed / "package")  # gone from view at once, even if rmtree stops
        shutil.rmtree(doomed)
    return matches[0]


def install_from_index(
    models_dir: Path,
    languages: Sequence[str],
    *,
    index_url: str = ARGOS_INDEX_URL,
    timeout: float = 30,
    download: Callable[[str], bytes] | None = None,
) -> list[ModelPackage]:
    """Download and install the Argos index's packages between ``languages`` (both directions).

    Directions already installed at the index's version are skipped; returns what was installed.
    ``download(url) -> bytes`` defaults to a plain urllib GET with ``timeout``.
    """
    fetch = download or (lambda url: _http_get(url, timeout=timeout))
    wanted = list(dict.fromkeys(languages))
    if len(wanted) < 2:
        raise TranslateError(f"give at least two languages to install packages between, not {wanted}.")
    try:
        index = json.loads(fetch(index_url))
    except urllib.error.HTTPError as error:
        raise TranslateError(
            f"the Argos package index at {index_url} answered HTTP {error.code}; try again later, or install "
            ".argosmodel files with `pressbot models install PATH`."
        ) from error
    except (OSError, ValueError) as error:
        raise TranslateError(
            f"cannot reach the Argos package index ({index_url}: {error}) — this machine looks offline; "
            "install .argosmodel files with `pressbot models install PATH`."
        ) from error
    offers = _best_offers(index, wanted)
    if not offers:
        raise TranslateError(
            f"the Argos package index has no package between {', '.join(wanted)}; "
            "install .argosmodel files with `pressbot models install PATH`."
        )
    have = {(p.source, p.target): p.version for p in installed_packages(models_dir)}
    installed: list[ModelPackage] = []
    for (source, target), entry in sorted(offers.items()):
        if have.get((source, target)) == entry["package_version"]:
            continue
        data = _download_package(fetch, entry, source, target)
        models_dir.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=".download-", suffix=".argosmodel", dir=models_dir)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            installed.append(install_package(models_dir, Path(name)))
        finally:
            Path(name).unlink(missing_ok=True)
    return installed


# --------------------------------------------------------------------------- helpers


def _read_metadata(folder: Path, *, origin: str = "") -> dict[str, Any]:
    where = origin or str(folder)
    path = folder / "metadata.json"
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TranslateError(_foreign(where, "it has no metadata.json", installed=not origin)) from None
    except (OSError, ValueError) as error:
        raise TranslateError(
            _foreign(where, f"its metadata.json is unreadable ({error})", installed=not origin)
        ) from error
    if not isinstance(metadata, dict):
        raise TranslateError(_foreign(where, "its metadata.json is not a JSON object", installed=not origin))
    for key in ("from_code", "to_code", "package_version"):
        if not isinstance(metadata.get(key), str) or not metadata[key].strip():
            raise TranslateError(_foreign(where, f"its metadata.json has no {key}", installed=not origin))
    if metadata.get("type", "translate") != "translate":
        raise TranslateError(
            _foreign(where, f"it is a {metadata['type']!r} package, not a translation", installed=not origin)
        )
    for key in ("from_code", "to_code"):
        if not _LANGUAGE_CODE.fullmatch(metadata[key]):
            raise TranslateError(
                _foreign(where, f"{key} {metadata[key]!r} is not a language code", installed=not origin)
            )
    if metadata["from_code"] == metadata["to_code"]:
        raise TranslateError(_foreign(where, "it translates a language into itself", installed=not origin))
    return metadata


def _foreign(where: str, reason: str, *, installed: bool) -> str:
    if installed:
        return (
            f"{where} is not a usable translation package: {reason}. Remove that folder, then install the "
            "package again with `pressbot models install PATH`."
        )
    return f"{where} is not an Argos Translate package: {reason} ({_FORMAT_HINT}). Nothing was installed."


def _describe(folder: Path, metadata: dict[str, Any]) -> ModelPackage:
    source, target, version = metadata["from_code"], metadata["to_code"], metadata["package_version"]
    code = metadata.get("code") if isinstance(metadata.get("code"), str) else f"translate-{source}_{target}"
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    prefix = metadata.get("target_prefix") if isinstance(metadata.get("target_prefix"), str) else ""
    return ModelPackage(
        source, target, version, folder, size, f"{code}-{version}", target_prefix=prefix or ""
    )


def _unpack(archive: Path, staging: Path) -> Path:
    """Extract ``archive`` into ``staging`` and return its single top folder."""
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        tops = set()
        for member in members:
            name = PurePosixPath(member.filename)
            if name.is_absolute() or ".." in name.parts or "\\" in member.filename or not name.parts:
                raise TranslateError(
                    f"{archive} is not an Argos Translate package: it holds an unsafe path "
                    f"{member.filename!r}. Nothing was installed."
                )
            tops.add(name.parts[0])
        if len(tops) != 1 or not any(
            PurePosixPath(m.filename).parts[1:] == ("metadata.json",) for m in members
        ):
            raise TranslateError(
                f"{archive} is not an Argos Translate package: it has no folder with a metadata.json "
                f"({_FORMAT_HINT}). Nothing was installed."
            )
        if sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
            raise TranslateError(
                f"{archive} would unpack to more than {MAX_UNPACKED_BYTES // 1024**3} GB, far more than a "
                "translation package; it is not installed."
            )
        zf.extractall(staging)
    return staging / tops.pop()


def _check_contents(root: Path, *, origin: str) -> None:
    model = root / "model" / "model.bin"
    if not model.is_file() or model.stat().st_size == 0:
        raise TranslateError(
            _foreign(origin, "it has no CTranslate2 model (model/model.bin)", installed=False)
        )
    vocabulary = root / "sentencepiece.model"
    if not vocabulary.is_file():
        reason = "it uses BPE tokenization (bpe.model), which pressbot does not support"
        if not (root / "bpe.model").is_file():
            reason = "it has no sentencepiece.model"
        raise TranslateError(_foreign(origin, reason, installed=False))
    try:
        sentencepiece.SentencePieceProcessor(model_file=str(vocabulary))
    except (OSError, RuntimeError) as error:
        raise TranslateError(
            _foreign(origin, f"its sentencepiece.model is unreadable ({error})", installed=False)
        ) from error


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


def _best_offers(index: Any, languages: Sequence[str]) -> dict[tuple[str, str], dict[str, Any]]:
    if not isinstance(index, list):
        raise TranslateError("the Argos package index is not a JSON list of packages; try again later.")
    best: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in index:
        if not isinstance(entry, dict) or entry.get("type", "translate") != "translate":
            continue
        pair = (entry.get("from_code"), entry.get("to_code"))
        if pair[0] not in languages or pair[1] not in languages or pair[0] == pair[1]:
            continue
        if not isinstance(entry.get("package_version"), str) or not entry.get("links"):
            continue
        key = (str(pair[0]), str(pair[1]))
        if key not in best or _version_key(entry["package_version"]) > _version_key(
            best[key]["package_version"]
        ):
            best[key] = entry
    return best


def _download_package(
    fetch: Callable[[str], bytes], entry: dict[str, Any], source: str, target: str
) -> bytes:
    problems = []
    for link in entry["links"]:
        try:
            return fetch(str(link))
        except (OSError, ValueError) as error:
            problems.append(f"{link}: {error}")
    raise TranslateError(
        f"could not download the {source}→{target} package ({'; '.join(problems)}); try again later, or "
        "install an .argosmodel file with `pressbot models install PATH`."
    )


def _http_get(url: str, *, timeout: float) -> bytes:
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"not an http(s) URL: {url!r}")
    request = urllib.request.Request(url, headers={"User-Agent": "pressbot (argos package download)"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # scheme checked above
        data: bytes = response.read(MAX_DOWNLOAD_BYTES + 1)
    if len(data) > MAX_DOWNLOAD_BYTES:
        raise ValueError(f"larger than {MAX_DOWNLOAD_BYTES // 1024**3} GB")
    return data
