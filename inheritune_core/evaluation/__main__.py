"""`python -m inheritune_core.evaluation run --model DIR --tasks piqa,arc_easy` (or `tasks --out DIR`)."""

import sys

from .harness import main

sys.exit(main())
