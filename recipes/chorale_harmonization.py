"""Chorale harmonisation: write Bach's bass line under a given soprano.

Many-to-many with Tx = Ty (``bach_chorales/four_voices``): at every 16th
note the soprano pitch comes in and the bass pitch comes out. The model
(``many_to_many``, bidirectional: the whole melody is known in advance)
reads pieces of ``max_steps`` steps of the 351 four-part chorales. Evaluated
by the share of steps whose bass pitch is exactly Bach's, beside the
baseline of always playing the most common bass pitch of the training set.

Run: ``zoo train chorale_harmonization``.
"""

import dataclasses

import numpy as np

from recipes import base
from zoo.recipe import BaseConfig, Data, main_for
from recipes._chorales import load_chorales

NAME = "chorale_harmonization"


@dataclasses.dataclass
class Config(BaseConfig):
    epochs: int = 20
    batch_size: int = 32
    learning_rate: float = 3e-3
    max_steps: int = 64
    max_chorales: int = 0
    model: dict = dataclasses.field(default_factory=lambda: {
        "name": "many_to_many", "cell": "lstm", "units": 96, "embedding_dim": 32,
        "bidirectional": True})


TINY = {"epochs": 1, "max_chorales": 12, "max_steps": 16, "batch_size": 8,
        "model": {"name": "many_to_many", "cell": "lstm", "units": 8, "embedding_dim": 8,
                  "bidirectional": True}}
SEARCH_SPACE = {
    "cell": {"type": "choice", "values": ["gru", "lstm"], "default": "lstm"},
    "units": {"type": "int", "min": 32, "max": 256, "step": 32, "default": 96},
    "learning_rate": {"type": "float", "min": 1e-3, "max": 1e-2, "sampling": "log",
                      "default": 3e-3},
}
OBJECTIVE = ("val_token_accuracy", "max")


def _pieces(config, split, data_dir):
    import tensorflow as tf

    ds = load_chorales("four_voices", split, max_chorales=config.max_chorales,
                       data_dir=data_dir)
    soprano, bass = [], []
    for ex in ds.as_numpy_iterator():
        for start in range(0, len(ex["soprano"]), config.max_steps):
            s = ex["soprano"][start:start + config.max_steps]
            if len(s) >= config.max_steps // 2:
                soprano.append(s)
                bass.append(ex["lower_voices"][start:start + config.max_steps, 2])

    def gen():
        for s, b in zip(soprano, bass):
            yield {"soprano": s.astype(np.int32), "bass": b.astype(np.int32)}

    spec = {"soprano": tf.TensorSpec((None,), tf.int32), "bass": tf.TensorSpec((None,), tf.int32)}
    as_ints = tf.data.Dataset.from_generator(gen, output_signature=spec)
    from zoo.data import pipelines

    return as_ints.map(lambda ex: {k: pipelines.int_tokens(v) for k, v in ex.items()}), bass


def load_data(config, data_dir=None):
    from zoo.data import pipelines
    from zoo.data.text import Tokenizer

    raw = {s: _pieces(config, s, data_dir) for s in ("train", "validation", "test")}
    soprano = Tokenizer.adapt(raw["train"][0].map(lambda ex: ex["soprano"]), level="tokens")
    bass = Tokenizer.adapt(raw["train"][0].map(lambda ex: ex["bass"]), level="tokens")
    train_bass = np.concatenate(raw["train"][1])
    test_bass = np.concatenate(raw["test"][1])
    common = np.bincount(train_bass).argmax()

    def batches(split):
        return pipelines.aligned_tokens(raw[split][0], soprano, bass,
                                        input_key="soprano", target_key="bass",
                                        batch_size=config.batch_size,
                                        training=split == "train", seed=config.seed)

    return Data(
        train=batches("train"), validation=batches("validation"), test=batches("test"),
        model_kwargs={"vocab_size": soprano.size, "num_classes": bass.size},
        artifacts={"vocabulary": {"input": soprano.get_config(), "output": bass.get_config()}},
        extras={"baseline_accuracy": float(np.mean(test_bass == common)),
                "tokenizers": {"input": soprano, "output": bass}},
    )


def build_model(config, data):
    return base.build_sequence_model(config, data)


def evaluate(model, data, config):
    results = model.evaluate(data.test, verbose=0, return_dict=True)
    return {"bass_accuracy": float(results["token_accuracy"]),
            "most_common_pitch_accuracy": data.extras["baseline_accuracy"]}


main = main_for(__name__)

if __name__ == "__main__":
    main()
