"""``python -m zoo.tuning RECIPE ...``: see ``zoo.tuning.cli``."""

import sys

from zoo.tuning.cli import run

if __name__ == "__main__":
    sys.exit(run())  # quiet as `zoo tune` (zoo._quiet), errors in one line (zoo._cli_errors)
