"""Character language model: Shakespeare, one character at a time.

One-to-many text generation (``tiny_shakespeare``): a one-to-many LSTM with
a constant condition (one zero feature) is trained with teacher forcing on chunks of
``seq_length`` characters (``target_in`` = start + the chunk shifted right,
``target_out`` = the chunk), then writes new text from the start token by
sampling (temperature / top-k). Evaluated by bits per character on the test
text; the report holds a sample, and the export's ``predict`` signature
writes more: its condition is the constant zero feature
(``zoo generate saved_models/char_lm/1 --inputs '{"condition": [[0]]}' --max-length 200``).

Needs the ``tiny_shakespeare`` files (internet on first use, or prepared in
``--data-dir``). Run: ``zoo train char_lm``.
"""

import dataclasses
import math
import os

import numpy as np

from recipes import _standard, base
from zoo.recipe import BaseConfig, main_for

NAME = "char_lm"


@dataclasses.dataclass
class Config(BaseConfig):
    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 3e-3
    seq_length: int = 100
    sample_length: int = 300
    temperature: float = 0.8
    vocab_dir: str = ""
    model: dict = dataclasses.field(default_factory=lambda: {
        "name": "one_to_many", "cell": "lstm", "units": 256, "embedding_dim": 64})


TINY = {"epochs": 1, "batch_size": 2, "seq_length": 8, "sample_length": 12,
        "model": {"name": "one_to_many", "cell": "lstm", "units": 8, "embedding_dim": 8}}
SEARCH_SPACE = {
    "cell": {"type": "choice", "values": ["gru", "lstm"], "default": "lstm"},
    "units": {"type": "int", "min": 128, "max": 512, "step": 128, "default": 256},
    "learning_rate": {"type": "float", "min": 1e-3, "max": 1e-2, "sampling": "log",
                      "default": 3e-3},
}
OBJECTIVE = ("val_loss", "min")


def _as_generation(ds):
    """(tokens, next tokens) chunks -> one-to-many teacher-forced pairs."""
    import tensorflow as tf

    from zoo.data import pipelines

    def fn(inputs, _):
        chunk = inputs["tokens"]
        start = tf.fill([tf.shape(chunk)[0], 1], pipelines.START_ID)
        return ({"condition": tf.zeros([tf.shape(chunk)[0], 1], tf.float32),
                 "target_in": tf.concat([start, chunk[:, :-1]], axis=1)}, chunk)

    return ds.map(fn)


def load_data(config, data_dir=None):
    from zoo.data import pipelines, standard

    data = standard.tiny_shakespeare(data_dir=data_dir, batch_size=config.batch_size,
                                     seq_length=config.seq_length,
                                     vocab_dir=_standard.vocab_dir(config), seed=config.seed)
    data.train, data.validation, data.test = (
        _as_generation(data.train), _as_generation(data.validation), _as_generation(data.test))
    # The model's input is a constant condition: only its output is text.
    tokenizer = data.extras["tokenizers"]["output"]
    data.extras["tokenizers"] = {"output": tokenizer}
    data.artifacts["vocabulary"] = {"output": tokenizer.get_config()}
    data.model_kwargs.update(input_dim=1, start_token=pipelines.START_ID, end_token=None,
                             max_length=config.sample_length)
    return data


def build_model(config, data):
    return base.build_sequence_model(config, data)


def evaluate(model, data, config):
    results = model.evaluate(data.test, verbose=0, return_dict=True)
    # The loss sums the per-character cross-entropy (nats) over each chunk.
    bits = results["loss"] / config.seq_length / math.log(2)
    return {"bits_per_character": float(bits),
            "token_accuracy": float(results["token_accuracy"])}


def report(model, data, config, run_dir):
    import zoo.decoding

    tokens, _ = zoo.decoding.generate(model, np.zeros((1, 1), "float32"),
                                      max_length=config.sample_length,
                                      temperature=config.temperature, seed=config.seed)
    text = data.extras["tokenizers"]["output"].decode(tokens[0])
    path = os.path.join(run_dir, "sample.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    print("  sample:", text[:200].replace("\n", " / "))
    return {"sample": text, "sample_file": path}


main = main_for(__name__)

if __name__ == "__main__":
    main()
