"""Voices on a 16th-note grid <-> music21 scores, MIDI and MusicXML files.

A *voice* is a sequence of MIDI pitches, one per 16th note (``STEPS_PER_QUARTER``
steps a quarter), 0 for a rest; a note held for n steps repeats its pitch n times.
*Voices* are a dict name -> voice (``VOICES`` order: soprano, alto, tenor, bass), all
of one length. A *key* is one of the 24 names of ``KEYS`` ("D major", "Eb minor").
"""

import numpy as np

STEPS_PER_QUARTER = 4
STEPS_PER_BAR = 4 * STEPS_PER_QUARTER  # 4/4, as the chorales are written
PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
KEYS = tuple(f"{p} major" for p in PITCH_NAMES) + tuple(f"{p} minor" for p in PITCH_NAMES)
VOICES = ("soprano", "alto", "tenor", "bass")
MIDI_FILE_SUFFIXES = (".mid", ".midi")
SCORE_FILE_SUFFIXES = MIDI_FILE_SUFFIXES + (".xml", ".musicxml", ".mxl", ".krn", ".abc")
# The scale degrees of a key above its tonic: major, and minor with its raised
# sixth and seventh (natural, harmonic and melodic minor together).
SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 9, 10, 11)}


def parse_key(name):
    """(tonic pitch class 0-11, "major" | "minor") of a key name of ``KEYS``; music21's
    spellings ("E- minor", "c# minor") are read too. A ValueError names the valid keys."""
    text = str(name).strip()
    parts = text.split()
    if len(parts) == 2 and parts[1].lower() in SCALES:
        tonic = parts[0][:1].upper() + parts[0][1:].replace("-", "b")
        aliases = {"Db": "C#", "D#": "Eb", "Gb": "F#", "G#": "Ab", "A#": "Bb", "Cb": "B",
                   "Fb": "E", "E#": "F", "B#": "C"}
        tonic = aliases.get(tonic, tonic)
        if tonic in PITCH_NAMES:
            return PITCH_NAMES.index(tonic), parts[1].lower()
    raise ValueError(f"unknown key {name!r}; expected a tonic and a mode, one of: "
                     f"{', '.join(KEYS)}")


def key_name(tonic, mode):
    """The ``KEYS`` name of (tonic pitch class, mode)."""
    return f"{PITCH_NAMES[int(tonic) % 12]} {mode}"


def transpose_key(name, semitones):
    """`name` moved by `semitones` ("C major", 2 -> "D major")."""
    tonic, mode = parse_key(name)
    return key_name(tonic + semitones, mode)


def transpose(voice, semitones):
    """`voice` (any int array; 0 = rest stays 0) moved by `semitones`."""
    voice = np.asarray(voice, np.int32)
    return np.where(voice > 0, voice + int(semitones), 0).astype(np.int32)


def note_name(pitch):
    """MIDI pitch -> scientific name ("C4" = 60, "Eb5")."""
    return f"{PITCH_NAMES[int(pitch) % 12]}{int(pitch) // 12 - 1}"


def in_scale(pitches, key):
    """Boolean array: which of `pitches` (MIDI, > 0) belong to the scale of `key`."""
    tonic, mode = parse_key(key)
    degrees = np.asarray(SCALES[mode])
    return np.isin((np.asarray(pitches, np.int64) - tonic) % 12, degrees)


def check_voices(voices):
    """`voices` as an ordered dict name -> int32 array, all of one length (> 0 steps).
    A ValueError says what was received."""
    if not isinstance(voices, dict) or not voices:
        raise ValueError(f"voices must be a non-empty dict of name -> MIDI pitches per 16th "
                         f"note. Received: {type(voices).__name__}")
    out = {}
    for name, voice in voices.items():
        array = np.asarray(voice)
        if array.ndim != 1 or array.size == 0 or array.dtype.kind not in "iu":
            raise ValueError(f"voice {name!r} must be a non-empty 1-D sequence of integer MIDI "
                             f"pitches (0 = rest). Received: shape {array.shape}, dtype "
                             f"{array.dtype}")
        if array.min() < 0 or array.max() > 127:
            raise ValueError(f"voice {name!r}: MIDI pitches must lie in [0, 127] (0 = rest). "
                             f"Received: [{array.min()}, {array.max()}]")
        out[name] = array.astype(np.int32)
    lengths = {name: len(v) for name, v in out.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"all voices must have the same number of steps. Received: {lengths}")
    order = [v for v in VOICES if v in out] + [v for v in out if v not in VOICES]
    return {name: out[name] for name in order}


def notes(voice):
    """(start step, steps, pitch) of each note and rest of a voice (runs of equal steps)."""
    voice = np.asarray(voice)
    runs, start = [], 0
    for t in range(1, len(voice) + 1):
        if t == len(voice) or voice[t] != voice[start]:
            runs.append((start, t - start, int(voice[start])))
            start = t
    return runs


# --------------------------------------------------------------------------- music21
def part_to_pitches(part, total_steps):
    """One music21 part -> int32 array of MIDI pitches per 16th note (0 = rest).
    Notes shorter than a 16th are rounded onto the grid (a later note wins a
    shared step); in a chord the highest pitch is kept; grace notes are left out."""
    pitches = np.zeros(total_steps, np.int32)
    for element in part.flatten().notes:
        if element.duration.isGrace:
            continue
        start = int(round(float(element.offset) * STEPS_PER_QUARTER))
        end = int(round(float(element.offset + element.quarterLength) * STEPS_PER_QUARTER))
        end = max(end, start + 1)
        midi = max(p.midi for p in element.pitches)
        pitches[start: min(end, total_steps)] = midi
    return pitches


def spelling(key):
    """Pitch class -> note name (music21's spelling, ``-`` for flat) as a score in `key`
    writes it: the key's own scale degrees as its signature spells them (Ab and Db in
    F minor, E# in F# major), any other black key as a flat in a key with flats and as a
    sharp otherwise (the raised seventh G# in A minor). No key: sharps."""
    from music21 import key as m21key

    sharp = {1: "C#", 3: "D#", 6: "F#", 8: "G#", 10: "A#"}
    flat = {1: "D-", 3: "E-", 6: "G-", 8: "A-", 10: "B-"}
    names = {0: "C", 2: "D", 4: "E", 5: "F", 7: "G", 9: "A", 11: "B"}
    if key is None:
        return {**names, **sharp}
    tonic, mode = parse_key(key)
    signature = m21key.Key(PITCH_NAMES[tonic].replace("b", "-"), mode)
    out = {**names, **(flat if signature.sharps < 0 else sharp)}
    out.update({p.pitchClass: p.name for p in signature.getPitches()})
    return out


def spelled(midi, names):
    """A music21 ``Pitch`` of MIDI number `midi` named as `names` (:func:`spelling`)
    spells its pitch class (B#3 is MIDI 60, Cb4 MIDI 59)."""
    from music21 import pitch

    p = pitch.Pitch(names[int(midi) % 12])
    p.octave = int(midi) // 12 - 1
    p.octave += (int(midi) - p.midi) // 12  # Cb and B# sit across the octave's edge
    return p


def to_score(voices, key=None, *, tempo=80, title=None, fermata=True):
    """A music21 ``Score`` of `voices`: one part per voice (named and with the matching
    vocal instrument where it is one of ``VOICES``), 4/4, the key signature of `key`
    and, with `fermata`, a fermata on each voice's last note."""
    from music21 import expressions, instrument, key as m21key, meter, metadata, note
    from music21 import stream, tempo as m21tempo

    voices = check_voices(voices)
    spell = spelling(key)  # one key for every voice
    score = stream.Score()
    if title:
        score.insert(0, metadata.Metadata(title=title))
    kinds = {"soprano": instrument.Soprano, "alto": instrument.Alto,
             "tenor": instrument.Tenor, "bass": instrument.Bass}
    for i, (name, voice) in enumerate(voices.items()):
        part = stream.Part(id=name)
        part.partName = name.capitalize()
        part.append(kinds.get(name, instrument.Vocalist)())
        if i == 0:
            part.append(m21tempo.MetronomeMark(number=tempo))
        part.append(meter.TimeSignature("4/4"))
        if key is not None:
            tonic, mode = parse_key(key)
            part.append(m21key.Key(PITCH_NAMES[tonic].replace("b", "-"), mode))
        last = None
        for _, steps, pitch in notes(voice):
            length = steps / STEPS_PER_QUARTER
            element = note.Note(spelled(pitch, spell), quarterLength=length) if pitch else \
                note.Rest(quarterLength=length)
            part.append(element)
            last = element if pitch else last
        if fermata and last is not None:
            last.expressions.append(expressions.Fermata())
        score.insert(0, part)
    return score


def write_score(voices, key, path, *, tempo=80, title=None):
    """Write `voices` as a MIDI file (one track per voice; ``.mid``/``.midi``) or as
    MusicXML (``.musicxml``/``.xml``), by the suffix of `path`. Returns `path`."""
    path = str(path)
    lower = path.lower()
    if lower.endswith(MIDI_FILE_SUFFIXES):
        fmt = "midi"
    elif lower.endswith((".musicxml", ".xml")):
        fmt = "musicxml"
    else:
        raise ValueError(f"write_score: the file must end in .mid, .midi, .musicxml or .xml. "
                         f"Received: {path!r}")
    to_score(voices, key, tempo=tempo, title=title).write(fmt, fp=path)
    return path


def read_melody(path):
    """The top voice of a score file (MIDI, MusicXML, ...) as MIDI pitches per 16th
    note, and music21's key analysis of the whole file (a ``KEYS`` name): ``(pitches,
    key)``. The first part is the melody; in a chord its highest note; rests before
    its first note and after its last are left out. A file that
    music21 cannot read, or that holds no note, raises a ValueError saying so."""
    import os

    from music21 import converter

    if not os.path.isfile(path):
        raise ValueError(f"no file at {path!r}")
    try:
        # Read once, from the file itself: music21's pickle cache is not needed
        # for one melody, and it is shared with every other process.
        score = converter.parse(path, forceSource=True, storePickle=False)
    except Exception as err:  # music21 raises many kinds for an unreadable file
        raise ValueError(f"{path}: music21 cannot read it as a score: "
                         f"{str(err).splitlines()[0] if str(err) else type(err).__name__}") \
            from None
    parts = list(getattr(score, "parts", [])) or [score]
    total = int(round(float(score.highestTime) * STEPS_PER_QUARTER))
    pitches = part_to_pitches(parts[0], total) if total else np.zeros(0, np.int32)
    if not np.any(pitches > 0):
        raise ValueError(f"{path}: holds no note to read as a melody")
    # Leading and trailing rests carry nothing a continuation needs (a MIDI file is
    # often padded to a whole bar).
    sounding = np.nonzero(pitches > 0)[0]
    return pitches[sounding[0]: sounding[-1] + 1], analysed_key(score)


def analysed_key(score_or_voices):
    """music21's key analysis (Krumhansl-Schmuckler) of a score, or of `voices`, as a
    ``KEYS`` name; None when there is no note."""
    score = score_or_voices
    if isinstance(score_or_voices, dict):
        voices = check_voices(score_or_voices)
        if not any(np.any(v > 0) for v in voices.values()):
            return None
        score = to_score(voices, fermata=False)
    try:
        found = score.analyze("key")
    except Exception:  # no pitches to analyse
        return None
    mode = found.mode if found.mode in SCALES else "major"
    return key_name(found.tonic.pitchClass, mode)
