"""``python -m zoo.tuning RECIPE ...``: see ``zoo.tuning.cli``."""

import sys

from zoo import _quiet
from zoo.tuning.cli import run

if __name__ == "__main__":
    _quiet.install()  # a sweep's worker processes start as quietly as `zoo tune`
    sys.exit(run())
