"""One test over every registered model (``zoo.list_models()``, each with its
registry example) x cell x {plain, bidirectional, deep}:
build, one training step lowers the loss, predict, .keras round trip, and
SavedModel export round trip (one export per factory in the default suite)."""

import json

import keras
import numpy as np
import pytest

import zoo
from tests import covering
from tests.models import cases
from zoo import decoding
from zoo.models import registry

FIVE = ["encoder_decoder", "many_to_many", "many_to_one", "one_to_many", "one_to_one"]
# Written out for the five built-in models, to check their registry examples.
EXPECTED_SHAPES = {
    "one_to_one": (4, 3),
    "many_to_one": (4, 3),
    "many_to_many": (4, 6, 4),
    "one_to_many": (4, 6, 9),
    "encoder_decoder": (4, 6, 9),
}


def test_the_five_types_are_registered_and_their_examples_are_right():
    assert set(zoo.list_models()) >= set(FIVE)
    assert {name: cases.output_shape(name) for name in FIVE} == EXPECTED_SHAPES
    generative = [name for name in FIVE if cases.is_generative(name)]
    assert generative == ["encoder_decoder", "one_to_many"]
    assert {name for name, _, variant in cases.combos() if variant == "bidirectional"} >= {
        "one_to_one", "many_to_one", "many_to_many", "encoder_decoder"}


@pytest.mark.jax
@pytest.mark.parametrize("name", cases.names())
def test_every_registered_model_carries_an_example(name):
    example = cases.example(name)  # fails for a model registered without one
    assert isinstance(example, registry.Example)
    x, _ = cases.batch(name)
    model = zoo.create_model(name, **example.kwargs)
    assert sorted(t.name for t in model.inputs) == sorted(example.inputs) == sorted(x)


def test_a_model_registered_without_an_example_is_caught(monkeypatch):
    monkeypatch.setitem(registry._REGISTRY, "no_example", lambda **kwargs: None)
    assert "no_example" in cases.names()
    with pytest.raises(pytest.fail.Exception, match="without an example"):
        cases.example("no_example")


def _decode(model, name, x):
    if "source" in x:
        return decoding.translate(model, x["source"], max_output_length=5)
    (condition,) = [k for k in x if k != "target_in"]
    return decoding.generate(model, x[condition], max_length=5)


def _matrix_params():
    return [
        # The JAX subset compiles a fit on JAX (4-15 s a case): CI, not the default tier.
        pytest.param(*combo, marks=[pytest.mark.jax, pytest.mark.slow]
                     if cases.in_jax_subset(combo) else [],
                     id="-".join(combo))
        for combo in cases.combos()
    ]


def test_the_build_matrix_holds_every_pair_of_model_cell_and_variant():
    names = ["name", "cell", "variant"]
    chosen = [dict(zip(names, combo)) for combo in cases.combos()]
    assert all(cases._allowed(c) for c in chosen)
    held = set().union(*(covering.pairs_of(c, names) for c in chosen))
    reachable = set().union(*(covering.pairs_of(c, names)
                              for c in covering.product(cases._axes(), cases._allowed)))
    assert held >= reachable
    assert set(cases.JAX_COMBOS) <= set(cases.combos())


@pytest.mark.parametrize("name,cell,variant", _matrix_params())
def test_build_train_predict_keras_round_trip(name, cell, variant, tmp_path):
    model = zoo.create_model(name, **cases.variant_kwargs(name, cell, variant))
    assert model.name == name
    assert model.zoo_spec["name"] == name
    x, y = cases.batch(name)
    assert sorted(t.name for t in model.inputs) == sorted(x)
    # Adam's first step moves every weight by about the learning rate: with 1e-3 the
    # deep layer-normalised LSTM overshoots (loss 1.1281 -> 1.1310 at seed 1234) and
    # 3e-4 lowers it; the other cells keep 1e-3.
    cases.compile_model(model, name, learning_rate=3e-4 if cell == "lnlstm" else 1e-3)

    before = model.evaluate(x, y, batch_size=4, verbose=0)
    model.train_on_batch(x, y)
    after = model.evaluate(x, y, batch_size=4, verbose=0)
    assert after < before, (before, after)

    pred = model.predict(x, batch_size=4, verbose=0)
    assert pred.shape == cases.output_shape(name)
    assert np.all(np.isfinite(pred))

    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(loaded.predict(x, batch_size=4, verbose=0), pred, atol=1e-6)
    if cases.is_generative(name):
        tokens, scores = _decode(model, name, x)
        tokens2, scores2 = _decode(loaded, name, x)
        np.testing.assert_array_equal(tokens, tokens2)
        np.testing.assert_allclose(scores, scores2, atol=1e-5)


# One export per factory in the default suite. The slow run adds a rotation over the
# classic cells (each cell once and each variant once per factory, not the whole
# product: the export path depends on the factory and the variant, and the cells'
# own maths is checked by the Keras round trip above); each newer cell is exported
# once, in a factory that streams or decodes with it.
_DEFAULT_EXPORTS = {
    ("one_to_one", "gru", "plain"),
    ("many_to_one", "lstm", "bidirectional"),
    ("many_to_many", "simple", "deep"),
    ("one_to_many", "lstm", "deep"),
    ("encoder_decoder", "gru", "bidirectional"),
}
_NEW_CELL_EXPORTS = {
    ("many_to_one", "indrnn"),
    ("one_to_many", "mingru"),
    ("many_to_many", "minlstm"),
    ("encoder_decoder", "lnlstm"),
}


def _default_export(combo):
    if any(c[0] == combo[0] for c in _DEFAULT_EXPORTS):
        return combo in _DEFAULT_EXPORTS
    return combo == next(c for c in cases.rotation() if c[0] == combo[0])


def _rotation_export(combo):
    """Whether `combo` is on the classic cells' rotation: cell i of CLASSIC_CELLS with
    variant (i + factory index) of the factory's variants."""
    name, cell, variant = combo
    index = cases.names().index(name)
    allowed = cases.variants(name)
    i = cases.CLASSIC_CELLS.index(cell)
    return variant == allowed[(index + i) % len(allowed)]


def _export_params():
    params = []
    for combo in cases.rotation():
        if combo[1] in cases.NEW_CELLS:
            if combo[:2] in _NEW_CELL_EXPORTS:
                params.append(pytest.param(*combo, id="-".join(combo)))
        elif _default_export(combo):
            params.append(pytest.param(*combo, id="-".join(combo)))
        elif _rotation_export(combo):
            params.append(pytest.param(*combo, marks=[pytest.mark.slow], id="-".join(combo)))
    return params


def test_the_export_matrix_covers_every_factory_cell_and_variant():
    covered = [p.values for p in _export_params()]
    for name in cases.names():
        mine = [c for c in covered if c[0] == name]
        assert {c[1] for c in mine} >= set(cases.CLASSIC_CELLS), name
        assert {c[2] for c in mine} == set(cases.variants(name)), name
    assert {c[1] for c in covered} == set(cases.CELLS)


@pytest.mark.parametrize("name,cell,variant", _export_params())
@pytest.mark.slow
def test_saved_model_round_trip(name, cell, variant, tmp_path):
    import tensorflow as tf

    kwargs = cases.variant_kwargs(name, cell, variant)
    model = zoo.create_model(name, **kwargs)
    x, y = cases.batch(name)
    cases.compile_model(model, name)
    model.train_on_batch(x, y)

    target = tmp_path / "export" / "1"
    path = zoo.export.export_saved_model(model, target, metadata={"metrics": {"loss": 1.5}})
    assert path == target
    info = json.loads((target / "zoo_export.json").read_text())
    assert info["model"]["name"] == name
    assert info["model"]["kwargs"] == json.loads(json.dumps(kwargs))
    assert info["metrics"] == {"loss": 1.5}
    assert {c["signature"] for c in info["verification"]["cases"]} >= {"serve"}
    assert all(c["max_rel_diff"] <= 1e-6 for c in info["verification"]["cases"])
    assert [p.name for p in target.parent.iterdir()] == ["1"]  # no temporary leftovers

    # Also in this process: the serving signature equals the Keras model.
    loaded = tf.saved_model.load(str(target))
    expected = {"one_to_many": {"generate"}, "encoder_decoder": {"translate", "beam_search"}}
    # ExportArchive also aliases the first endpoint as `serving_default`.
    # Models without a decoder get the raw-level `predict` of zoo.export.predict; causal
    # recurrent models stream (zoo.export.streaming: initial_state, step).
    streams = name in ("one_to_many", "many_to_one", "many_to_many") and not kwargs.get(
        "bidirectional")
    expected = expected.get(name, {"predict", "preprocess"})
    expected |= {"initial_state", "step"} if streams else set()
    assert set(loaded.signatures) == {"serve", "serving_default"} | expected
    out = loaded.signatures["serve"](**{k: tf.constant(v) for k, v in x.items()})["output_0"]
    np.testing.assert_allclose(out.numpy(), model.predict(x, verbose=0), atol=1e-6)


@pytest.mark.jax
@pytest.mark.parametrize("cell", ["lstm", "gru", "mingru", "minlstm", "lnlstm"])
def test_chrono_init_reaches_every_recurrent_cell(cell):
    """`chrono_init=T` in a factory gives each layer's cell (encoder and decoder
    alike) chrono_init T, so its keep-gate bias lies in log [1, T - 1]."""
    model = zoo.create_model("encoder_decoder", source_vocab_size=9, target_vocab_size=9,
                             cell=cell, units=8, num_layers=2, bidirectional=True,
                             chrono_init=50)
    found = _zoo_cells(model)
    assert len(found) == 2 * 2 + 2  # two bidirectional encoder layers, two decoder cells
    assert {c.chrono_init for c in found} == {50}
    for c in found:  # chrono blocks drawn from ±log U(1, 49), the rest zeros
        bias = np.abs(keras.ops.convert_to_numpy(c.bias)).ravel()
        assert bias.max() <= np.log(49) + 1e-6 and np.count_nonzero(bias) >= c.units


@pytest.mark.jax
def test_cell_options_reach_every_layer():
    model = zoo.create_model("many_to_one", input_dim=2, output_dim=1, cell="indrnn", units=6,
                             num_layers=2,
                             cell_options={"max_length": 400, "activation": "tanh"})
    found = _zoo_cells(model)
    assert len(found) == 2
    from zoo.layers.indrnn import recurrent_bound
    bound = recurrent_bound(400, "tanh")
    for cell in found:
        assert cell.activation is keras.activations.tanh
        assert cell.recurrent_max_abs == pytest.approx(bound)
        assert float(np.max(np.abs(keras.ops.convert_to_numpy(cell.recurrent_kernel)))) <= bound


def _zoo_cells(model):
    from zoo.layers.base_cell import RecurrentCell
    return [layer for layer in model._flatten_layers(include_self=False)
            if isinstance(layer, RecurrentCell)]
