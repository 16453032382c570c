"""`python -m inheritune_core.report [NAME ...]` (`make paper`): redraw every table and figure under paper/ from
the CSVs under results/ (no torch, seconds), and the claims ledger paper/REPRODUCTION.md (`reproduction`). With
names, only those (table1, figure5, figure10, reproduction, ...).

Every results CSV is checked before it is drawn (report/checks.py: its columns, numbers where numbers belong,
one row per key, a complete last line). Exit status 0: every output asked for was rendered. Exit status 2: a
results CSV failed its checks (one `error:` line naming the file and the line) or is missing; the outputs that
were not rendered are named, with any copy an earlier run left under paper/ (stale: not these results)."""

import argparse
import sys
from pathlib import Path

from .. import registry
from ..errors import DataError
from ..paths import paper_dir, results_dir
from . import claims, figures, lowdata, tables


def every_output() -> list[str]:
    """Every table and figure `make paper` renders, each once (tables 8 and 9 are both a table and a low-data
    output), the ledger last: it reads the results the others render."""
    return list(dict.fromkeys([*registry.report_names(), "reproduction"]))  # registry.py lists each once


def render_one(name: str, results: Path, paper: Path) -> list[Path] | None:
    """Render one output; its written paths, or None when its results CSV does not exist (a note is printed)."""
    if name == "reproduction":
        return [claims.render_ledger(results, paper)]
    if name in figures.ATTENTION_FIGURES:
        return figures.render_attention_figures(results, paper, names=[name])[name]
    if name in lowdata.RENDERERS:
        return lowdata.RENDERERS[name](results, paper)
    return tables.render(name, results, paper)


def stale_copies(name: str, paper: Path) -> list[Path]:
    """What an earlier run left under paper/ for an output that was not rendered now."""
    found = []
    for folder in (paper / "tables", paper / "figures"):
        found += sorted(folder.glob(f"{name}.*")) + sorted(folder.glob(f"{name}_*.*"))
    return found


def parser() -> argparse.ArgumentParser:
    every = every_output()
    p = argparse.ArgumentParser(
        prog="python -m inheritune_core.report",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "names", nargs="*", metavar="NAME", help=f"outputs to render (default: all of {', '.join(every)})"
    )
    p.add_argument(
        "--results",
        default=None,
        help=f"results folder to read (default: $INHERITUNE_RESULTS_DIR or results/, now {results_dir()})",
    )
    p.add_argument(
        "--paper",
        default=None,
        help="output folder holding tables/, figures/ and REPRODUCTION.md "
        f"(default: $INHERITUNE_PAPER_DIR or paper/, now {paper_dir()})",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    every = every_output()
    args = parser().parse_args(argv)
    unknown = sorted(set(args.names) - set(every))
    if unknown:
        print(
            f"error: unknown table or figure {', '.join(unknown)}; choose from {', '.join(every)}",
            file=sys.stderr,
        )
        return 2
    results = Path(args.results) if args.results else results_dir()
    paper = Path(args.paper) if args.paper else paper_dir()
    failed: list[str] = []
    for name in dict.fromkeys(args.names or every):
        try:
            paths = render_one(name, results, paper)
        except (
            DataError,
            ValueError,
        ) as e:  # a results CSV that failed its checks, or one with nothing to draw
            failed.append(f"error: {name} not rendered: {e}")
            paths = None
        else:
            if paths is None:
                failed.append(f"error: {name} not rendered: its results CSV under {results} does not exist")
        if paths is None:
            stale = stale_copies(name, paper)
            if stale:
                failed[-1] += (
                    f"; stale copies from an earlier run, not these results: {', '.join(map(str, stale))}"
                )
        elif name not in figures.ATTENTION_FIGURES:  # those print their own line
            print(f"[report] {name}: " + ", ".join(str(p) for p in paths))
    for line in failed:
        print(line, file=sys.stderr)
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
