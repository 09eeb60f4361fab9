"""Small fixed batches and losses for every registered model (shared by the model tests)."""

import itertools

import keras
import numpy as np

from zoo import losses

CELLS = ("simple", "gru", "lstm")
VARIANTS = ("plain", "bidirectional", "deep")
SMALL = {"units": 8}

# Base kwargs of each factory for the tests.
BASE = {
    "one_to_one": {"input_dim": 3, "num_classes": 3},
    "many_to_one": {"vocab_size": 20, "embedding_dim": 6, "num_classes": 3},
    "many_to_many": {"input_dim": 3, "mask_value": 0.0, "num_classes": 4},
    "one_to_many": {"input_dim": 3, "vocab_size": 9, "embedding_dim": 6, "end_token": 2,
                    "max_length": 6},
    "encoder_decoder": {"source_vocab_size": 12, "target_vocab_size": 9, "embedding_dim": 6,
                        "attention": "luong", "max_output_length": 6},
}
GENERATIVE = ("one_to_many", "encoder_decoder")


def variant_kwargs(name, cell, variant):
    kwargs = dict(BASE[name], cell=cell, **SMALL)
    if variant == "bidirectional":
        kwargs["bidirectional"] = True
    elif variant == "deep":
        kwargs.update(num_layers=2, residual=True, input_block=(8,), transition_block=(8,),
                      output_block=(8,))
        if name == "encoder_decoder":
            kwargs["attention"] = "bahdanau"
    return kwargs


# The combinations that also run under KERAS_BACKEND=jax (every factory, cell and
# variant appears at least once; the full matrix runs on TensorFlow).
JAX_COMBOS = {
    ("one_to_one", "simple", "bidirectional"),
    ("many_to_one", "gru", "deep"),
    ("many_to_many", "lstm", "bidirectional"),
    ("one_to_many", "gru", "deep"),
    ("encoder_decoder", "lstm", "deep"),
    ("encoder_decoder", "simple", "plain"),
}


def combos():
    """Every (model, cell, variant) the factories allow."""
    out = []
    for name, cell, variant in itertools.product(BASE, CELLS, VARIANTS):
        if variant == "bidirectional" and name == "one_to_many":
            continue
        out.append((name, cell, variant))
    return out


def batch(name, batch_size=4, steps=6, seed=0):
    """(inputs dict, targets) for `name`, with padding where the model masks."""
    rng = np.random.default_rng(seed)
    lengths = np.array([steps, steps - 1, steps - 3, 2][:batch_size] + [steps] * (batch_size - 4))
    valid = np.arange(steps)[None, :] < lengths[:, None]
    if name == "one_to_one":
        return ({"features": rng.normal(size=(batch_size, 3)).astype("float32")},
                rng.integers(0, 3, size=(batch_size,)))
    if name == "many_to_one":
        tokens = np.where(valid, rng.integers(1, 20, size=(batch_size, steps)), 0)
        return {"tokens": tokens.astype("int32")}, rng.integers(0, 3, size=(batch_size,))
    if name == "many_to_many":
        features = rng.uniform(0.5, 1.5, size=(batch_size, steps, 3)).astype("float32")
        features = np.where(valid[..., None], features, 0.0).astype("float32")
        return {"features": features}, rng.integers(0, 4, size=(batch_size, steps))
    target = np.where(valid, rng.integers(3, 9, size=(batch_size, steps)), 0).astype("int32")
    target[np.arange(batch_size), lengths - 1] = 2  # end token
    target_in = np.concatenate([np.ones((batch_size, 1), "int32"), target[:, :-1]], axis=1)
    target_in = np.where(valid, target_in, 0).astype("int32")
    if name == "one_to_many":
        return ({"condition": rng.normal(size=(batch_size, 3)).astype("float32"),
                 "target_in": target_in}, target)
    source = np.where(valid, rng.integers(1, 12, size=(batch_size, steps)), 0).astype("int32")
    return {"source": source, "target_in": target_in}, target


def loss_for(name):
    if name in ("one_to_one", "many_to_one"):
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    if name == "many_to_many":
        return losses.SequenceLoss()
    return losses.SequenceLoss(ignore_class=0)


def compile_model(model, name, learning_rate=1e-3):
    # On TensorFlow the batches are so tiny that tracing costs more than it saves;
    # on JAX, eager op-by-op dispatch is the slower of the two.
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=loss_for(name),
        run_eagerly=keras.config.backend() == "tensorflow",
    )
    return model
