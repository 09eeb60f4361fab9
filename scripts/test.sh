#!/usr/bin/env bash
# Run the test suite: the whole suite on the TensorFlow backend, then the
# backend-neutral tests (marked `jax`) again on the JAX backend.
#
# The default suite leaves out tests marked `slow`; they run as well when
# ZOO_TEST_SLOW=1 is set, and always in CI (CI=true).
# Extra arguments go to both pytest runs (e.g. `-k lstm`, `-x`, `-m slow`).
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
if [ "${ZOO_TEST_SLOW:-0}" = "1" ] || [ "${CI:-false}" = "true" ]; then
    TF_MARKERS=""
    JAX_MARKERS="jax"
else
    TF_MARKERS="not slow"
    JAX_MARKERS="jax and not slow"
fi
echo "[test] TensorFlow backend (markers: '${TF_MARKERS:-all}')"
KERAS_BACKEND=tensorflow python -m pytest -n 2 -m "$TF_MARKERS" "$@"
echo "[test] JAX backend (markers: '$JAX_MARKERS')"
KERAS_BACKEND=jax python -m pytest -n 2 -m "$JAX_MARKERS" "$@"
