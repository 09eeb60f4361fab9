"""Pipelines: tokenizers from train only, padding id 0 masked, bucketing, teacher
forcing, normalisation from train, sliding windows, and bad input."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

import zoo.data
from zoo.data import builders, pipelines
from zoo.data.normalization import normalization_config, normalization_from_config
from zoo.data.text import END_ID, OOV_ID, PAD_ID, START_ID, Tokenizer


def _texts(*texts):
    return tf.data.Dataset.from_tensor_slices(list(texts))


@pytest.fixture
def reviews(tmp_path, data_dir):
    manual = tmp_path / "manual"
    manual.mkdir()
    (manual / "train.tsv").write_text(
        "a good film, a fine film!\tpos\nbad film\tneg\ngood actors\tpos\nso bad\tneg\n"
    )
    (manual / "test.tsv").write_text("a zebra film\tpos\n")
    load = lambda split: zoo.data.load(  # noqa: E731
        "text_folder/classification", split, data_dir=data_dir, manual_dir=str(manual)
    )
    return load("train"), load("test")


def test_vocabulary_from_train_never_sees_test(reviews):
    train, test = reviews
    vocab = Tokenizer.adapt(train.map(lambda ex: ex["text"]), level="word", lowercase=True)
    assert "zebra" not in vocab.tokens
    assert vocab.tokens[:3] == ["film", "a", "bad"]  # by count, ties alphabetically
    assert vocab.get_vocabulary()[:4] == ["", "[UNK]", "[START]", "[END]"]
    ids = next(iter(test)).get("text")
    encoded = vocab.encode(ids).numpy().tolist()
    assert encoded == [
        vocab.get_vocabulary().index("a"),
        OOV_ID,
        vocab.get_vocabulary().index("film"),
    ]


def test_padding_id_zero_is_masked(reviews):
    train, _ = reviews
    vocab = Tokenizer.adapt(train.map(lambda ex: ex["text"]), level="word", lowercase=True)
    labels = keras.layers.StringLookup(vocabulary=["neg", "pos"], num_oov_indices=0)
    ds = train.map(lambda ex: {"text": ex["text"], "label": labels(ex["label"])})
    inputs, y = next(iter(pipelines.text_classification(ds, vocab, batch_size=4)))
    tokens = inputs["tokens"].numpy()
    texts = [ex["text"].decode() for ex in tfds.as_numpy(train)]
    # Independent count: words and punctuation marks of each text.
    expected = sorted(len(t.replace(",", " ,").replace("!", " !").split()) for t in texts)
    assert sorted(np.count_nonzero(tokens, axis=1)) == expected
    embedding = keras.layers.Embedding(vocab.size, 3, mask_zero=True)
    np.testing.assert_array_equal(np.asarray(embedding.compute_mask(tokens)), tokens != PAD_ID)
    assert sorted(y.numpy()) == [0, 0, 1, 1]


def test_vocabulary_options_and_round_trip(tmp_path):
    texts = _texts("to be\nor not", "to be")
    # Counts: o 4, ' ' 3, t 3, b 2, e 2, n 1, r 1, '\n' 1; ties alphabetically.
    vocab = Tokenizer.adapt(texts, level="char", max_tokens=8)
    assert vocab.size == 8 and vocab.tokens == ["o", " ", "t", "b"]
    assert Tokenizer.adapt(texts, level="char", min_count=3).tokens == ["o", " ", "t"]
    full = Tokenizer.adapt(texts, level="char")
    assert "\n" in full.tokens
    full.save(tmp_path / "v.json")
    again = Tokenizer.load(tmp_path / "v.json")
    assert json.loads((tmp_path / "v.json").read_text())["level"] == "char"
    assert again.get_vocabulary() == full.get_vocabulary()
    ids = again.encode(tf.constant("or be"), start=True, end=True).numpy()
    assert ids[0] == START_ID and ids[-1] == END_ID and len(ids) == 7
    assert again.decode(ids) == "or be"
    assert full.decode(again.encode(tf.constant("bez"))) == "be[UNK]"
    path = tmp_path / "kept.json"
    first = pipelines.fit_or_load(path, lambda: full)
    second = pipelines.fit_or_load(path, lambda: pytest.fail("must reuse the saved file"))
    assert first.get_vocabulary() == second.get_vocabulary()


def test_bucketing_groups_similar_lengths():
    lengths = [1, 2, 3, 9, 10, 11, 2, 10, 3, 12, 1, 11]
    ds = tf.data.Dataset.from_generator(
        lambda: (({"tokens": np.arange(1, n + 1, dtype=np.int32)}, n) for n in lengths),
        output_signature=(
            {"tokens": tf.TensorSpec((None,), tf.int32)},
            tf.TensorSpec((), tf.int32),
        ),
    )
    batches = list(pipelines.batch(ds, batch_size=3, bucket_boundaries=[5]))
    assert sum(int(y.shape[0]) for _, y in batches) == len(lengths)
    for inputs, n in batches:
        n = n.numpy()
        assert (n < 5).all() or (n >= 5).all()
        assert inputs["tokens"].shape[1] == n.max()
        np.testing.assert_array_equal(np.count_nonzero(inputs["tokens"], axis=1), n)


def test_seq2seq_and_generation_teacher_forcing(data_dir):
    config = builders.HumanDatesConfig(name="p", sizes=(40, 5, 5))
    train = zoo.data.load("human_dates", "train", data_dir=data_dir, config=config)
    src = Tokenizer.adapt(train.map(lambda ex: ex["text"]), level="char")
    tgt = Tokenizer.adapt(train.map(lambda ex: ex["iso"]), level="char")
    assert set(tgt.tokens) <= set("0123456789-")
    batches = pipelines.seq2seq(train, src, tgt, source_key="text", target_key="iso", batch_size=8)
    raw = {ex["text"].decode(): ex["iso"].decode() for ex in tfds.as_numpy(train)}
    for inputs, target_out in batches:
        for s, t_in, t_out in zip(
            inputs["source"].numpy(), inputs["target_in"].numpy(), target_out.numpy()
        ):
            iso = raw[src.decode(s)]
            assert t_in.tolist()[:11] == [START_ID] + tgt.encode(tf.constant(iso)).numpy().tolist()
            assert t_out.tolist()[:11] == tgt.encode(tf.constant(iso), end=True).numpy().tolist()
            assert tgt.decode(t_out) == iso


def test_conditioned_generation_on_chorales(data_dir):
    config = builders.BachChoralesConfig(name="p", max_chorales=4)
    ds = zoo.data.load("bach_chorales", "train", data_dir=data_dir, config=config)
    ds = ds.map(lambda ex: {**ex, "soprano": pipelines.int_tokens(ex["soprano"])})
    vocab = Tokenizer.adapt(ds.map(lambda ex: ex["soprano"]), level="tokens")
    assert all(t.isdigit() for t in vocab.tokens)
    batches = pipelines.conditioned_generation(
        ds, vocab, sequence_key="soprano", condition_key="key", num_conditions=24, batch_size=4
    )
    inputs, target_out = next(iter(batches))
    assert inputs["condition"].shape == (4, 24)
    np.testing.assert_array_equal(inputs["condition"].numpy().sum(axis=1), 1.0)
    t_in, t_out = inputs["target_in"].numpy(), target_out.numpy()
    assert (t_in[:, 0] == START_ID).all()
    for a, b in zip(t_in, t_out):
        n = np.count_nonzero(b)
        np.testing.assert_array_equal(a[1:n], b[: n - 1])
        assert b[n - 1] == END_ID


def test_normaliser_uses_train_statistics_only(data_dir):
    train = zoo.data.load("japanese_vowels", "train", data_dir=data_dir)
    test = zoo.data.load("japanese_vowels", "test", data_dir=data_dir)
    norm = pipelines.adapt_normalization(train.map(lambda ex: ex["features"]))
    stats = normalization_config(norm)
    mean, std = np.array(stats["mean"]), np.sqrt(stats["variance"])
    frames = np.concatenate([ex["features"] for ex in tfds.as_numpy(train)])
    np.testing.assert_allclose(mean, frames.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(std, frames.std(0), rtol=1e-5)
    test_frames = np.concatenate([ex["features"] for ex in tfds.as_numpy(test)])
    assert not np.allclose(mean, test_frames.mean(0), atol=1e-3)
    batches = pipelines.sequence_classification(
        train, label_key="speaker", normalizer=norm, batch_size=300, pad_value=0.0
    )
    inputs, labels = next(iter(batches))
    x = inputs["features"].numpy()
    assert x.shape[0] == 243 and x.shape[2] == 12 and labels.shape == (243,)
    valid = np.abs(x).sum(-1) > 0
    lengths = sorted(len(ex["features"]) for ex in tfds.as_numpy(train))
    assert sorted(valid.sum(1)) == lengths  # padded steps are exactly the masked ones
    mask = keras.layers.Masking(mask_value=0.0).compute_mask(x)
    np.testing.assert_array_equal(np.asarray(mask), valid)
    np.testing.assert_allclose(x[valid].mean(0), 0.0, atol=1e-4)


def test_window_series_matches_numpy():
    series = np.sin(np.arange(40) / 3.0).astype(np.float32)
    inputs, nxt = next(iter(pipelines.window_series(series, 6, kind="next_value", batch_size=64)))
    expected = np.lib.stride_tricks.sliding_window_view(series[:-1], 6)
    np.testing.assert_allclose(inputs["features"].numpy()[..., 0], expected)
    np.testing.assert_allclose(nxt.numpy()[:, 0], series[6:])
    inputs, shifted = next(iter(pipelines.window_series(series, 6, kind="sequence", batch_size=64)))
    np.testing.assert_allclose(
        shifted.numpy()[..., 0], np.lib.stride_tricks.sliding_window_view(series[1:], 6)
    )


def test_sunspots_regression_normalised_with_train_statistics(data_dir):
    yearly = zoo.data.load("sunspots/yearly", "train", data_dir=data_dir)
    norm = pipelines.adapt_normalization(yearly.map(lambda ex: ex["sunspots"]))
    values = np.array([ex["sunspots"] for ex in tfds.as_numpy(yearly)])
    stats = normalization_config(norm)
    np.testing.assert_allclose(stats["mean"], [values.mean()], rtol=1e-5)
    np.testing.assert_allclose(np.sqrt(stats["variance"]), [values.std()], rtol=1e-5)
    ds = zoo.data.load("sunspots/next_value", "test", data_dir=data_dir)
    inputs, y = next(iter(pipelines.regression(ds, normalizer=norm, batch_size=50)))
    raw = [ex for ex in tfds.as_numpy(ds)]
    assert inputs["features"].shape == (40, 24, 1) and y.shape == (40,)
    denorm = normalization_from_config(stats, invert=True)
    restored = np.asarray(denorm(y.numpy()[:, None]))[:, 0]
    np.testing.assert_allclose(restored, [ex["target"] for ex in raw], rtol=1e-4)
    np.testing.assert_allclose(
        y.numpy(), ([ex["target"] for ex in raw] - values.mean()) / values.std(), rtol=1e-4
    )


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="Received: level='letters'"):
        Tokenizer(["a"], level="letters")
    with pytest.raises(ValueError, match=r"special tokens \['\[UNK\]'\]"):
        Tokenizer(["a", "[UNK]"])
    with pytest.raises(ValueError, match="Received: batch_size=0"):
        pipelines.batch(_texts("a"), batch_size=0)
    with pytest.raises(ValueError, match="Received: kind='both'"):
        pipelines.window_series(np.arange(10.0), 3, kind="both")
    with pytest.raises(ValueError, match="Received: 5 steps, window=5"):
        pipelines.window_series(np.arange(5.0), 5)
    with pytest.raises(ValueError, match="variance must be positive"):
        normalization_from_config({"mean": [0.0], "variance": [0.0]})
