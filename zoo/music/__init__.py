"""Music on a 16th-note grid: notation, measures, piano rolls and a listening page.

The zoo's music recipes (``chorale_generation``, ``chorale_harmonization``) hold a
voice as one MIDI pitch per 16th note (0 = rest, a held note repeats its pitch),
the form of ``bach_chorales``. This package turns such voices into music21 scores,
MIDI and MusicXML files (:mod:`zoo.music.notation`), measures what they sound like
with music21 (:mod:`zoo.music.measures`), draws them (:mod:`zoo.music.roll`) and
lays samples out on a static page (:mod:`zoo.music.page`). music21 and matplotlib
are imported inside the functions that need them.

Example:
    >>> from zoo.music import notation, measures
    >>> voices = {"soprano": [67] * 8 + [69] * 8, "bass": [43] * 16}
    >>> notation.write_score(voices, "G major", "sample.mid")     # a two-track MIDI file
    >>> measures.measure(voices, "G major")["in_key_fraction"]    # 1.0
"""
