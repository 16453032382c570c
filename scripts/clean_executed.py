"""Shrink executed notebooks (results/executed/*.ipynb) to what a reader needs; `make <notebook>` runs it.

An executed notebook keeps every byte its cells printed. Progress bars (tqdm, lm-eval's and the datasets
library's, which `progress=False` cannot reach) print one stream output per update, each starting with a
carriage return: thousands of outputs, 95-99% of a file. Here, as a terminal would show them:
- consecutive stream outputs of a cell (same stream) are merged, and every line keeps only the text after its
  last carriage return (a finished bar becomes its one final line);
- a run of consecutive lines that differ only in their numbers (one warning per document, one bar per
  request batch) keeps its first line and a count of the others;
- Jupyter widget outputs (tqdm.auto in a notebook) are dropped: papermill cannot render them, and so is
  tqdm's "IProgress not found" warning, which says only that ipywidgets is not installed;
- local absolute paths in printed text are made relative: the project's root is dropped and an installed
  package's path starts at `site-packages/` (a committed copy must not carry one machine's folders);
- PNG images wider than MAX_PNG_WIDTH pixels are downscaled for display when that makes them smaller (the
  full-size figures are paper/figures/*.png and .pdf, rendered from the CSVs).
Nothing else changes. Idempotent: cleaning a clean notebook rewrites nothing.

    python scripts/clean_executed.py results/executed/*.ipynb
"""

from __future__ import annotations

import base64
import io
import re
import sys
from pathlib import Path

import nbformat

MAX_PNG_WIDTH = 800
# A heatmap (Figure 2's attention maps) stays large even at 800 px: narrow it further until it fits this budget,
# so an executed notebook stays under 200 KB; the full-size figure is paper/figures/<name>.png.
MAX_PNG_BYTES = 120_000
MIN_PNG_WIDTH = 320
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
PROJECT_ROOT = Path(__file__).resolve().parents[1]
# tqdm.auto under Jupyter without ipywidgets: the warning line (with its file path) and the source line after it
TQDM_WIDGET_WARNING = re.compile(
    r"^.*TqdmWarning: IProgress not found\..*\n(?:[ \t]+from \.autonotebook import .*\n)?", re.M
)
SITE_PACKAGES = re.compile(r"(?:[A-Za-z]:)?[^\s'\"()]*[/\\](?=site-packages[/\\])")


def drop_local_paths(text: str, root: Path = PROJECT_ROOT) -> str:
    """Text without the tqdm widget warning, with `root/` dropped and installed files from `site-packages/`."""
    text = TQDM_WIDGET_WARNING.sub("", text)
    # the root itself, not a longer name it starts (…/main2): a path separator or the end of a name must follow
    text = re.sub(re.escape(str(root)) + r"/", "", text)
    text = re.sub(re.escape(str(root)) + r"(?![\w-]|\.\w)", ".", text)
    return SITE_PACKAGES.sub("", text)


def collapse_carriage_returns(text: str) -> str:
    """Each line as a terminal leaves it: the text after its last carriage return (if that is not empty)."""
    lines = []
    for line in text.split("\n"):
        parts = [p for p in line.split("\r") if p]
        lines.append(parts[-1] if parts else "")
    return "\n".join(lines)


def collapse_similar_lines(text: str) -> str:
    """Runs of consecutive lines equal up to their numbers: the first line, then "[... N similar lines]"."""
    out: list[str] = []
    run_key, run_len = None, 0

    def close_run() -> None:
        if run_len > 1:
            out.append(f"[... {run_len - 1} similar lines]")

    for line in text.split("\n"):
        key = re.sub(r"\d+(?:\.\d+)?", "#", line)
        if key == run_key and line.strip():
            run_len += 1
            continue
        close_run()
        out.append(line)
        run_key, run_len = key, 1
    close_run()
    return "\n".join(out)


def shrink_png(data: str, max_width: int = MAX_PNG_WIDTH, max_bytes: int = MAX_PNG_BYTES) -> str:
    """A PNG wider than max_width pixels, or larger than max_bytes, downscaled (narrower in steps of 15% until it
    fits max_bytes or reaches MIN_PNG_WIDTH): the smallest of the 256-colour and the full-colour encodings (a
    heatmap quantizes badly), or the original if that is smaller still."""
    from PIL import Image  # pillow comes with matplotlib

    original = base64.b64decode(data)
    image = Image.open(io.BytesIO(original))
    if image.width <= max_width and len(original) <= max_bytes:
        return data
    width = min(image.width, max_width)
    while True:
        small = image.convert("RGB").resize((width, round(image.height * width / image.width)), Image.LANCZOS)
        encodings = [original]
        for candidate in (small.quantize(colors=256), small):
            out = io.BytesIO()
            candidate.save(out, format="PNG", optimize=True)
            encodings.append(out.getvalue())
        best = min(encodings, key=len)
        if len(best) <= max_bytes or width <= MIN_PNG_WIDTH:
            return base64.b64encode(best).decode("ascii")
        width = max(MIN_PNG_WIDTH, int(width * 0.85))


def clean_outputs(outputs: list) -> list:
    cleaned: list = []
    for out in outputs:
        if out.get("output_type") == "stream":
            if cleaned and cleaned[-1].get("output_type") == "stream" and cleaned[-1]["name"] == out["name"]:
                cleaned[-1]["text"] += out["text"]
            else:
                cleaned.append(out)
            continue
        data = out.get("data")
        if data is not None:
            if WIDGET_MIME in data:
                continue
            if "image/png" in data:
                data["image/png"] = shrink_png(data["image/png"])
                out.get("metadata", {}).pop("image/png", None)  # width/height of the original
        cleaned.append(out)
    for out in cleaned:
        if out.get("output_type") == "stream":
            out["text"] = collapse_similar_lines(drop_local_paths(collapse_carriage_returns(out["text"])))
    return [o for o in cleaned if o.get("output_type") != "stream" or o["text"].strip()]


def clean_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = clean_outputs(cell.outputs)
    nb.metadata.pop("widgets", None)
    return nb


def main(paths: list[str]) -> int:
    if not paths:
        print("usage: python scripts/clean_executed.py NOTEBOOK.ipynb ...", file=sys.stderr)
        return 2
    for name in paths:
        path = Path(name)
        before = path.read_text()
        text = nbformat.writes(clean_notebook(nbformat.reads(before, as_version=4))) + "\n"
        if text != before:
            tmp = path.with_suffix(".ipynb.tmp")
            tmp.write_text(text)
            tmp.replace(path)
            print(f"{path}: {len(before.encode()) // 1024} KB -> {len(text.encode()) // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
