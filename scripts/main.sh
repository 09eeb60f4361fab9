#!/usr/bin/env bash
# The main job: train the chorale-generation recipe (one-to-many LSTM on Bach's
# soprano lines, embedded data), write sampled chorales as MIDI files and a
# piano roll, and export a SavedModel to saved_models/chorale_generation/.
# Extra arguments go to `zoo train` (e.g. `--epochs 5`, `--set units=128`).
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
zoo train chorale_generation "$@"
