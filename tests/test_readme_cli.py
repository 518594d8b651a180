"""The README's command reference names every option the command line has."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from planner.cli import cli

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("command", ["solve", "validate", "template"])
def test_every_option_of_a_command_is_in_the_readme(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    options = set(re.findall(r"(--[a-z][a-z-]+)", result.output)) - {"--help"}
    usage = next(line for line in README.splitlines() if line.startswith(f"planner {command}"))
    missing = sorted(o for o in options if o not in usage)
    assert not missing, f"README usage of {command} lacks {missing}"


def test_help_has_an_example() -> None:
    for command in ("solve", "validate", "template"):
        result = CliRunner().invoke(cli, [command, "--help"])
        assert "Example:" in result.output
