"""zoo.music.notation: keys, voices, and scores written and read back through music21."""

import numpy as np
import pytest

from zoo.music import notation

FOUR = {"soprano": [67] * 8 + [69] * 4 + [71] * 4 + [72] * 16,
        "alto": [64] * 16 + [65] * 8 + [64] * 8,
        "tenor": [0] * 4 + [60] * 12 + [62] * 16,
        "bass": [48] * 16 + [43] * 8 + [48] * 8}


@pytest.mark.parametrize("name, expected", [
    ("C major", (0, "major")), ("Eb minor", (3, "minor")), ("E- minor", (3, "minor")),
    ("c# minor", (1, "minor")), ("Db major", (1, "major")), ("  B minor ", (11, "minor"))])
def test_key_names_and_music21_spellings_parse_to_a_tonic_and_mode(name, expected):
    assert notation.parse_key(name) == expected


@pytest.mark.parametrize("name", ["H major", "C dorian", "major", "", "C  major  x"])
def test_an_unknown_key_names_what_was_received_and_the_valid_keys(name):
    with pytest.raises(ValueError, match="unknown key") as err:
        notation.parse_key(name)
    assert repr(name) in str(err.value) and "Eb minor" in str(err.value)


def test_keys_transpose_round_the_circle():
    assert notation.transpose_key("C major", 2) == "D major"
    assert notation.transpose_key("B minor", 1) == "C minor"
    assert notation.transpose_key("C# minor", -2) == "B minor"
    assert len(set(notation.KEYS)) == 24


def test_transposing_a_voice_moves_notes_and_keeps_rests():
    np.testing.assert_array_equal(notation.transpose([60, 0, 62], 3), [63, 0, 65])
    np.testing.assert_array_equal(notation.transpose([60, 0, 62], -12), [48, 0, 50])


@pytest.mark.parametrize("pitch, name", [(60, "C4"), (75, "Eb5"), (21, "A0"), (47, "B2")])
def test_note_names_are_scientific_pitch_names(pitch, name):
    assert notation.note_name(pitch) == name


def test_scales_hold_major_and_minor_with_its_raised_sixth_and_seventh():
    c_major = [60, 62, 64, 65, 67, 69, 71]
    assert notation.in_scale(c_major, "C major").all()
    assert not notation.in_scale([61, 66, 70], "C major").any()
    # A minor: natural minor plus F# and G#; C# and D# are out.
    a_minor = [69, 71, 72, 74, 76, 77, 78, 79, 80]
    assert notation.in_scale(a_minor, "A minor").all()
    assert not notation.in_scale([61, 63, 70], "A minor").any()


def test_notes_are_runs_of_equal_steps():
    assert notation.notes([60, 60, 0, 62, 62, 62]) == [(0, 2, 60), (2, 1, 0), (3, 3, 62)]


def test_voices_are_ordered_high_to_low_and_bad_voices_are_named():
    checked = notation.check_voices({"bass": [48], "soprano": [72], "alto": [65]})
    assert list(checked) == ["soprano", "alto", "bass"]
    with pytest.raises(ValueError, match="same number of steps.*'soprano': 2, 'bass': 1"):
        notation.check_voices({"soprano": [60, 60], "bass": [48]})
    with pytest.raises(ValueError, match=r"voice 'alto'.*\[0, 127\].*\[60, 128\]"):
        notation.check_voices({"alto": [60, 128]})
    with pytest.raises(ValueError, match="voice 'tenor'.*integer.*float64"):
        notation.check_voices({"tenor": [60.0, 61.5]})
    with pytest.raises(ValueError, match="non-empty dict.*list"):
        notation.check_voices([[60]])


def _parsed(path):
    from music21 import converter

    return converter.parse(str(path))


def test_a_midi_file_holds_one_track_per_voice_with_the_same_notes(tmp_path):
    path = notation.write_score(FOUR, "C major", tmp_path / "piece.mid")
    score = _parsed(path)
    assert len(score.parts) == 4
    steps = len(FOUR["soprano"])
    for part, (name, voice) in zip(score.parts, FOUR.items()):
        np.testing.assert_array_equal(notation.part_to_pitches(part, steps), voice,
                                      err_msg=name)


def test_musicxml_names_the_voices_and_has_key_metre_and_a_final_fermata(tmp_path):
    path = notation.write_score(FOUR, "D major", tmp_path / "piece.musicxml", title="T")
    score = _parsed(path)
    assert [p.partName for p in score.parts] == ["Soprano", "Alto", "Tenor", "Bass"]
    for part in score.parts:
        flat = part.flatten()
        assert flat.getElementsByClass("KeySignature")[0].sharps == 2
        assert flat.getElementsByClass("TimeSignature")[0].ratioString == "4/4"
        last = flat.notes[-1]
        assert [e.classes[0] for e in last.expressions] == ["Fermata"]
        assert all(not n.expressions for n in flat.notes[:-1])
    steps = len(FOUR["soprano"])
    np.testing.assert_array_equal(notation.part_to_pitches(score.parts[2], steps),
                                  FOUR["tenor"])


def test_an_unknown_score_suffix_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"\.mid, \.midi, \.musicxml or \.xml.*piece\.wav"):
        notation.write_score(FOUR, "C major", tmp_path / "piece.wav")


def test_a_melody_is_read_back_from_the_top_voice_without_rests_around_it(tmp_path):
    melody = {"soprano": [0] * 4 + [64] * 8 + [65] * 8 + [62] * 8 + [71] * 4 + [72] * 12,
              "bass": [0] * 4 + [48] * 8 + [41] * 8 + [43] * 12 + [36] * 12}
    path = notation.write_score(melody, "C major", tmp_path / "m.mid")
    pitches, key = notation.read_melody(str(path))
    np.testing.assert_array_equal(pitches, melody["soprano"][4:])
    assert key == "C major"


def test_a_file_that_is_not_a_score_or_holds_no_note_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no file at"):
        notation.read_melody(str(tmp_path / "missing.mid"))
    junk = tmp_path / "junk.mid"
    junk.write_bytes(b"not a midi file at all")
    with pytest.raises(ValueError, match="junk.mid: music21 cannot read it"):
        notation.read_melody(str(junk))
    silent = notation.write_score({"soprano": [0] * 16}, "C major", tmp_path / "silent.mid")
    with pytest.raises(ValueError, match="holds no note"):
        notation.read_melody(str(silent))


def test_music21s_key_analysis_reads_a_cadence_in_its_key():
    voices = {"soprano": [64] * 8 + [65] * 8 + [62] * 8 + [60] * 8,
              "bass": [48] * 8 + [41] * 8 + [43] * 8 + [36] * 8}
    assert notation.analysed_key(voices) == "C major"
    moved = {k: notation.transpose(v, 3) for k, v in voices.items()}
    assert notation.analysed_key(moved) == "Eb major"
    assert notation.analysed_key({"soprano": [0] * 8}) is None


@pytest.mark.parametrize("key, midi, name", [
    ("F minor", [68, 61, 70], ["A-4", "D-4", "B-4"]),   # the signature's flats
    ("A minor", [68, 69], ["G#4", "A4"]),              # the raised seventh
    ("F# major", [65, 66], ["E#4", "F#4"]),            # the leading note of F#
    ("C# major", [72, 73], ["B#4", "C#5"]),            # B# is MIDI 72, an octave edge
    ("C minor", [71, 63], ["B4", "E-4"]),              # raised seventh beside the flats
])
def test_musicxml_spells_each_note_as_its_key_does(tmp_path, key, midi, name):
    voices = {"soprano": [p for p in midi for _ in range(4)]}
    path = notation.write_score(voices, key, tmp_path / "piece.musicxml")
    got = [n.pitch for n in _parsed(path).parts[0].flatten().notes]
    assert [p.nameWithOctave for p in got] == name
    assert [p.midi for p in got] == midi
