"""Moved into the package: the depth sweep is the `depth_sweep` artifact (inheritune_core/experiments/depth_sweep.py,
report/depth_sweep.py, notebooks/depth_sweep.ipynb, `make depth_sweep SCALE=cpu`). This forwards to its CLI:

    python benchmarks/depth_sweep.py run --scale cpu --workers 2 --threads 1   # = python -m inheritune_core.experiments.depth_sweep run ...
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from inheritune_core.experiments.depth_sweep import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
