"""`python -m inheritune_core.data prepare ...`: tokenize a corpus into token files (see `data.corpora`)."""

import sys

from .corpora import main

sys.exit(main())
