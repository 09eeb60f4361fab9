"""zoo.models.streaming: chunk by chunk equals the whole sequence, for every causal
factory configuration; the models that cannot stream are refused by name."""

import keras
import numpy as np
import pytest

import zoo
from zoo.models.streaming import NotStreamable, streaming_model

pytestmark = pytest.mark.jax
CELLS = ("simple", "gru", "lstm")
STEPS = 9
# Chunks of 1, 3 and the rest; rows of lengths 9, 3 and 1: the last chunk is all
# padding for the two short rows, the second ends inside their padding.
CHUNKS = ((0, 1), (1, 4), (4, STEPS))
LENGTHS = (9, 3, 1)
TOLERANCE = 1e-5


def _randomize(model, seed=0):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(scale=0.5, size=w.shape).astype(w.dtype)
                       for w in model.get_weights()])
    return model


def _inputs(kind, rng):
    if kind == "tokens":
        x = rng.integers(1, 12, size=(len(LENGTHS), STEPS)).astype("int32")
        fill = 0
    else:
        x = rng.uniform(0.2, 1.0, size=(len(LENGTHS), STEPS, 3)).astype("float32")
        fill = 0.0
    for row, length in enumerate(LENGTHS):
        x[row, length:] = fill
    return x


def _chunked(model, inputs, sequence_name):
    """The outputs of `model` fed chunk by chunk: per-step outputs joined, else the last."""
    stream = streaming_model(model)
    batch = inputs[sequence_name].shape[0]
    states = stream.initial_state(batch)
    outputs = []
    for start, stop in CHUNKS:
        chunk = {name: value[:, start:stop] if name == sequence_name else value
                 for name, value in inputs.items()}
        output, states = stream.step(chunk, states)
        outputs.append(keras.ops.convert_to_numpy(output))
    return outputs, states


def _model(name, cell, num_layers, input_kind, **kwargs):
    source = ({"vocab_size": 12, "embedding_dim": 4} if input_kind == "tokens"
              else {"input_dim": 3, "mask_value": 0.0})
    return _randomize(zoo.create_model(name, cell=cell, units=5, num_layers=num_layers,
                                       num_classes=4, **source, **kwargs))


@pytest.mark.parametrize("input_kind", ["tokens", "features"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("name", ["many_to_one", "many_to_many"])
def test_chunk_by_chunk_equals_whole_sequence(name, cell, num_layers, input_kind):
    model = _model(name, cell, num_layers, input_kind)
    x = {input_kind: _inputs(input_kind, np.random.default_rng(1))}
    whole = keras.ops.convert_to_numpy(model(x))
    outputs, states = _chunked(model, x, input_kind)
    got = np.concatenate(outputs, axis=1) if name == "many_to_many" else outputs[-1]
    assert got.shape == whole.shape
    np.testing.assert_allclose(got, whole, atol=TOLERANCE, rtol=0)
    assert len(states) == num_layers * (2 if cell == "lstm" else 1)


@pytest.mark.parametrize("input_kind", ["tokens", "features"])
@pytest.mark.slow
def test_many_to_one_output_after_each_chunk_is_the_output_so_far(input_kind):
    model = _model("many_to_one", "lstm", 2, input_kind)
    x = {input_kind: _inputs(input_kind, np.random.default_rng(4))}
    outputs, _ = _chunked(model, x, input_kind)
    for (_, stop), output in zip(CHUNKS, outputs):
        prefix = keras.ops.convert_to_numpy(model({input_kind: x[input_kind][:, :stop]}))
        np.testing.assert_allclose(output, prefix, atol=TOLERANCE, rtol=0)


@pytest.mark.slow
def test_unmasked_features_and_deep_blocks_stream():
    model = _randomize(zoo.create_model(
        "many_to_many", cell="gru", units=6, num_layers=2, residual=True, input_dim=3,
        input_block=(4,), transition_block=(5,), output_block=(3,), output_dim=2))
    x = {"features": np.random.default_rng(2).normal(size=(2, STEPS, 3)).astype("float32")}
    outputs, _ = _chunked(model, x, "features")
    np.testing.assert_allclose(np.concatenate(outputs, axis=1),
                               keras.ops.convert_to_numpy(model(x)), atol=TOLERANCE, rtol=0)


@pytest.mark.parametrize("condition", ["vector", "ids"])
@pytest.mark.slow
def test_one_to_many_streams_from_its_condition(condition):
    rng = np.random.default_rng(3)
    if condition == "vector":
        kwargs, value = {"input_dim": 3}, rng.normal(size=(3, 3)).astype("float32")
    else:
        kwargs, value = {"num_conditions": 4}, np.array([0, 3, 1], "int32")
    model = _randomize(zoo.create_model("one_to_many", vocab_size=9, embedding_dim=4, units=5,
                                        num_layers=2, cell="lstm", end_token=3, **kwargs))
    target_in = rng.integers(3, 9, size=(3, STEPS)).astype("int32")
    target_in[:, 0] = 2
    x = {"condition": value, "target_in": target_in}
    outputs, states = _chunked(model, x, "target_in")
    np.testing.assert_allclose(np.concatenate(outputs, axis=1),
                               keras.ops.convert_to_numpy(model(x)), atol=TOLERANCE, rtol=0)
    stream = streaming_model(model)
    assert stream.state_specs[-1] == ("state_4", (1,), "float32")  # the started flag
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(states[-1]), np.ones((3, 1)))


def test_state_specs_and_initial_state():
    model = zoo.create_model("many_to_one", cell="lstm", units=5, num_layers=2, vocab_size=12,
                             embedding_dim=4, num_classes=2)
    stream = streaming_model(model)
    assert stream.state_specs == [(f"state_{i}", (5,), "float32") for i in range(4)]
    states = stream.initial_state(3)
    assert [tuple(s.shape) for s in states] == [(3, 5)] * 4
    assert all(not np.any(keras.ops.convert_to_numpy(s)) for s in states)


@pytest.mark.parametrize("name, kwargs, message", [
    ("many_to_one", {"input_dim": 3, "num_classes": 2, "bidirectional": True},
     "streaming_model: model 'many_to_one' cannot stream: layer 'rnn_0' (Bidirectional) also "
     "reads the sequence backwards, so its output at a step depends on later steps; streaming "
     "needs a causal (forward-only) model"),
    ("one_to_one", {"input_dim": 3, "num_classes": 2},
     "streaming_model: model 'one_to_one' cannot stream: it has no input with a time axis "
     "(inputs: ['features']); a one-to-one model reads one step from the zero state, so there "
     "is nothing to carry between calls"),
    ("encoder_decoder", {"source_vocab_size": 12, "target_vocab_size": 9, "embedding_dim": 4},
     "streaming_model: model 'encoder_decoder' cannot stream: layer 'decoder' starts from "
     "states another recurrent layer computed over the whole source (an encoder-decoder); "
     "decode step by step with zoo.decoding (the export's generate / beam_search signatures)"),
    ("encoder_decoder", {"source_vocab_size": 12, "target_vocab_size": 9, "embedding_dim": 4,
                         "attention": "bahdanau"},
     "streaming_model: model 'encoder_decoder' cannot stream: layer 'decoder' attends over the "
     "encoder's outputs for the whole source; decode step by step with zoo.decoding (the "
     "export's generate / beam_search signatures)"),
])
def test_models_that_cannot_stream_are_refused(name, kwargs, message):
    with pytest.raises(NotStreamable) as raised:
        streaming_model(zoo.create_model(name, **kwargs))
    assert str(raised.value) == message
    assert isinstance(raised.value, ValueError)


def test_backwards_layer_is_refused():
    inputs = keras.Input((None, 3), name="features")
    outputs = zoo.layers.GRU(4, go_backwards=True, name="backwards")(inputs)
    with pytest.raises(ValueError, match="layer 'backwards' has go_backwards=True"):
        streaming_model(keras.Model(inputs, outputs, name="reader"))


def test_step_names_missing_and_unknown_inputs_and_wrong_state_count():
    model = zoo.create_model("many_to_one", cell="gru", units=5, input_dim=3, num_classes=2)
    stream = streaming_model(model)
    states = stream.initial_state(1)
    with pytest.raises(ValueError) as raised:
        stream.step({"feature": np.zeros((1, 2, 3), "float32")}, states)
    assert str(raised.value) == ("step expects inputs ['features']. Received: ['feature'] "
                                 "(missing ['features'], unknown ['feature'])")
    with pytest.raises(ValueError) as raised:
        stream.step({"features": np.zeros((1, 2, 3), "float32")}, states + states)
    assert str(raised.value) == "step expects 1 states ['state_0']. Received: 2 states"


def test_a_model_reloaded_from_keras_file_streams(tmp_path):
    model = _model("many_to_many", "gru", 2, "tokens")
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    x = {"tokens": _inputs("tokens", np.random.default_rng(7))}
    outputs, _ = _chunked(loaded, x, "tokens")
    np.testing.assert_allclose(np.concatenate(outputs, axis=1),
                               keras.ops.convert_to_numpy(model(x)), atol=TOLERANCE, rtol=0)
