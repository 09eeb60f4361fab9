"""Version numbers for the guards of the workaround modules
(zoo/layers/_tf_xla_context.py, zoo/training/_multi_worker.py, zoo/tuning/_upstream.py)."""

import re


def major_minor(text):
    """``(major, minor)`` of a version string: ``"3.15.0"`` -> ``(3, 15)``,
    ``"2.21.0rc1"`` -> ``(2, 21)``, ``"1.4"`` -> ``(1, 4)``."""
    match = re.match(r"(\d+)(?:\.(\d+))?", str(text))
    if match is None:
        raise ValueError(f"Not a version number. Received: {text!r}")
    return tuple(int(g) for g in match.groups() if g is not None)
