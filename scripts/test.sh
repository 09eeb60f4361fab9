#!/usr/bin/env bash
# Run the test suite: flake8, the whole suite on the TensorFlow backend, then
# the backend-neutral tests (marked `jax`) again on the JAX backend.
#
# The default suite leaves out tests marked `slow`; the TensorFlow run
# includes them when ZOO_TEST_SLOW=1 is set, and always in CI (CI=true).
# The JAX run takes the default (not slow) jax-marked tests; ZOO_TEST_SLOW_JAX=1
# adds the slow ones (the full layer option matrix again, about 30 minutes).
# --dist loadgroup keeps each module marked xdist_group on one worker, so its
# module-scoped fixtures (tiny trainings and exports) are built once, not twice.
# Extra arguments go to both pytest runs (e.g. `-k lstm`, `-x`, `-m slow`).
# The Debian packages of the browser and audio tests are installed first when
# missing (scripts/_system_packages.sh; ZOO_NO_APT=1 skips that).
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
source "$(dirname "${BASH_SOURCE[0]}")/_system_packages.sh"
if [ "${ZOO_TEST_SLOW:-0}" = "1" ] || [ "${CI:-false}" = "true" ]; then
    TF_MARKERS=""
else
    TF_MARKERS="not slow"
fi
if [ "${ZOO_TEST_SLOW_JAX:-0}" = "1" ]; then
    JAX_MARKERS="jax"
else
    JAX_MARKERS="jax and not slow"
fi
echo "[test] flake8 (configuration in setup.cfg)"
python -m flake8
echo "[test] TensorFlow backend (markers: '${TF_MARKERS:-all}')"
KERAS_BACKEND=tensorflow python -m pytest -n 2 --dist loadgroup -m "$TF_MARKERS" "$@"
echo "[test] JAX backend (markers: '$JAX_MARKERS')"
KERAS_BACKEND=jax python -m pytest -n 2 --dist loadgroup -m "$JAX_MARKERS" "$@"
