"""Translation never touches the network: installing packages from files, translating (direct and
through the English pivot), splitting sentences and caching all run with every non-loopback
connection and DNS lookup made to fail — and recorded, so an attempt fails the test even where the
code under test would have swallowed the error."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pressbot.store import Archive
from pressbot.translate.cached import translate_cached
from pressbot.translate.engine import EngineOptions, Translator
from pressbot.translate.packages import install_package

LOOPBACK = {"127.0.0.1", "::1", "localhost"}
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    attempts: list[Any] = []
    real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if self.family in (socket.AF_INET, socket.AF_INET6) and host not in LOOPBACK:
            attempts.append(address)
            raise OSError(f"network access attempted: {address!r}")
        return real_connect(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in LOOPBACK and host is not None:
            attempts.append(host)
            raise OSError(f"DNS lookup attempted: {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield attempts
    assert attempts == [], f"network access attempted: {attempts}"


def test_the_guard_catches_a_connection(no_network: list[Any]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(OSError, match="attempted"):
        sock.connect(("192.0.2.1", 80))  # TEST-NET-1: never reachable anyway
    assert no_network == [("192.0.2.1", 80)]
    no_network.clear()  # the guard works; the fixture's final check is for the code under test


def test_install_translate_pivot_and_cache_make_no_network_access(
    no_network: list[Any], fixtures_dir: Path, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    for source, target in (("en", "it"), ("it", "en"), ("en", "zh"), ("zh", "en")):
        install_package(models, fixtures_dir / "argos" / f"translate-{source}_{target}-tiny.argosmodel")
    translator = Translator(models, EngineOptions(intra_threads=1))
    assert translator.translate(["hello world. good morning."], source="en", target="it") == [
        "ciao mondo. buono mattina."
    ]
    assert translator.translate(["你好世界。今天新闻。"], source="zh", target="it") == [
        "ciao mondo。 oggi notizie。"  # the tiny glossary models keep the Chinese full stop
    ]
    with Archive.open(tmp_path / "storage") as archive:
        first = translate_cached(translator, archive, ["hello world"], source="en", target="it", now=NOW)
        again = translate_cached(translator, archive, ["hello world"], source="en", target="it", now=NOW)
    assert (first.translated, again.translated, again.cached) == (1, 0, 1)
    assert again.texts == ["ciao mondo"]
