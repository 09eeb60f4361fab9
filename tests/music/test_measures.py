"""zoo.music.measures against hand-counted examples."""

import pytest

from zoo.music import measures

BAR = 16


def _two(upper, lower):
    """Two voices of half-bar notes: lists of pitches, 8 steps each."""
    return {"soprano": [p for p in upper for _ in range(8)],
            "bass": [p for p in lower for _ in range(8)]}


@pytest.mark.parametrize("upper, lower, count, what", [
    ([67, 69], [48, 50], 1, "fifth to fifth, both up"),
    ([72, 74], [48, 50], 1, "octave (two octaves) to octave, both up"),
    ([67, 65], [48, 46], 1, "fifth to fifth, both down"),
    ([67, 69], [48, 46], 0, "contrary motion"),
    ([67, 67], [48, 50], 0, "oblique: the upper voice holds"),
    ([67, 69], [48, 48], 0, "oblique: the lower voice holds"),
    ([67, 71], [48, 52], 1, "fifth to fifth a third higher (G/C to B/E)"),
    ([64, 67], [48, 48], 0, "third to fifth: a fifth arrived at, not parallel"),
    ([67, 74], [48, 55], 1, "fifths a fifth apart, both up"),
    ([60, 62], [67, 69], 1, "fifths with the voices crossed (the lower one on top)"),
    ([67, 69], [72, 74], 0, "fourths with the voices crossed: not fifths"),
    ([72, 74], [67, 69], 0, "fourths, both up"),
])
def test_parallel_fifths_and_octaves(upper, lower, count, what):
    got = measures.measure(_two(upper, lower), "C major")["parallels_per_bar"]
    assert got == count, what  # one bar


def test_parallels_count_every_pair_of_voices_per_bar():
    voices = {"soprano": [79] * 8 + [81] * 8 + [81] * 16,
              "alto": [72] * 8 + [74] * 8 + [74] * 16,
              "bass": [60] * 8 + [62] * 8 + [62] * 16}
    # soprano-alto: fifth -> fifth; soprano-bass: 19 -> 19 (fifth); alto-bass: octave ->
    # octave; all three up together: 3 parallels over 2 bars.
    assert measures.measure(voices, "C major")["parallels_per_bar"] == 1.5


def test_a_crossing_is_counted_once_per_onset_where_a_lower_voice_sounds_above():
    voices = {"soprano": [67] * 8 + [64] * 8 + [64] * 16,
              "alto": [60] * 8 + [65] * 8 + [62] * 16}
    # onsets: 0 (no crossing), 8 (alto 65 above soprano 64), 16 (alto 62 below): 1 in 2 bars
    assert measures.measure(voices, "C major")["crossings_per_bar"] == 0.5
    resting = {"soprano": [0] * 16, "alto": [65] * 16}
    assert measures.measure(resting, "C major")["crossings_per_bar"] == 0.0
    # While the alto rests, the tenor above the soprano is still a crossing.
    past_a_rest = {"soprano": [64] * 16, "alto": [0] * 16, "tenor": [67] * 16,
                   "bass": [48] * 16}
    assert measures.measure(past_a_rest, "C major")["crossings_per_bar"] == 1.0


def test_in_key_counts_notes_not_steps_over_every_voice():
    one = {"soprano": [60] * 12 + [66] * 4}           # C held, then F#: one of two notes out
    assert measures.measure(one, "C major")["in_key_fraction"] == 0.5
    two = {"soprano": [60] * 8 + [66] * 8, "bass": [48] * 8 + [43] * 8}
    assert measures.measure(two, "C major")["in_key_fraction"] == 0.75
    assert measures.measure(two, "G major")["in_key_fraction"] == 1.0


def test_range_and_mean_interval_skip_rests():
    voices = {"soprano": [60] * 4 + [67] * 4 + [0] * 4 + [64] * 4}
    m = measures.measure(voices, "C major")
    assert m["soprano_range"] == 7.0
    assert m["soprano_mean_interval"] == 5.0  # |67-60| and |64-67|
    assert m["longest_note"] == 4.0  # the rest of 4 steps does not count
    assert "crossings_per_bar" not in m and "parallels_per_bar" not in m


def test_the_longest_note_is_the_longest_of_any_voice():
    voices = {"soprano": [67] * 4 + [69] * 4 + [0] * 24, "bass": [48] * 20 + [43] * 12}
    assert measures.measure(voices, "C major")["longest_note"] == 20.0


def test_the_tonic_ending_reads_the_lowest_voice():
    cadence = {"soprano": [62] * 8 + [60] * 8, "bass": [43] * 8 + [36] * 8}
    assert measures.measure(cadence, "C major")["tonic_ending"] == 1.0
    assert measures.measure(cadence, "G major")["tonic_ending"] == 0.0
    half = {"soprano": [64] * 8 + [62] * 8, "bass": [48] * 8 + [43] * 8}
    assert measures.measure(half, "C major")["tonic_ending"] == 0.0
    assert measures.measure({"soprano": [69] * 16}, "A minor")["tonic_ending"] == 1.0


def test_key_agreement_is_music21s_analysis_against_the_request():
    cadence = {"soprano": [64] * 8 + [65] * 8 + [62] * 8 + [60] * 8,
               "bass": [48] * 8 + [41] * 8 + [43] * 8 + [36] * 8}
    assert measures.measure(cadence, "C major")["key_agreement"] == 1.0
    assert measures.measure(cadence, "F# major")["key_agreement"] == 0.0


def test_summaries_average_each_measure_and_count_pieces():
    a = {"in_key_fraction": 1.0, "crossings_per_bar": 0.5}
    b = {"in_key_fraction": 0.5}
    assert measures.summarize([a, b]) == {"in_key_fraction": 0.75, "crossings_per_bar": 0.5,
                                          "pieces": 2}
    rows = measures.comparison_rows({"x": 0.9, "y": 1.0, "pieces": 2},
                                    {"x": 1.0, "pieces": 5})
    assert rows == [("x", 0.9, 1.0, pytest.approx(-0.1))]
