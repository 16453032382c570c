"""The `inheritune` console command (issue 19 item 5) and the help of the parsers this room owns (issue 21
item 6): every subcommand delegates to the `main(argv)` its `python -m` form runs, and every option of the
training, recipe and top-level parsers has help text and shows its default."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from inheritune_core import cli
from inheritune_core.method import recipe
from inheritune_core.paths import PROJECT_DIR
from inheritune_core.training import cli as training_cli


def test_help_lists_every_command(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: inheritune")
    for name, command in cli.COMMANDS.items():
        assert f"  {name}" in out and command.summary in out


def test_the_commands_cover_the_python_m_modules():
    assert set(cli.COMMANDS) == {"data", "train", "recipe", "plan", "evaluate", "lowdata", "report"}


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_every_command_has_help(name, capsys):
    assert cli.main([name, "--help"]) == 0
    assert capsys.readouterr().out.startswith("usage:")


def test_an_unknown_command_or_no_command_is_a_usage_error(capsys):
    assert cli.main(["tran"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [f"error: unknown command 'tran'; choose one of {', '.join(cli.COMMANDS)}"]
    assert cli.main([]) == 2
    assert "usage: inheritune" in capsys.readouterr().err


def test_a_command_gets_its_arguments_verbatim_and_returns_its_exit_code(monkeypatch):
    seen = []
    monkeypatch.setattr(training_cli, "main", lambda argv: seen.append(argv) or 7)
    assert cli.main(["train", "--preset", "gpt2-medium", "--resume"]) == 7
    assert seen == [["--preset", "gpt2-medium", "--resume"]]


def test_a_command_error_is_the_same_one_line_as_its_python_m_form(tmp_path, capsys):
    argv = [
        "--preset",
        "gpt2-medium",
        "--scale",
        "smoke",
        "--data",
        str(tmp_path / "none"),
        "--out",
        str(tmp_path),
    ]
    assert cli.main(["train", *argv]) == 2
    via_command = capsys.readouterr().err
    assert training_cli.main(argv) == 2
    assert capsys.readouterr().err == via_command and via_command.startswith("error: ")


def test_report_runs_as_its_python_m_form(capsys):
    """`report`'s __main__ exits on import: the command runs it like `python -m` does."""
    assert cli.main(["report", "no-such-table"]) == 2
    assert capsys.readouterr().err.startswith("error: unknown table or figure no-such-table")


def test_python_m_inheritune_core_cli_help():
    proc = subprocess.run(
        [sys.executable, "-m", "inheritune_core.cli", "--help"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert all(f"  {name}" in proc.stdout for name in cli.COMMANDS)


# --------------------------------------------------------------------------------------------- help text
OWNED_PARSERS = {
    "inheritune": cli.build_parser,
    "training": training_cli.build_parser,
    "recipe": recipe.build_parser,
}


@pytest.mark.parametrize("name", sorted(OWNED_PARSERS))
def test_every_option_has_help_and_shows_its_default(name):
    parser = OWNED_PARSERS[name]()
    text = " ".join(parser.format_help().split())  # argparse wraps lines
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            continue
        assert action.help and action.help is not argparse.SUPPRESS, f"{name}: {action.dest} has no help"
        if action.option_strings and not action.required:
            assert f"(default: {action.default})" in text, f"{name}: {action.dest} does not show its default"
