"""Generate notebooks/<name>.ipynb from notebooks/src/<name>.md (`make notebooks`).

A source is plain markdown: every fenced ```python block becomes a code cell, the one block fenced
```python parameters becomes the papermill parameters cell (tagged "parameters"; `-p` values are injected
after it), and the markdown between code blocks becomes markdown cells, unchanged. Other fenced blocks
(```bash, ...) stay inside the markdown. Output is deterministic (cell ids from the notebook name and the cell
index, fixed metadata, no outputs), so regenerating an unchanged source rewrites nothing, and
tests/test_notebooks.py fails when a committed notebook differs from its source.

Only notebooks that have a source are written or checked; others in notebooks/ are left alone.

    python scripts/make_notebooks.py           # write the notebooks that changed
    python scripts/make_notebooks.py --check   # exit 1 and name the stale ones
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
SOURCE_DIR = NOTEBOOK_DIR / "src"

_CODE_OPEN = re.compile(r"^```python(?:\s+(parameters))?\s*$")
_FENCE = re.compile(r"^(```+|~~~+)")


class SourceError(ValueError):
    """A notebook source that cannot be turned into a notebook (the message names file and line)."""


def parse_source(text: str, origin: str = "<source>") -> list[tuple[str, str]]:
    """(kind, text) cells of a source: kind is "markdown", "code" or "parameters"."""
    cells: list[tuple[str, str]] = []
    markdown: list[str] = []
    code: list[str] | None = None
    kind = ""
    md_fence = ""  # the fence of a non-python block inside the markdown, while in it
    opened_at = 0

    def flush_markdown() -> None:
        body = "\n".join(markdown).strip("\n")
        if body.strip():
            cells.append(("markdown", body))
        markdown.clear()

    for lineno, line in enumerate(text.splitlines(), 1):
        if code is not None:
            if line.rstrip() == "```":
                cells.append((kind, "\n".join(code).strip("\n")))
                code = None
            else:
                code.append(line)
            continue
        if md_fence:
            markdown.append(line)
            if line.strip() == md_fence:
                md_fence = ""
            continue
        opened = _CODE_OPEN.match(line)
        if opened:
            flush_markdown()
            code, kind, opened_at = [], "parameters" if opened.group(1) else "code", lineno
            continue
        fence = _FENCE.match(line.strip())
        if fence:
            md_fence = fence.group(1)
        markdown.append(line)
    if code is not None:
        raise SourceError(f"{origin}:{opened_at}: ```python block is never closed")
    if md_fence:
        raise SourceError(f"{origin}: a {md_fence} block in the markdown is never closed")
    flush_markdown()
    n_params = sum(kind == "parameters" for kind, _ in cells)
    if n_params != 1:
        raise SourceError(f"{origin}: needs exactly one ```python parameters block, found {n_params}")
    if any(kind != "markdown" and not body.strip() for kind, body in cells):
        raise SourceError(f"{origin}: an empty code block")
    return cells


def build(name: str, text: str) -> str:
    """The .ipynb text of notebook `name` from its source text."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, (kind, body) in enumerate(parse_source(text, f"notebooks/src/{name}.md")):
        cell = new_markdown_cell(body) if kind == "markdown" else new_code_cell(body)
        if kind == "parameters":
            cell.metadata["tags"] = ["parameters"]
        cell["id"] = f"{name}-{i}"  # stable: regenerating gives identical files
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nbformat.writes(nb) + "\n"


def sources(source_dir: Path = SOURCE_DIR) -> dict[str, Path]:
    """Notebook name -> its source file, sorted by name."""
    return {p.stem: p for p in sorted(source_dir.glob("*.md")) if p.stem != "README"}


def stale(source_dir: Path = SOURCE_DIR, notebook_dir: Path = NOTEBOOK_DIR) -> dict[str, str]:
    """Notebooks whose file differs from what their source generates: name -> expected text."""
    out = {}
    for name, src in sources(source_dir).items():
        text = build(name, src.read_text())
        path = notebook_dir / f"{name}.ipynb"
        if not path.is_file() or path.read_text() != text:
            out[name] = text
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a notebook is stale")
    args = parser.parse_args(argv)
    try:
        changed = stale()
    except SourceError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for name, text in changed.items():
        path = NOTEBOOK_DIR / f"{name}.ipynb"
        if args.check:
            print(f"stale: {path} (run `make notebooks`)")
        else:
            tmp = path.with_suffix(".ipynb.tmp")
            tmp.write_text(text)
            tmp.replace(path)  # atomic: papermill never reads half a notebook
            print(f"wrote {path}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
