"""`python -m inheritune_core.experiments.lowdata`: the CLI (cli.py)."""

import sys

from .cli import main

sys.exit(main())
