"""Running the real `pressbot` command as a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_pressbot(
    tmp_path: Path, *args: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`pressbot ARGS` with its sources file and storage in ``tmp_path``; asserts success unless ``check=False``."""
    environ = (
        os.environ
        | {
            "PRESSBOT_SOURCES": str(tmp_path / "sources.yaml"),
            "PRESSBOT_STORAGE": str(tmp_path / "storage"),
        }
        | (env or {})
    )
    result = subprocess.run(
        [sys.executable, "-m", "pressbot", *args], capture_output=True, text=True, env=environ, timeout=120
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result
