"""Shared part of the chorale recipes (chorale_generation, chorale_harmonization):
the data, cut into pieces, and the transposition that gives every piece all 12 keys."""

import numpy as np

# Transpositions of a training piece, in semitones: every key once (a tritone up
# or down is the same key; +6 is kept, -6 left out).
SHIFTS = tuple(range(-5, 7))


def load_chorales(voices, split, *, max_chorales=0, data_dir=None):
    """One split of ``bach_chorales/<voices>`` ("soprano" or "four_voices") as a
    ``tf.data.Dataset``; with ``max_chorales`` > 0, built from only the first
    ``max_chorales`` chorales of the corpus (a quick subset, its own config)."""
    import zoo.data

    if not max_chorales:
        return zoo.data.load(f"bach_chorales/{voices}", split, data_dir=data_dir)
    from zoo.data.builders.bach_chorales import BachChoralesConfig

    return zoo.data.load("bach_chorales", split, data_dir=data_dir, config=BachChoralesConfig(
        name=f"{voices}_first_{max_chorales}", voices=voices, max_chorales=max_chorales))


def pieces(chorales, max_steps):
    """Cut each chorale (a dict of equal-length arrays along axis 0, plus scalars) into
    pieces of `max_steps` steps; a last piece shorter than half of that is left out."""
    out = []
    for chorale in chorales:
        arrays = {k: v for k, v in chorale.items() if np.ndim(v) >= 1}
        length = len(next(iter(arrays.values())))
        for start in range(0, length, max_steps):
            piece = {k: v[start:start + max_steps] for k, v in arrays.items()}
            if len(next(iter(piece.values()))) >= max_steps // 2:
                out.append({**{k: v for k, v in chorale.items() if k not in arrays}, **piece})
    return out


def transposition_shifts(rng, size, transpose):
    """Semitone shifts for `size` pieces: uniform over :data:`SHIFTS` when
    `transpose`, else zeros."""
    if not transpose:
        return np.zeros(size, np.int64)
    return rng.choice(np.asarray(SHIFTS), size=size)
