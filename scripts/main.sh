#!/usr/bin/env bash
# The main job: four-part chorales. Trains the chorale-generation recipe (a
# key-conditioned LSTM writes the soprano, one-to-many) and its harmoniser (alto,
# tenor and bass, many-to-many) on Bach's chorales (embedded data), writes the
# chorales as MIDI, MusicXML, piano rolls and, with fluidsynth, audio, measures them
# beside Bach's, writes the listening page runs/chorale_generation/samples/index.html,
# and exports a SavedModel to saved_models/chorale_generation/.
# Extra arguments go to `zoo train` (e.g. `--epochs 5`, `--set model.units=256`, `--set harmonizer.epochs=10`).
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
zoo train chorale_generation "$@"
