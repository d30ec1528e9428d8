"""``python -m bench [--quick | --tiny] [--json PATH] [--check BASELINE] [--chart DIR]``."""

import sys

from bench.run import main

sys.exit(main())
