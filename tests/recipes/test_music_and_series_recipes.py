import numpy as np
import pytest

from recipes import chorale_harmonization, sunspots
from zoo import recipe as base
from zoo.data import normalization

from tests.recipes.recipe_helpers import check_raw_predict, run_tiny


@pytest.mark.slow
def test_chorale_harmonization_tiny_end_to_end(tmp_path, tfds_dir):
    summary, run_dir, export_dir, _ = run_tiny(chorale_harmonization, tmp_path, tfds_dir)
    for voice in chorale_harmonization.LOWER_VOICES:
        assert 0.0 <= summary["test"][f"{voice}_accuracy"] <= 1.0
        assert 0.0 < summary["test"][f"most_common_pitch_{voice}_accuracy"] < 1.0
    # predict: voice-tagged soprano pitches as text in, one pitch of that voice per step out.
    config = base.make_config(chorale_harmonization, tiny=True)
    data = chorale_harmonization.load_data(config, data_dir=tfds_dir)
    inputs, _ = next(iter(data.test))  # the pipeline's batches keep the split's order
    x = inputs["tokens"].numpy()[:3]
    vocabulary = data.extras["tokenizers"]["input"].get_vocabulary()
    texts = [" ".join(vocabulary[i] for i in row if i) for row in x]
    assert [t.split()[0][0] for t in texts] == ["a", "t", "b"]  # alto, tenor, bass of piece 1
    x = x[:, :max(len(t.split()) for t in texts)]
    out = check_raw_predict(run_dir, export_dir, {"tokens": texts}, {"tokens": x},
                            class_names=data.extras["tokenizers"]["output"].get_vocabulary())
    assert all(label.isdigit() or label in ("", "[UNK]", "[START]", "[END]")
               for row in out["labels"] for label in row)


@pytest.mark.slow
def test_transposition_moves_every_voice_and_the_vocabulary_covers_every_key(tfds_dir):
    config = base.make_config(chorale_harmonization, tiny=True)
    data = chorale_harmonization.load_data(config, data_dir=tfds_dir)
    pieces = data.extras["test_pieces"][:2]
    pairs = list(chorale_harmonization._examples(pieces, [3, 3]))
    for (source, target), (piece, voice) in zip(pairs, [(p, v) for p in pieces
                                                        for v in range(3)]):
        soprano = piece["soprano"]
        assert list(source) == [f"{'atb'[voice]}{p + 3 if p else 0}" for p in soprano]
        lower = piece["lower_voices"][:, voice]
        assert list(target) == [str(p + 3 if p else 0) for p in lower]
    known = set(data.extras["tokenizers"]["input"].get_vocabulary())
    highest = max(int(t[1:]) for t in known if t[:1] == "a" and t[1:].isdigit())
    train_highest = max(int(p["soprano"].max()) for p in chorale_harmonization._pieces(
        config, "train", tfds_dir))
    assert highest == train_highest + 6  # the top soprano note, a tritone up


@pytest.mark.slow
def test_harmonize_writes_three_voices_under_a_soprano_and_rests_under_its_rests(tfds_dir):
    import keras

    config = base.make_config(chorale_harmonization, tiny=True)
    data = chorale_harmonization.load_data(config, data_dir=tfds_dir)
    keras.utils.set_random_seed(0)
    model = chorale_harmonization.build_model(config, data)
    soprano = np.array([67, 67, 69, 0, 71, 71, 72, 72], np.int32)
    (voices,) = chorale_harmonization.harmonize(model, data.extras["tokenizers"], [soprano])
    assert list(voices) == ["alto", "tenor", "bass"]
    for voice in voices.values():
        assert voice.shape == soprano.shape and voice[3] == 0
        assert all(p == 0 or 20 <= p <= 100 for p in voice)


@pytest.mark.slow
def test_sunspots_tiny_end_to_end(tmp_path, tfds_dir):
    summary, run_dir, export_dir, _ = run_tiny(sunspots, tmp_path, tfds_dir)
    assert summary["test"]["test_years"] == 40
    assert np.isfinite(summary["test"]["mae"]) and summary["test"]["persistence_mae"] > 0
    # predict: 24 yearly sunspot numbers in, next year's sunspot number out.
    data = sunspots.load_data(base.make_config(sunspots, tiny=True), data_dir=tfds_dir)
    inputs, _ = next(iter(data.test))
    n = len(inputs["features"])
    windows = np.stack([w for w, _ in data.extras["test_windows"][:n]])[..., None]
    denorm = normalization.normalization_from_config(data.artifacts["normalizer"], invert=True)
    out = check_raw_predict(run_dir, export_dir, {"features": windows}, inputs,
                            to_units=lambda y: np.asarray(denorm(y)))
    assert np.asarray(out["value"]).shape == (n, 1)
    # Raw counts in: the windows are sunspot numbers, and so is the answer's scale.
    assert windows.max() > 50
