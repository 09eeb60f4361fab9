"""Copy memory: recall ten symbols after a delay of T blank steps.

Each input (``copy_memory/length_T``) is ten symbols drawn from eight, T - 1
blanks, a delimiter, then ten blanks (T + 20 steps); the target is blank at
every step but the last ten, which repeat the ten symbols (Hochreiter &
Schmidhuber 1997; Arjovsky et al. 2016). The model is many-to-many over the
token ids (softmax over the 11 tokens at every step, the loss on every step:
``zoo.losses.SequenceLoss``, summed over the steps); what counts is the
accuracy on the ten recall steps. Guessing the most common token (the blank)
scores 0 there, and a memoryless model that has learned to output blanks and
then any symbol scores 1/8 = 0.125: the trivial baseline. A run has learned the
task when its recall accuracy is above halfway from that baseline to 1
((1/8 + 1) / 2 = 0.5625).

The main run trains one model (``Config.model``) at delay ``length``; the report
is the same length study as the adding problem's (``recipes._length_study``):
every cell of ``cells``, each gated one also with ``chrono_init=T`` when
``chrono``, IndRNN with its bound for T steps, trained at every delay of
``lengths`` for ``study_updates`` updates, written to ``metrics.json``,
``study.md``, ``accuracy_by_length.png`` and ``gradient_flow.png``. Smaller than
the adding problem's by default (T = 50, 100; fewer updates).

Run: ``zoo train copy_memory`` or ``python -m recipes.copy_memory``; part of the
study: ``--set lengths=100 --set cells=gru,lstm``; the delays with data: 50,
100, 200, 400.
"""

import dataclasses
import math

from recipes import _length_study, base
from zoo.recipe import BaseConfig, main_for

NAME = "copy_memory"
NUM_SYMBOLS = 8  # zoo.data.builders.copy_memory: ids 1..8 symbols, 9 blank, 10 delimiter
MEMORY = 10
VOCAB_SIZE = 11
BASELINE_RECALL_ACCURACY = 1.0 / NUM_SYMBOLS  # memoryless: any symbol on the recall steps
BLANK_RECALL_ACCURACY = 0.0  # the most common token (blank) is never a recall target
BASELINE_LOSS = MEMORY * math.log(NUM_SYMBOLS)  # per sequence: blanks right, symbols uniform


@dataclasses.dataclass
class Config(BaseConfig):
    epochs: int = 5
    batch_size: int = 64
    learning_rate: float = 3e-3
    length: int = 50
    train_examples: int = 10000
    lengths: tuple = (50, 100)
    cells: tuple = _length_study.CELLS
    chrono: bool = True
    study_updates: int = 300
    study_units: int = 32
    study_learning_rate: float = 1e-2
    study_train_examples: int = 10000
    model: dict = dataclasses.field(default_factory=lambda: {
        "name": "many_to_many", "cell": "gru", "units": 64, "embedding_dim": 16})


TINY = {"epochs": 1, "length": 50, "train_examples": 128, "batch_size": 32,
        "lengths": (50,), "cells": ("simple", "indrnn"), "study_updates": 3,
        "study_units": 8, "study_train_examples": 128,
        "model": {"name": "many_to_many", "cell": "gru", "units": 8, "embedding_dim": 8}}
SEARCH_SPACE = {
    "cell": {"type": "choice", "values": ["simple", "gru", "lstm"], "default": "gru"},
    "units": {"type": "int", "min": 16, "max": 128, "step": 16, "default": 64},
    "learning_rate": {"type": "float", "min": 1e-4, "max": 1e-2, "sampling": "log",
                      "default": 3e-3},
}
OBJECTIVE = ("val_loss", "min")


def _lengths():
    from zoo.data.builders.copy_memory import LENGTHS

    return LENGTHS


def _split(config, length, split, n, data_dir):
    import zoo.data
    from zoo.data import pipelines

    spec = split if n is None else f"{split}[:{n}]"
    ds = zoo.data.load(f"copy_memory/length_{length}", spec, data_dir=data_dir,
                       as_supervised=True)
    ds = ds.map(lambda x, y: ({"tokens": x}, y))
    if split == "train":
        ds = pipelines.shuffle(ds, 4096, seed=config.seed)  # order: (seed, epoch)
    return ds.batch(config.batch_size).prefetch(2)


def load_data(config, data_dir=None, length=None, train_examples=None):
    if length is None:  # the main run: the study's config is checked before it trains
        if config.length not in _lengths():
            raise ValueError(
                f"--set length: copy memory has no data for delay {config.length!r}. "
                f"Allowed: {', '.join(map(str, _lengths()))}. Received: length={config.length!r}")
        if config.cells:
            _length_study.check(config, _task(data_dir))
    return _length_study.splits(config, _split, length or config.length,
                                train_examples or config.train_examples, data_dir,
                                {"vocab_size": VOCAB_SIZE, "num_classes": VOCAB_SIZE})


def build_model(config, data):
    return base.build_sequence_model(config, data)


def recall_accuracy(model, dataset):
    """The fraction of the recall steps (the last ten) whose symbol is predicted."""
    import numpy as np

    right = total = 0
    for inputs, targets in dataset:
        logits = model.predict_on_batch(inputs)
        guess = np.argmax(np.asarray(logits)[:, -MEMORY:], axis=-1)
        right += int(np.sum(guess == np.asarray(targets)[:, -MEMORY:]))
        total += guess.size
    return right / max(total, 1)


def evaluate(model, data, config):
    results = model.evaluate(data.test, verbose=0, return_dict=True)
    return {"recall_accuracy": recall_accuracy(model, data.test),
            "token_accuracy": float(results["token_accuracy"]),
            "loss": float(results["loss"]),
            "baseline_recall_accuracy": BASELINE_RECALL_ACCURACY,
            "most_common_recall_accuracy": BLANK_RECALL_ACCURACY,
            "baseline_loss": BASELINE_LOSS}


def _probe(data):
    x, y = next(iter(data.test))
    return x["tokens"], y


def _task(data_dir):
    return _length_study.Task(
        name="Copy memory", lengths=_lengths(), score="recall_accuracy",
        score_label="recall accuracy", baseline=BASELINE_RECALL_ACCURACY, perfect=1.0,
        load=lambda config, length, n: load_data(config, data_dir, length=length,
                                                 train_examples=n),
        build=build_model, score_fn=lambda model, data: recall_accuracy(model, data.test),
        probe=_probe, horizon=lambda delay: delay + 20)


report = _length_study.make_report(_task)  # every cell (and init) at every delay


main = main_for(__name__)

if __name__ == "__main__":
    main()
