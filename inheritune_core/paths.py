"""Where the package keeps data, runs and results.

Defaults live inside the project (the folder holding `inheritune_core/`), so a clone is self-contained;
environment variables move them: INHERITUNE_DATA_DIR, INHERITUNE_RUNS_DIR, INHERITUNE_RESULTS_DIR,
INHERITUNE_PAPER_DIR (rendered tables and figures).
torch.compile's cache goes under runs/ too (TORCHINDUCTOR_CACHE_DIR), never into a shared /tmp folder.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
# results/<this>/ holds every CSV of Appendix B (experiments.lowdata writes them, report.lowdata reads them).
LOWDATA_RESULTS = "table5_lowdata"


# Each location takes an optional override (a notebook's `runs_dir = None` parameter passes straight through).
def data_dir(override: str | os.PathLike | None = None) -> Path:
    return Path(override or os.environ.get("INHERITUNE_DATA_DIR", PROJECT_DIR / "data"))


def runs_dir(override: str | os.PathLike | None = None) -> Path:
    return Path(override or os.environ.get("INHERITUNE_RUNS_DIR", PROJECT_DIR / "runs"))


def results_dir(override: str | os.PathLike | None = None) -> Path:
    return Path(override or os.environ.get("INHERITUNE_RESULTS_DIR", PROJECT_DIR / "results"))


def paper_dir(override: str | os.PathLike | None = None) -> Path:
    # A test or a second checkout redirects it too, so the committed paper/ files are never touched.
    return Path(override or os.environ.get("INHERITUNE_PAPER_DIR", PROJECT_DIR / "paper"))


def shared_evaldata_dir() -> Path:
    """The offline evaluation sets (../shared/evaldata beside the checkout), or INHERITUNE_EVALDATA_DIR."""
    return Path(os.environ.get("INHERITUNE_EVALDATA_DIR", PROJECT_DIR.parent / "shared" / "evaldata"))


def set_compile_cache() -> None:
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(runs_dir() / ".inductor_cache"))
