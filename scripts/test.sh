#!/usr/bin/env bash
# Run the test suite: flake8, the whole suite on the TensorFlow backend, then
# the backend-neutral tests (marked `jax`) again on the JAX backend.
#
# Three tiers (tests/README.md gives each one's time and what it adds):
# - default (`bash scripts/test.sh`): leaves out the tests marked `slow` (over
#   about 2 s each: real processes, recipes trained end to end, fits compiled on
#   JAX) and `exhaustive`;
# - CI (CI=true, or ZOO_TEST_SLOW=1): adds the `slow` tests to both runs;
# - exhaustive (ZOO_TEST_EXHAUSTIVE=1): adds the `exhaustive` tests, and the full
#   products of the option axes in place of their pairwise covering sets
#   (tests/covering.py), with XLA at its default optimisations.
# Both runs print their 25 slowest tests, and pytest-timeout ends a test that
# hangs (ZOO_TEST_TIMEOUT seconds, default 900).
# Extra arguments go to both pytest runs (e.g. `-k lstm`, `-x`, `-m slow`).
# The Debian packages of the browser and audio tests are installed first when
# missing (scripts/_system_packages.sh; ZOO_NO_APT=1 skips that).
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
source "$(dirname "${BASH_SOURCE[0]}")/_system_packages.sh"
if [ "${ZOO_TEST_EXHAUSTIVE:-0}" = "1" ]; then
    TF_MARKERS=""
    JAX_MARKERS="jax"
    # The other tiers ask XLA to compile fast (tests/helpers.py); this one also checks
    # the code XLA emits at its defaults, as users run it.
    export ZOO_TEST_XLA_OPTIMIZE="${ZOO_TEST_XLA_OPTIMIZE:-1}"
elif [ "${ZOO_TEST_SLOW:-0}" = "1" ] || [ "${CI:-false}" = "true" ]; then
    TF_MARKERS="not exhaustive"
    JAX_MARKERS="jax and not exhaustive"
else
    TF_MARKERS="not slow and not exhaustive"
    JAX_MARKERS="jax and not slow and not exhaustive"
fi
# Let Python cache the bytecode of zoo, recipes and tests (their __pycache__ folders are
# git-ignored): the suite starts hundreds of Python processes, and where the shell sets
# PYTHONDONTWRITEBYTECODE each of them would compile those modules again.
unset PYTHONDONTWRITEBYTECODE
COMMON=(-n 2 --dist loadgroup --durations=25 --timeout="${ZOO_TEST_TIMEOUT:-900}")
echo "[test] flake8 (configuration in setup.cfg)"
python -m flake8
echo "[test] TensorFlow backend (markers: '${TF_MARKERS:-all}')"
KERAS_BACKEND=tensorflow python -m pytest "${COMMON[@]}" -m "$TF_MARKERS" "$@"
echo "[test] JAX backend (markers: '$JAX_MARKERS')"
KERAS_BACKEND=jax python -m pytest "${COMMON[@]}" -m "$JAX_MARKERS" "$@"
