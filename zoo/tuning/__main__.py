"""``python -m zoo.tuning RECIPE ...``: see ``zoo.tuning.cli``."""

import sys

from zoo.tuning.cli import run

if __name__ == "__main__":
    sys.exit(run())
