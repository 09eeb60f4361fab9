#!/usr/bin/env bash
# The main job: train a small model on the embedded default data and show
# what it learned. Extra arguments are passed to the job.
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
python -m recipes.lstm_demo "$@"
