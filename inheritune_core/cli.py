"""`inheritune <command> ...`: one console command for everything the package's `python -m` modules do.

Each command hands the rest of the command line, untouched, to the same `main(argv)` function that its
`python -m` form runs, so the two spellings take the same options, print the same help (`inheritune train
--help`) and return the same exit codes; the `python -m` forms keep working. The table below is the one list
of commands (`inheritune --help` prints it).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    """One subcommand: the function it delegates to and what it does (one line for `inheritune --help`)."""

    target: str  # "module:function" relative to inheritune_core
    summary: str

    def run(self, argv: list[str]) -> int | None:
        module, _, function = self.target.partition(":")
        return getattr(importlib.import_module(f"inheritune_core.{module}"), function)(argv)


COMMANDS: dict[str, Command] = {
    "data": Command(
        "data.corpora:main",
        "prepare a corpus into token files (data prepare [--name openwebtext|fineweb-edu|...])",
    ),
    "train": Command(
        "training.cli:main",
        "train one GPT-2 preset model on a prepared corpus (--resume continues a run)",
    ),
    "recipe": Command(
        "method.recipe:main",
        "Inheritune (Algorithm 1): train a reference, then grow inherited models to its loss",
    ),
    "plan": Command(
        "analysis.plan:main",
        "which layers of a pretrained model to inherit, and how many (lazy-layer analysis)",
    ),
    "evaluate": Command(
        "evaluation.harness:main",
        "downstream accuracy of an exported model with lm-evaluation-harness (evaluate run|tasks)",
    ),
    "lowdata": Command(
        "experiments.lowdata:main",
        "the low-data regime of Appendix B on a LLaMA-family reference (lowdata prepare|train|memory)",
    ),
    "report": Command(
        "report.__main__:main",
        "redraw every table and figure under paper/ and paper/REPRODUCTION.md from results/ (no training)",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser: only for `inheritune --help` (the commands parse their own arguments)."""
    width = max(map(len, COMMANDS))
    listing = "\n".join(f"  {name:<{width}}  {cmd.summary}" for name, cmd in COMMANDS.items())
    parser = argparse.ArgumentParser(
        prog="inheritune",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Inheritune (Sanyal et al., 2024): data, training, the recipe, analysis, evaluation and "
        "the paper's tables, as one command.",
        epilog=f"commands:\n{listing}\n\n`inheritune COMMAND --help` shows a command's options; each command "
        "is also `python -m inheritune_core.<module>` (README).",
    )
    parser.add_argument(
        "command", metavar="COMMAND", choices=sorted(COMMANDS), help="one of the commands below"
    )
    parser.add_argument("args", metavar="ARGS", nargs="*", help="the command's own arguments")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    return parser


def _version() -> str:
    from . import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    """Run `inheritune COMMAND ARGS...`; returns the command's exit code (2 with one `error:` line for an
    unknown command)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv or argv[0].startswith("-"):
        try:
            parser.parse_args(argv)  # --help / --version print and exit; anything else is a usage error
        except SystemExit as e:
            return _exit_code(e)
        return 2
    name, rest = argv[0], argv[1:]
    command = COMMANDS.get(name)
    if command is None:
        print(f"error: unknown command {name!r}; choose one of {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    try:
        return _exit_code(command.run(rest))
    except SystemExit as e:  # argparse's --help and usage errors inside the command
        return _exit_code(e)


def _exit_code(result: object) -> int:
    code = result.code if isinstance(result, SystemExit) else result
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)  # SystemExit("message") exits 1 after printing, as Python does
    return 1


if __name__ == "__main__":
    sys.exit(main())
