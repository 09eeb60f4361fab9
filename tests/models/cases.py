"""Small fixed batches and losses for every registered model (shared by the model tests).

Everything here is derived from the registry: each registered model carries
an ``Example`` (``zoo.models.registry``) with small arguments, the kinds of
its inputs and its output shape; a model registered without one fails the
tests (``example(name)``).
"""

import inspect
import itertools

import keras
import numpy as np
import pytest

import zoo
from tests import covering
from zoo import losses
from zoo.models import registry

# The build-and-train test runs a pairwise covering set of (model, cell, variant)
# (combos()); the export matrix runs the classic cells in every variant of every
# factory and each newer cell in one variant per factory, in rotation (rotation()).
CLASSIC_CELLS = ("simple", "gru", "lstm")
NEW_CELLS = ("indrnn", "mingru", "minlstm", "lnlstm")
CELLS = CLASSIC_CELLS + NEW_CELLS
VARIANTS = ("plain", "bidirectional", "deep")
SMALL = {"units": 8}
START, END = 1, 2  # the start and end ids of the example batches


def names():
    """Every registered model: the tests are parametrized over this."""
    return zoo.list_models()


def example(name):
    found = registry.get_model_example(name)
    if found is None:
        pytest.fail(
            f"Model {name!r} is registered without an example: pass "
            "example=zoo.models.registry.Example(...) to register_model, so that it is tested."
        )
    return found


def _parameters(name):
    return inspect.signature(registry.get_model_factory(name)).parameters


def is_generative(name):
    """Whether the model generates (it reads the previous tokens)."""
    return "target_in" in example(name).inputs


def variant_kwargs(name, cell, variant):
    kwargs = dict(example(name).kwargs, cell=cell, **SMALL)
    params = _parameters(name)
    if variant == "bidirectional":
        kwargs["bidirectional"] = True
    elif variant == "deep":
        deep = dict(num_layers=2, residual=True, input_block=(8,), transition_block=(8,),
                    output_block=(8,))
        kwargs.update({k: v for k, v in deep.items() if k in params})
        if kwargs.get("attention"):  # the deep variant also tries the other attention
            kwargs["attention"] = "bahdanau" if kwargs["attention"] == "luong" else "luong"
    return kwargs


# The combinations that also run under KERAS_BACKEND=jax (every factory, cell and
# variant appears at least once; the full matrix runs on TensorFlow). A model
# not named here runs its first combination under JAX.
JAX_COMBOS = {
    ("one_to_one", "simple", "bidirectional"),
    ("many_to_one", "gru", "deep"),
    ("many_to_many", "lstm", "bidirectional"),
    ("one_to_many", "gru", "deep"),
    ("encoder_decoder", "lstm", "deep"),
    ("encoder_decoder", "simple", "plain"),
}


def variants(name):
    """The variants the model `name` allows."""
    found = registry.get_model_example(name)  # a missing example fails in the tests, not here
    bidirectional = "bidirectional" in _parameters(name) and (found is None or found.bidirectional)
    return tuple(v for v in VARIANTS if v != "bidirectional" or bidirectional)


def rotation():
    """Every variant of every factory with the classic cells, and each newer cell in one
    variant per factory (in rotation): the choice of the export matrix."""
    found = []
    for index, name in enumerate(names()):
        allowed = variants(name)
        found += [(name, cell, variant)
                  for cell, variant in itertools.product(CLASSIC_CELLS, allowed)]
        found += [(name, cell, allowed[(index + j) % len(allowed)])
                  for j, cell in enumerate(NEW_CELLS)]
    return found


def _axes():
    return {"name": names(), "cell": list(CELLS), "variant": list(VARIANTS)}


def _allowed(case):
    return case["variant"] in variants(case["name"])


def combos():
    """The (model, cell, variant) combinations tested: a pairwise covering set (every
    model with every cell and every variant it allows, every cell with every variant;
    tests/covering.py), their full product in the exhaustive tier. The JAX subset
    (:data:`JAX_COMBOS`) is added where the set lacks it."""
    found = [(c["name"], c["cell"], c["variant"]) for c in covering.cases(_axes(), _allowed)]
    return found + [c for c in sorted(JAX_COMBOS) if c not in found and c[0] in names()]


def in_jax_subset(combo):
    if any(c[0] == combo[0] for c in JAX_COMBOS):
        return combo in JAX_COMBOS
    return combo == next(c for c in combos() if c[0] == combo[0])


def output_shape(name, batch_size=4, steps=6):
    """The expected output shape of `name` on ``batch(name, batch_size, steps)``."""
    sizes = {"steps": steps}
    return (batch_size,) + tuple(sizes.get(d, d) for d in example(name).output)


def _lengths(batch_size, steps):
    return np.array([steps, steps - 1, steps - 3, 2][:batch_size] + [steps] * (batch_size - 4))


def _input(kind, size, rng, valid):
    batch_size, steps = valid.shape
    if kind == "vector":
        return rng.normal(size=(batch_size, size)).astype("float32")
    if kind == "ids":
        return rng.integers(0, size, size=(batch_size,)).astype("int32")
    if kind == "tokens":
        return np.where(valid, rng.integers(1, size, size=(batch_size, steps)), 0).astype("int32")
    if kind == "features":
        features = rng.uniform(0.5, 1.5, size=(batch_size, steps, size))
        return np.where(valid[..., None], features, 0.0).astype("float32")
    raise AssertionError(kind)


def _target(size, rng, valid):
    """A target sequence (ids in [3, size), END last, 0-padded) and its
    teacher-forcing input (START, then the target shifted right)."""
    batch_size, _ = valid.shape
    target = np.where(valid, rng.integers(3, size, size=valid.shape), 0).astype("int32")
    target[np.arange(batch_size), valid.sum(1) - 1] = END
    target_in = np.concatenate([np.full((batch_size, 1), START, "int32"), target[:, :-1]], 1)
    return target, np.where(valid, target_in, 0).astype("int32")


def batch(name, batch_size=4, steps=6, seed=0):
    """(inputs dict, targets) for `name`, with padding where the model masks."""
    rng = np.random.default_rng(seed)
    valid = np.arange(steps)[None, :] < _lengths(batch_size, steps)[:, None]
    inputs, target = {}, None
    for input_name, (kind, size) in example(name).inputs.items():
        if kind == "target_in":
            target, inputs[input_name] = _target(size, rng, valid)
        else:
            inputs[input_name] = _input(kind, size, rng, valid)
    if target is None:
        shape = output_shape(name, batch_size, steps)
        target = rng.integers(0, shape[-1], size=shape[:-1])
    return inputs, target


def loss_for(name):
    if is_generative(name):
        return losses.SequenceLoss(ignore_class=0)
    if "steps" in example(name).output:
        return losses.SequenceLoss()  # padding: the Keras mask of the prediction
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def compile_model(model, name, learning_rate=1e-3):
    # On TensorFlow the batches are so tiny that tracing costs more than it saves;
    # on JAX, eager op-by-op dispatch is the slower of the two.
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=loss_for(name),
        run_eagerly=keras.config.backend() == "tensorflow",
    )
    return model
