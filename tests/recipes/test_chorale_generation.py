import json
import os
import re

import numpy as np
import pytest

from recipes import chorale_generation
from zoo.data.text import Tokenizer
from zoo.music import notation

from tests.recipes.generative_checks import (check_decoded, load_run_model, options, run_fresh,
                                             unprimed)
from tests.helpers import zoo_main
from tests.recipes.recipe_helpers import run_tiny

# One worker runs this module: its tiny run (both models, the export; session-scoped) is
# built once.
pytestmark = pytest.mark.xdist_group("test_chorale_generation")


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tfds_dir):
    folder = tmp_path_factory.mktemp("chorale_generation")
    return (*run_tiny(chorale_generation, folder, tfds_dir), folder)


@pytest.mark.slow
def test_the_main_job_writes_four_part_chorales_and_their_measures(tiny_run):
    from music21 import converter

    summary, run_dir, export_dir, info, _ = tiny_run
    assert 0.0 <= summary["test"]["token_accuracy"] <= 1.0
    samples = os.path.join(run_dir, "samples")
    steps = chorale_generation.TINY["bars"] * notation.STEPS_PER_BAR
    for i in (1, 2):
        midi = converter.parse(os.path.join(samples, f"chorale_{i}.mid"))
        assert len(midi.parts) == 4  # one track per voice
        xml = converter.parse(os.path.join(samples, f"chorale_{i}.musicxml"))
        assert [p.partName for p in xml.parts] == ["Soprano", "Alto", "Tenor", "Bass"]
        for part in xml.parts:  # whole bars, the written key, a fermata at the end
            assert float(part.highestTime) == steps / notation.STEPS_PER_QUARTER
            assert part.flatten().getElementsByClass("KeySignature")
            assert part.flatten().notes[-1].expressions
        with open(os.path.join(samples, f"chorale_{i}.png"), "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    metrics = json.load(open(os.path.join(run_dir, "metrics.json")))
    report = metrics["report"]
    for side in ("generated", "bach"):
        for name in ("in_key_fraction", "key_agreement", "tonic_ending", "crossings_per_bar",
                     "parallels_per_bar", "longest_note", "bass_range", "alto_mean_interval"):
            assert name in report[side], (side, name)
    # Measured over measured_samples chorales; the first num_samples are written.
    assert report["generated"]["pieces"] == chorale_generation.TINY["measured_samples"] == 3
    assert report["bach"]["pieces"] >= 1
    # Bach's sopranos under the model's lower voices: the same soprano as Bach's column,
    # other alto, tenor and bass.
    harmonised = report["bach_soprano_harmonised"]
    assert harmonised["pieces"] == report["bach"]["pieces"]
    for name in ("soprano_range", "soprano_mean_interval"):
        assert harmonised[name] == report["bach"][name], name
    assert any(harmonised[n] != report["bach"][n]
               for n in ("alto_mean_interval", "tenor_mean_interval", "bass_mean_interval"))
    assert not os.path.exists(os.path.join(samples, "chorale_3.mid"))
    assert [s["key"] for s in report["samples"]] and len(report["samples"]) == 2
    assert 0 <= report["tonic_cadences"] <= 3
    assert 0.0 <= report["candidates_with_long_notes"] <= 1.0
    page = open(os.path.join(samples, "index.html"), encoding="utf-8").read()
    for i in (1, 2):
        for name in (f"chorale_{i}.png", f"chorale_{i}.mid", f"chorale_{i}.musicxml"):
            assert f"'{name}'" in page
    assert "<th>Bach&#x27;s soprano, harmonised (" in page  # html.escape'd
    # Each chorale's own table: the key music21 hears, and yes/no where a measure is.
    heard = re.findall(r"<td>key by music21</td><td>([^<]+)</td>", page)
    assert len(heard) == 2 and all(k in notation.KEYS or k == "none (no notes)"
                                   for k in heard), heard
    assert len(re.findall(r"<td>key_agreement</td><td>(?:yes|no)</td>", page)) == 2
    # The harmoniser is a run of its own, resumable and reused.
    harmonizer = os.path.join(run_dir, "harmonizer")
    assert json.load(open(os.path.join(harmonizer, "recipe.json")))["name"] == \
        "chorale_harmonization"
    assert "generate" in info["signatures"]
    vocab = info["metadata"]["artifacts"]["vocabulary"]
    assert vocab["output"]["vocabulary"][:4] == ["", "[UNK]", "[START]", "[END]"]
    assert json.load(open(os.path.join(run_dir, "vocabulary.json"))) == vocab


@pytest.mark.slow
def test_predict_by_key_name_or_id_and_primed(tiny_run, tmp_path):
    """predict by key name and by decimal id: the same tokens with the same seed, and
    those of the in-process model on the ids; a primer is continued as
    ``zoo.decoding.generate`` continues its ids."""
    import zoo.decoding

    _, run_dir, export_dir, info, _ = tiny_run
    vocab = info["metadata"]["artifacts"]["vocabulary"]
    keys = vocab["condition_classes"]
    names = ["D major", "A minor", "C major"]
    ids = np.array([keys.index(n) for n in names], np.int32)
    output = Tokenizer.from_config(vocab["output"])
    known = [t for t in vocab["output"]["vocabulary"][4:] if t.isdigit() and t != "0"][:3]
    primers = [" ".join(known), "", known[0]]
    calls = [{"path": export_dir, "signature": "predict_defaults", "inputs": {}}]
    for condition in (names, [str(i) for i in ids]):
        calls.append({"path": export_dir, "signature": "predict",
                      "inputs": {"condition": [condition, "string"], **options(12, 1.0, 0, 4),
                                 **unprimed(3)}})
    calls.append({"path": export_dir, "signature": "predict", "inputs": {
        "condition": [names, "string"], "primer": [primers, "string"],
        "include_primer": [True, "bool"], **options(6, 0.0, 0, 0)}})
    defaults, by_name, by_id, primed = run_fresh(calls, tmp_path)
    assert {k: v["value"] for k, v in defaults.items()} == {
        "max_length": chorale_generation.TINY["bars"] * notation.STEPS_PER_BAR,
        "temperature": 1.0, "top_k": 0, "seed": 0, "primer": "", "include_primer": False}
    model = load_run_model(run_dir)
    tokens, scores = zoo.decoding.generate(model, ids, max_length=12, temperature=1.0, seed=4)
    check_decoded(by_name, tokens, scores, output)
    check_decoded(by_id, tokens, scores, output)
    assert by_name["text"]["value"] == by_id["text"]["value"]
    primer_ids = np.zeros((3, 3), np.int32)
    for row, text in enumerate(primers):
        for j, token in enumerate(text.split()):
            primer_ids[row, j] = output.get_vocabulary().index(token)
    want, _ = zoo.decoding.generate(model, ids, max_length=6, primer=primer_ids,
                                    include_primer=True)
    got = np.asarray(primed["token_ids"]["value"])
    assert got.shape == want.shape == (3, 3 + 6), (got.shape, want.shape)  # P + max_length
    np.testing.assert_array_equal(got, want)
    for text, row in zip(primers, primed["text"]["value"]):
        assert row.startswith(text)


@pytest.mark.slow
def test_zoo_generate_continues_a_midi_primer_in_its_key(tiny_run, tmp_path, capsys):
    _, _, export_dir, info, _ = tiny_run
    vocab = set(info["metadata"]["artifacts"]["vocabulary"]["output"]["vocabulary"])
    pitches = [int(t) for t in sorted(vocab) if t.isdigit() and t != "0"][:4]
    melody = [p for p in pitches for _ in range(4)]
    primer = notation.write_score({"soprano": melody}, "C major", str(tmp_path / "primer.mid"))
    code, out, err = zoo_main(["generate", export_dir, "--primer", primer, "--num", "2",
                               "--max-length", "8", "--temperature", "0", "--include-primer"],
                              capsys)
    assert code == 0, err[-2000:]
    key = notation.read_melody(primer)[1]
    assert f"[generate] --condition {key!r}: music21's key of {primer}" in err
    lines = out.strip().splitlines()
    assert len(lines) == 3 and lines[-1].startswith("[generate] 2 sequence(s)")
    text = " ".join(str(p) for p in melody)
    for line in lines[:2]:
        assert line.startswith(text + " "), (line, text)
    # Without --include-primer the continuation alone, the same one (greedy).
    code, alone, err = zoo_main(["generate", export_dir, "--primer", " ".join(map(str, melody)),
                                 "--condition", key, "--max-length", "8", "--temperature", "0"],
                                capsys)
    assert code == 0, err[-2000:]
    continuation = lines[0].split("  (score")[0][len(text) + 1:]
    assert alone.splitlines()[0].split("  (score")[0] == continuation


@pytest.mark.parametrize("primer, message", [
    ("missing.mid", "--primer: no file at 'missing.mid'"),
    ("999", "predict: input 'primer' holds the token \"999\", which is not in the "
            "model's vocabulary"),
])
@pytest.mark.slow
def test_zoo_generate_refuses_a_bad_primer_without_a_traceback(tiny_run, primer, message,
                                                               capsys):
    _, _, export_dir, _, _ = tiny_run
    code, _, err = zoo_main(["generate", export_dir, "--primer", primer, "--condition",
                             "C major"], capsys)
    assert code == 2, err[-2000:]
    assert message in err and "Traceback" not in err, err[-2000:]


@pytest.mark.slow
def test_zoo_generate_without_a_condition_names_the_flag_and_the_keys(tiny_run, capsys):
    # Tokens carry no key, so the condition must be given; the message says how.
    _, _, export_dir, _, _ = tiny_run
    code, _, err = zoo_main(["generate", export_dir, "--primer", "67 67 69"], capsys)
    assert code == 2, err[-2000:]
    assert "Traceback" not in err
    assert ("zoo generate: error: the export is conditioned: give --condition NAME|ID (one "
            "of 24: 'C major', 'C# major', 'D major'") in err, err[-2000:]
    assert "or --primer with a MIDI or MusicXML file" in err, err[-2000:]


@pytest.mark.parametrize("setting, message", [
    ("harmonizer.epoch=2", "--set harmonizer.epoch: Unknown config key 'epoch' for "
                           "recipes.chorale_harmonization. Known keys: batch_size,"),
    ("harmonizer.epochs=0", "--set harmonizer.epochs: expected an integer >= 1. "
                            "Received: epochs=0"),
    ("harmonizer.transpose=maybe", "--set harmonizer.transpose: expected"),
    ("bars=0", "--set bars: expected an integer >= 1. Received: bars=0"),
])
def test_zoo_train_refuses_a_bad_setting_before_it_trains(tmp_path, setting, message, capsys):
    run_dir = tmp_path / "run"
    code, out, err = zoo_main(["train", "chorale_generation", "--run-dir", str(run_dir),
                               "--set", setting], capsys)
    assert code == 2, err[-2000:]
    assert message in err and "Traceback" not in err, err[-2000:]
    assert "Epoch 1/" not in out and not (run_dir / "model.keras").exists()


@pytest.mark.slow
def test_the_listening_page_renders_in_headless_chromium(tiny_run, tmp_path):
    from tests.browser import check_page
    from zoo.music import page

    _, run_dir, _, _, _ = tiny_run
    index = os.path.join(run_dir, "samples", "index.html")
    audio = 2 if page.synthesizer() else 0
    check_page(index, tmp_path, images=2, audio=audio, colours=())
    text = open(index, encoding="utf-8").read()
    assert ("id='how-to-listen'" in text) == (audio == 0)


def test_the_chosen_melody_is_the_first_without_long_notes_that_ends_on_the_tonic(monkeypatch):
    """Four candidates for C major: a note held over a bar ending on the tonic, short
    notes ending on D, short notes ending on C (chosen), one held C."""
    import types

    import tensorflow as tf

    import zoo.decoding

    tokenizer = Tokenizer.adapt(tf.data.Dataset.from_tensor_slices(
        ["60 62 64 65 67"]).map(tf.strings.split), level="tokens")
    bar = notation.STEPS_PER_BAR
    candidates = [[64] * 4 + [60] * (2 * bar - 4),                 # a note of 28 steps
                  [60, 64, 65, 62] * (bar // 2),                   # ends on D
                  [64] * 4 + [62] * 4 + [60] * 8 + [67] * 8 + [60] * 8,
                  [60] * (2 * bar)]                                # one note of 32 steps
    ids = np.array([tokenizer.encode(" ".join(map(str, c))).numpy() for c in candidates])
    calls = []

    def fake_generate(model, condition, **options):
        calls.append((list(condition), options))
        return ids, np.zeros(len(ids), np.float32)

    monkeypatch.setattr(zoo.decoding, "generate", fake_generate)
    data = types.SimpleNamespace(extras={"tokenizers": {"output": tokenizer},
                                         "keys": list(notation.KEYS)})
    config = chorale_generation.Config(bars=2, candidates=4, max_note_steps=16)
    chosen, cadences, held = chorale_generation.melodies(None, data, config, [0])
    np.testing.assert_array_equal(chosen[0], candidates[2])
    assert cadences == [True] and held == 2 / 4  # candidates 0 and 3 hold over a bar
    assert calls[0][0] == [0, 0, 0, 0] and calls[0][1]["max_length"] == 2 * bar
    # No limit on note length: the first that ends on the tonic.
    chosen, _, held = chorale_generation.melodies(
        None, data, chorale_generation.Config(bars=2, candidates=4, max_note_steps=0), [0])
    np.testing.assert_array_equal(chosen[0], candidates[0])
    assert held == 0.0
