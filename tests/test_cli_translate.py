"""`pressbot models` and `pressbot translate` end to end, with the tiny Argos packages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def run(tmp_path: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "PRESSBOT_STORAGE": str(tmp_path / "storage"),
        "PRESSBOT_SOURCES": str(tmp_path / "sources.yaml"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "pressbot", *args], capture_output=True, text=True, env=env, timeout=120
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def installed(tmp_path, fixtures_dir):
    packages = sorted(str(p) for p in (fixtures_dir / "argos").glob("*.argosmodel"))
    assert len(packages) == 4
    run(tmp_path, "models", "install", *packages)
    return tmp_path


def test_models_list_json(installed):
    listed = json.loads(run(installed, "models", "list", "--json").stdout)
    assert {(p["from"], p["to"]) for p in listed} == {("en", "it"), ("it", "en"), ("en", "zh"), ("zh", "en")}
    assert all(p["version"] and Path(p["path"]).is_dir() and str(installed) in p["path"] for p in listed)


def test_translate_direct_pivot_and_cache(installed):
    assert (
        run(installed, "translate", "hello world", "--from", "en", "--to", "it").stdout.strip()
        == "ciao mondo"
    )
    first = json.loads(run(installed, "translate", "你好世界", "--to", "it", "--json").stdout)
    assert first["from"] == "zh" and first["translation"] == "ciao mondo" and first["machine_translated"]
    assert "zh_en" in first["model"] and "en_it" in first["model"] and first["cached"] is False
    again = json.loads(run(installed, "translate", "你好世界", "--to", "it", "--json").stdout)
    assert again["cached"] is True and again["translation"] == "ciao mondo"


def test_missing_pair_and_broken_package_say_what_to_do(installed, fixtures_dir):
    run(installed, "models", "remove", "en", "it")
    missing = run(installed, "translate", "你好", "--from", "zh", "--to", "it", check=False)
    assert missing.returncode == 1 and "pressbot models install" in missing.stderr
    before = sorted(p.name for p in (installed / "storage" / "models").iterdir())
    broken = run(installed, "models", "install", str(fixtures_dir / "feeds" / "manifest.json"), check=False)
    assert (
        broken.returncode == 1
        and "not an Argos Translate package" in broken.stderr
        and "Nothing was installed" in broken.stderr
    )
    assert sorted(p.name for p in (installed / "storage" / "models").iterdir()) == before
    gone = run(installed, "models", "remove", "en", "it", check=False)
    assert gone.returncode == 1 and "pressbot models list" in gone.stderr
