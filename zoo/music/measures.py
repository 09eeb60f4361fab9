"""Musical measures of voices on a 16th-note grid, the same for generated music and Bach.

:func:`measure` takes one piece (voices, see :mod:`zoo.music.notation`) and the key it
was asked to be in; :func:`summarize` averages many. The measures:

- ``in_key_fraction``: notes (not steps: a held note counts once) whose pitch class
  is in the key's scale (major; minor with its raised sixth and seventh), all voices;
- ``key_agreement``: 1.0 when music21's key analysis (Krumhansl-Schmuckler, over all
  voices) names the requested key, else 0.0; averaged, the share of pieces;
- per voice ``<voice>_range`` (semitones from lowest to highest note) and
  ``<voice>_mean_interval`` (mean absolute step between consecutive notes, rests
  skipped);
- ``longest_note``: the longest note of any voice, in 16ths (a held note's steps);
- with two voices or more: ``crossings_per_bar`` (note onsets at which some voice
  sounds above the voice written above it, per 4/4 bar) and
  ``parallels_per_bar`` (consecutive fifths or octaves: two voices a perfect fifth or
  an octave/unison apart, modulo the octave, move in the same direction to the same
  interval, per bar);
- ``tonic_ending``: 1.0 when the last note of the lowest voice (of the melody, alone)
  is the key's tonic.
"""

import numpy as np

from zoo.music import notation

PERFECT = (0, 7)  # unison/octave and fifth, modulo 12


def measure(voices, key):
    """The measures of one piece (a dict, see the module docstring)."""
    voices = notation.check_voices(voices)
    tonic, _ = notation.parse_key(key)
    runs = {name: [(s, n, p) for s, n, p in notation.notes(v) if p] for name, v in voices.items()}
    pitches = np.array([p for rs in runs.values() for _, _, p in rs], np.int64)
    out = {"in_key_fraction": float(np.mean(notation.in_scale(pitches, key)))
           if pitches.size else 0.0,
           "key_agreement": float(notation.analysed_key(voices) == notation.key_name(
               *notation.parse_key(key)))}
    for name, rs in runs.items():
        ps = np.array([p for _, _, p in rs], np.int64)
        out[f"{name}_range"] = float(ps.max() - ps.min()) if ps.size else 0.0
        out[f"{name}_mean_interval"] = float(np.mean(np.abs(np.diff(ps)))) if ps.size > 1 \
            else 0.0
    out["longest_note"] = float(max((n for rs in runs.values() for _, n, _ in rs), default=0))
    steps = len(next(iter(voices.values())))
    bars = steps / notation.STEPS_PER_BAR
    if len(voices) > 1:
        grid = np.stack(list(voices.values()))  # (voices, steps), high to low
        out["crossings_per_bar"] = _crossings(grid) / bars
        out["parallels_per_bar"] = _parallels(grid) / bars
    lowest = list(runs.values())[-1]
    out["tonic_ending"] = float(bool(lowest) and lowest[-1][2] % 12 == tonic)
    return out


def _onsets(grid):
    """Steps at which some voice starts a note or a rest."""
    change = np.any(grid[:, 1:] != grid[:, :-1], axis=0)
    return np.concatenate([[0], np.nonzero(change)[0] + 1])


def _crossings(grid):
    """Onsets at which a voice sounds above the nearest sounding voice written above it
    (a resting voice between them is passed over)."""
    count = 0
    for t in _onsets(grid):
        sounding = grid[:, t][grid[:, t] > 0]  # in written order, top voice first
        count += int(np.any(sounding[1:] > sounding[:-1]))
    return count


def _parallels(grid):
    """Consecutive perfect fifths/octaves between any two voices, from one onset to the next."""
    onsets = _onsets(grid)
    count = 0
    for a, b in zip(onsets[:-1], onsets[1:]):
        before, after = grid[:, a], grid[:, b]
        for i in range(len(grid)):
            for j in range(i + 1, len(grid)):
                if min(before[i], before[j], after[i], after[j]) == 0:
                    continue
                move_i, move_j = after[i] - before[i], after[j] - before[j]
                if move_i == 0 or np.sign(move_i) != np.sign(move_j):
                    continue
                # The interval between the two, whichever is on top (voices may cross).
                was = abs(before[i] - before[j]) % 12
                now = abs(after[i] - after[j]) % 12
                count += int(was == now and now in PERFECT)
    return count


def summarize(measured):
    """The mean of each measure over a list of :func:`measure` dicts (measures that
    some pieces lack are averaged over those that have them), plus ``pieces``."""
    names = []
    for m in measured:
        names += [k for k in m if k not in names]
    out = {k: float(np.mean([m[k] for m in measured if k in m])) for k in names}
    out["pieces"] = len(measured)
    return out


def comparison_rows(generated, reference, names=None):
    """Rows (measure, generated, reference, difference) of two :func:`summarize` dicts,
    for a table; `names` picks and orders the measures (default: those both have)."""
    names = names or [k for k in generated if k in reference and k != "pieces"]
    return [(k, generated[k], reference[k], generated[k] - reference[k]) for k in names
            if k in generated and k in reference]
