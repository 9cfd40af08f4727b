"""The README documents every command, option and setting (and its settings table is the code's)."""

from __future__ import annotations

import re
from pathlib import Path

import click

from pressbot.cli import main
from pressbot.config import Settings, load_settings, settings_markdown

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = "pressbot") -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        found.append((path, command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, path))
    return found


def test_every_command_and_option_is_in_the_readme():
    for path, command in _commands(main):
        assert f"`{path}" in README, f"{path} is not documented in README.md"
        for param in command.params:
            for flag in getattr(param, "opts", []):
                if flag.startswith("--") and flag != "--help":
                    assert flag in README, f"{path} {flag} is not documented in README.md"


def test_settings_section_is_generated_from_the_table():
    section = re.search(r"<!-- settings:start -->\n(.*?)\n<!-- settings:end -->", README, re.S)
    assert section, "README.md lacks the settings markers"
    assert section.group(1) == settings_markdown(), (
        "regenerate with: python -c 'from pressbot.config import settings_markdown; print(settings_markdown())'"
    )


def test_settings_defaults_match_the_table():
    assert load_settings({}) == Settings()


def test_readme_gives_install_and_test_commands_first():
    first_screen = README[:1500]
    assert 'pip install -e ".[dev]"' in first_screen and "python -m pytest -q" in first_screen
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert "python -m pytest -q" in ci


def test_every_sources_yaml_key_is_in_the_readme():
    from pressbot.channels import CHANNEL_KEYS
    from pressbot.config import FIELD_KEYS, SELECTOR_KEYS, SOURCE_KEYS, TOP_LEVEL_KEYS, TOPIC_KEYS
    from pressbot.glossary import ENTRY_KEYS

    section = README[README.index("## sources.yaml") :]
    for key in (*TOP_LEVEL_KEYS, *SOURCE_KEYS, *TOPIC_KEYS, *CHANNEL_KEYS):
        assert re.search(rf"\b{key}:", README), f"sources.yaml key '{key}' is not documented in README.md"
    for key in (*SELECTOR_KEYS, *FIELD_KEYS, *ENTRY_KEYS):
        assert f"{key}:" in section, f"sources.yaml key '{key}' is not documented in README.md"
