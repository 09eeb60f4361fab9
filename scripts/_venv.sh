# Sourced by the scripts in this folder: create (once) and reuse the
# virtual environment at .venv in the repository root, and keep it in step
# with pyproject.toml.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
    echo "[setup] creating .venv with $($PY --version)"
    "$PY" -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
fi
# Reinstall only when pyproject.toml changed since the last install.
STAMP=.venv/.zoo-installed
WANT="$(sha256sum pyproject.toml | cut -d' ' -f1)-${ZOO_EXTRAS:-test}"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
    echo "[setup] installing rnn-zoo and its dependencies into .venv (about a minute)"
    .venv/bin/python -m pip install --quiet -e ".[${ZOO_EXTRAS:-test}]"
    echo "$WANT" > "$STAMP"
fi
export PATH="$ROOT/.venv/bin:$PATH"
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
