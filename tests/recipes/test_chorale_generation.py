import json
import os

import numpy as np

from recipes import chorale_generation
from zoo.data.text import Tokenizer

from tests.recipes.generative_checks import check_decoded, load_run_model, options, run_fresh
from tests.recipes.recipe_helpers import run_tiny


def test_chorale_generation_tiny_end_to_end(tmp_path, tfds_dir, capsys):
    summary, run_dir, export_dir, info = run_tiny(chorale_generation, tmp_path, tfds_dir)
    assert 0.0 <= summary["test"]["token_accuracy"] <= 1.0
    samples = os.path.join(run_dir, "samples")
    for name in ("chorale_1.mid", "chorale_2.mid"):
        with open(os.path.join(samples, name), "rb") as f:
            assert f.read(4) == b"MThd"
    with open(os.path.join(samples, "piano_roll.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert "generate" in info["signatures"]
    vocab = info["metadata"]["artifacts"]["vocabulary"]
    assert vocab["output"]["vocabulary"][:4] == ["", "[UNK]", "[START]", "[END]"]
    assert json.load(open(os.path.join(run_dir, "vocabulary.json"))) == vocab

    check_raw_predict(run_dir, export_dir, vocab, tmp_path)

    # `zoo generate` samples from the export and decodes with its vocabulary.
    from zoo import cli

    capsys.readouterr()
    assert cli.main(["generate", export_dir, "--num", "2", "--max-length", "8",
                     "--inputs", '{"condition": [0, 9]}', "--seed", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1] == (f"[generate] 2 sequence(s) through {export_dir} (predict): "
                         "scores (2,), text (2,), token_ids (2, 8), tokens (2, 8)")
    known = set(vocab["output"]["vocabulary"])
    for line in lines[:2]:  # decoded tokens of the vocabulary (a tiny model may sample [UNK])
        text, score = line.rsplit("  (score ", 1)  # "<text>  (score -12.3456)"
        assert float(score.rstrip(")")) <= 0.0  # a log-probability
        tokens = text.split()
        assert tokens and all(token in known for token in tokens), (line, sorted(known))
        assert any(token.isdigit() for token in tokens)


def check_raw_predict(run_dir, export_dir, vocab, tmp_path):
    """predict by key name and by decimal id: the same tokens with the same seed, and
    those of the in-process model on the ids; defaults sample (temperature 1)."""
    import zoo.decoding

    keys = vocab["condition_classes"]
    assert "D major" in keys
    names = ["D major", "A minor", "C major"]
    ids = np.array([keys.index(n) for n in names], np.int32)
    calls = [{"path": export_dir, "signature": "predict_defaults", "inputs": {}}]
    for condition in (names, [str(i) for i in ids]):
        calls.append({"path": export_dir, "signature": "predict",
                      "inputs": {"condition": [condition, "string"], **options(12, 1.0, 0, 4)}})
    defaults, by_name, by_id = run_fresh(calls, tmp_path)
    assert {k: v["value"] for k, v in defaults.items()} == {
        "max_length": chorale_generation.TINY["sample_steps"], "temperature": 1.0, "top_k": 0,
        "seed": 0}
    model = load_run_model(run_dir)
    tokens, scores = zoo.decoding.generate(model, ids, max_length=12, temperature=1.0, seed=4)
    output = Tokenizer.from_config(vocab["output"])
    check_decoded(by_name, tokens, scores, output)
    check_decoded(by_id, tokens, scores, output)
    assert by_name["text"]["value"] == by_id["text"]["value"]


def test_midi_round_trip(tmp_path):
    from music21 import converter

    melody = [60, 60, 62, 0, 0, 64, 64, 64]
    path = chorale_generation.write_midi(melody, str(tmp_path / "m.mid"))
    notes = list(converter.parse(path).flatten().notesAndRests)
    got = [(n.pitch.midi if n.isNote else 0, float(n.quarterLength)) for n in notes]
    assert got[:4] == [(60, 0.5), (62, 0.25), (0, 0.5), (64, 0.75)]
    assert all(pitch == 0 for pitch, _ in got[4:])  # the reader pads the bar with rests
