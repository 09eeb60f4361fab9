"""What a sweep may be asked for, readable without importing Keras or keras-tuner.

The tuner names, the default folders and addresses, and this process's role
in a distributed sweep (keras-tuner's public ``KERASTUNER_TUNER_ID``,
``KERASTUNER_ORACLE_IP`` and ``KERASTUNER_ORACLE_PORT`` variables). The
``zoo tune`` command line builds its help from here, so ``zoo tune --help``
stays light.
"""

import os

TUNERS = ("random", "hyperband", "bayesian")
DEFAULT_DIRECTORY = "tuning"
DEFAULT_ORACLE_IP = "127.0.0.1"
DEFAULT_ORACLE_PORT = 8000
DISTRIBUTED_TRIAL_TIMEOUT = 120.0


def is_distributed():
    """True when the keras-tuner environment names a chief oracle."""
    return "KERASTUNER_ORACLE_IP" in os.environ


def is_chief():
    return is_distributed() and "chief" in os.environ.get("KERASTUNER_TUNER_ID", "")


def is_worker():
    return is_distributed() and not is_chief()
