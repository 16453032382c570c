"""The help formatter of the package's command lines: every option shows its default.

argparse's own `ArgumentDefaultsHelpFormatter` prints "(default: None)" and "(default: False)", which say
nothing; this one appends "(default: X)" only where X is a value, and leaves an option whose help already
states its default (or what happens without it) alone. It lives in `data`, the most upstream room with a
command line, so every room's CLI may use it (`data.corpora`, `analysis.plan`, `evaluation.harness`).
"""

from __future__ import annotations

import argparse


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, with each option's default after its help."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            not action.option_strings
            or default in (None, False, argparse.SUPPRESS)
            or default == []
            or "default" in text.lower()
        ):
            return text
        return f"{text} (default: %(default)s)"


def option_help(action: argparse.Action, formatter: HelpFormatter | None = None) -> str:
    """The help line an option shows (its default filled in): what the tests of every CLI walk."""
    formatter = formatter or HelpFormatter("prog")
    text = formatter._get_help_string(action)
    return text % {**vars(action), "default": action.default} if "%(" in text else text


__all__ = ["HelpFormatter", "option_help"]
