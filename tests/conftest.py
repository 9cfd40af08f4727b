"""Shared test fixtures: where ../shared/fixtures lives, temp storage, the local HTTP server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _fixtures_root() -> Path:
    return Path(os.environ.get("PRESSBOT_FIXTURES", REPO.parent / "shared" / "fixtures"))


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """``../shared/fixtures``: a failure in CI when missing, a skip with the reason elsewhere."""
    root = _fixtures_root()
    if not root.is_dir():
        message = f"test fixtures not found at {root} (set PRESSBOT_FIXTURES or check out ../shared)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return root


@pytest.fixture
def server(fixtures_dir: Path):
    """A fresh local HTTP server serving ../shared/fixtures (see tests/httpserver.py)."""
    from tests.httpserver import FixtureHTTPServer

    with FixtureHTTPServer(fixtures_dir) as running:
        yield running


@pytest.fixture
def bare_server():
    """The same server without fixture files (for tests that bring their own documents)."""
    from tests.httpserver import FixtureHTTPServer

    with FixtureHTTPServer(None) as running:
        yield running
