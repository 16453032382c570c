"""`python -m inheritune_core.training --preset gpt2-medium --scale tiny --data data/english --out runs/x`."""

import sys

from .cli import main

sys.exit(main())
