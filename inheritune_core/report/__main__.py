"""`python -m inheritune_core.report [NAME ...]` (`make paper`): redraw every table and figure under paper/ from
the CSVs under results/ (no torch, seconds), and the claims ledger paper/REPRODUCTION.md (`reproduction`). With
names, only those (table1, figure5, figure10, reproduction, ...)."""

import argparse
import sys

from .. import registry
from ..paths import paper_dir, results_dir
from . import claims, figures, lowdata, tables


def main(argv: list[str] | None = None) -> int:
    every = [*registry.report_names(), "reproduction"]  # every table and figure, listed once (registry.py)
    parser = argparse.ArgumentParser(
        prog="python -m inheritune_core.report", description=__doc__.splitlines()[0]
    )
    parser.add_argument("names", nargs="*", help=f"default: all of {', '.join(every)}")
    parser.add_argument("--results", default=None, help="results folder (default: results/)")
    parser.add_argument(
        "--paper", default=None, help="output folder holding tables/ and figures/ (default: paper/)"
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(every))
    if unknown:
        print(
            f"error: unknown table or figure {', '.join(unknown)}; choose from {', '.join(every)}",
            file=sys.stderr,
        )
        return 2
    results = args.results or results_dir()
    paper = args.paper or paper_dir()
    names = args.names or every
    for name in names:
        if name == "reproduction":  # last in `every`: the ledger reads the results the others render
            print(f"[report] reproduction: {claims.render_ledger(results, paper)}")
        elif name in figures.ATTENTION_FIGURES:
            figures.render_attention_figures(results, paper, names=[name])
        elif name in lowdata.RENDERERS:
            for path in lowdata.render_lowdata_all(results, paper, [name]):
                print(f"[report] {path}")
        else:
            paths = tables.render(name, results, paper)
            if paths:
                print(f"[report] {name}: " + ", ".join(str(p) for p in paths))
    return 0


sys.exit(main())
