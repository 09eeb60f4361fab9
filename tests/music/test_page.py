"""zoo.music.page and zoo.music.roll: piano rolls, audio, and the page in a real browser."""

import os
import re

import pytest

from tests.browser import check_page, require_system_program
from zoo.music import notation, page, roll

VOICES = {"soprano": [72] * 8 + [74] * 8 + [76] * 16 + [74] * 16 + [72] * 16,
          "alto": [67] * 16 + [67] * 16 + [65] * 16 + [64] * 16,
          "tenor": [64] * 16 + [60] * 16 + [62] * 16 + [60] * 16,
          "bass": [48] * 16 + [45] * 16 + [43] * 16 + [36] * 16}


def _axes_of(voices):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    roll.draw(ax, voices, title="C major")
    return fig, ax


def test_the_piano_roll_names_pitches_numbers_bars_and_colours_each_voice():
    import matplotlib.pyplot as plt

    fig, ax = _axes_of(VOICES)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels and all(re.fullmatch(r"[A-G](#|b)?-?\d", t) for t in labels), labels
    assert "C4" in labels and "C3" in labels
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "3", "4"]
    bar_lines = [line for line in ax.get_lines() if list(line.get_xdata()) in
                 ([x, x] for x in range(0, 65, 16))]
    assert len(bar_lines) == 5  # at 0, 16, 32, 48, 64
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["soprano", "alto", "tenor", "bass"]
    colours = {tuple(c.get_facecolor()[0]) for c in ax.collections}
    assert len(colours) == 4
    assert ax.get_title() == "C major"
    plt.close(fig)


def test_a_piano_roll_png_is_written(tmp_path):
    path = roll.plot(VOICES, tmp_path / "roll.png", title="t")
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def _sample(folder, name="one", audio=None):
    notation.write_score(VOICES, "C major", os.path.join(folder, f"{name}.mid"))
    roll.plot(VOICES, os.path.join(folder, f"{name}.png"))
    return {"title": f"Sample {name}: C major", "image": f"{name}.png",
            "files": {"MIDI": f"{name}.mid"}, "audio": audio,
            "measures": {"in_key_fraction": 1.0}}


def test_without_audio_the_page_says_how_to_listen_and_uses_nothing_from_outside(tmp_path):
    path = page.write_page(str(tmp_path), [_sample(str(tmp_path))], title="Chorales",
                           summary_rows=[("in_key_fraction", 1.0, 0.98)],
                           summary_header=("measure", "generated", "Bach"))
    text = open(path, encoding="utf-8").read()
    assert "id='how-to-listen'" in text and "fluidsynth" in text and "<audio" not in text
    assert "<td>0.980</td>" in text and "Sample one: C major" in text
    links = re.findall(r"(?:src|href)='([^']*)'", text)
    assert links == ["one.png", "one.mid"]
    assert not re.search(r"https?:|//", text.replace("<!DOCTYPE html>", ""))
    assert "<script" not in text


def test_a_midi_file_is_rendered_to_audio_where_fluidsynth_and_a_soundfont_are(tmp_path):
    require_system_program("fluidsynth", "fluidsynth")
    if page.synthesizer() is None:
        require_system_program("/usr/share/sounds/sf2/TimGM6mb.sf2", "timgm6mb-soundfont")
    midi = notation.write_score(VOICES, "C major", str(tmp_path / "a.mid"))
    audio = page.render_audio(midi)
    assert audio == str(tmp_path / "a.ogg")
    data = open(audio, "rb").read()
    assert data[:4] == b"OggS" and b"vorbis" in data[:200] and len(data) > 5000


def test_no_audio_when_the_soundfont_named_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_SOUNDFONT", str(tmp_path / "none.sf2"))
    assert page.synthesizer() is None
    midi = notation.write_score(VOICES, "C major", str(tmp_path / "a.mid"))
    assert page.render_audio(midi) is None and not os.path.exists(tmp_path / "a.ogg")


def test_no_audio_when_fluidsynth_succeeds_but_writes_no_file(tmp_path, monkeypatch):
    # A FluidSynth built without Ogg output exits 0 having written nothing.
    import subprocess

    monkeypatch.setattr(page, "synthesizer", lambda: ("fluidsynth", "font.sf2"))
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 0))
    midi = notation.write_score(VOICES, "C major", str(tmp_path / "a.mid"))
    assert page.render_audio(midi) is None


@pytest.mark.slow
def test_the_page_renders_its_images_in_headless_chromium(tmp_path):
    samples = [_sample(str(tmp_path), "one"), _sample(str(tmp_path), "two")]
    path = page.write_page(str(tmp_path), samples, title="Chorales")
    check_page(path, tmp_path, images=2, audio=0)


@pytest.mark.slow
def test_the_page_plays_its_audio_in_headless_chromium(tmp_path):
    require_system_program("fluidsynth", "fluidsynth")
    if page.synthesizer() is None:
        require_system_program("/usr/share/sounds/sf2/TimGM6mb.sf2", "timgm6mb-soundfont")
    sample = _sample(str(tmp_path), "one")
    sample["audio"] = os.path.basename(page.render_audio(str(tmp_path / "one.mid")))
    path = page.write_page(str(tmp_path), [sample], title="Chorales")
    assert "id='how-to-listen'" not in open(path).read()
    check_page(path, tmp_path, images=1, audio=1)
