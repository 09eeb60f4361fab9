"""Adding problem: how far back can each recurrent cell carry a gradient?

Each sequence has two features per step (a value, and a marker set at two
steps); the target is the sum of the two marked values. Always predicting 1.0
gives a mean squared error of about 0.167, so a model has learned the task
when its test MSE is well below that (here: under half of it). The main run
trains one many-to-one model (``Config.model``) at ``length`` steps.

The report is a vanishing-gradient study (``recipes._length_study``): every cell
of ``cells`` (simple, gru, lstm, indrnn, mingru, minlstm, lnlstm), each gated
one also with chrono initialisation (``chrono_init=T``, Tallec & Ollivier 2018)
when ``chrono``, IndRNN with its recurrent-weight bound for T steps and relu
(Li et al. 2018), is trained at every length of ``lengths`` for the same
``study_updates`` parameter updates (batches of ``batch_size``, ``study_units``
units, Adam at ``study_learning_rate`` with ``clipnorm``, the same seed). It
writes into the run folder the table (``metrics.json``'s report: cell, init,
length, test MSE, learned, seconds), ``study.md`` (one row per cell and init,
one column per T), ``mse_by_length.png`` (test MSE against T, the baseline
dotted) and ``gradient_flow.png`` (mean ||dL/da<t>|| over t at the longest T).

What the literature leads one to expect: the plain RNN fails from about T=100
(its gradient vanishes before it reaches the first marker); GRU and LSTM learn
to a few hundred steps, the LSTM much better with chrono initialisation; IndRNN
and the min-cells go further.

Run: ``zoo train adding_problem`` or ``python -m recipes.adding_problem``. The
default (the main run, then the study at T = 50, 100, 200: 12 runs per length,
400 updates each) took 9 min 30 s on two CPU cores, data generation included
(measured; docs/recipes.md). What it found: docs/results.md. Part of it:
``zoo train adding_problem --set lengths=100,200 --set cells=gru,lstm``; the full
study: ``zoo train adding_problem --set lengths=50,100,200,400,1000``;
no study: ``--set cells=()``.
"""

import dataclasses

from recipes import _length_study, base
from zoo.recipe import BaseConfig, main_for

NAME = "adding_problem"
BASELINE_MSE = 1.0 / 6.0  # E[(a + b - 1)^2] for a, b ~ U[0, 1)


@dataclasses.dataclass
class Config(BaseConfig):
    epochs: int = 8
    batch_size: int = 64
    learning_rate: float = 3e-3
    length: int = 100
    train_examples: int = 10000
    lengths: tuple = (50, 100, 200)
    cells: tuple = _length_study.CELLS
    chrono: bool = True
    study_updates: int = 400
    study_units: int = 32
    study_learning_rate: float = 1e-2
    study_train_examples: int = 10000
    model: dict = dataclasses.field(
        default_factory=lambda: {"name": "many_to_one", "cell": "gru", "units": 32})


TINY = {"epochs": 1, "length": 50, "train_examples": 128, "batch_size": 32,
        "lengths": (50,), "cells": ("simple", "mingru"), "study_updates": 3,
        "study_units": 8, "study_train_examples": 128}
SEARCH_SPACE = {
    "cell": {"type": "choice", "values": ["simple", "gru", "lstm"], "default": "gru"},
    "units": {"type": "int", "min": 16, "max": 128, "step": 16, "default": 32},
    "learning_rate": {"type": "float", "min": 1e-4, "max": 1e-2, "sampling": "log",
                      "default": 3e-3},
}
OBJECTIVE = ("val_loss", "min")


def _split(config, length, split, n, data_dir):
    import tensorflow as tf

    import zoo.data
    from zoo.data import pipelines

    spec = split if n is None else f"{split}[:{n}]"
    ds = zoo.data.load(f"adding_problem/length_{length}", spec, data_dir=data_dir,
                       as_supervised=True)
    ds = ds.map(lambda x, y: ({"features": x}, tf.expand_dims(y, -1)))
    if split == "train":
        ds = pipelines.shuffle(ds, 4096, seed=config.seed)  # order: (seed, epoch)
    return ds.batch(config.batch_size).prefetch(2)


def _check_length(length):
    from zoo.data.builders.adding_problem import LENGTHS

    if length not in LENGTHS:
        raise ValueError(f"--set length: the adding problem has no data for length {length!r}. "
                         f"Allowed: {', '.join(map(str, LENGTHS))}. Received: length={length!r}")


def load_data(config, data_dir=None, length=None, train_examples=None):
    if length is None:  # the main run: the study's config is checked before it trains
        _check_length(config.length)
        if config.cells:
            _length_study.check(config, _task(data_dir))
    return _length_study.splits(config, _split, length or config.length,
                                train_examples or config.train_examples, data_dir,
                                {"input_dim": 2, "output_dim": 1})


def build_model(config, data):
    model = base.create_model(config, data)
    return base.compile_model(model, config, loss="mse", metrics=["mae"])


def evaluate(model, data, config):
    results = model.evaluate(data.test, verbose=0, return_dict=True)
    return {"mse": float(results["loss"]), "mae": float(results["mae"]),
            "baseline_mse": BASELINE_MSE}


def _mse(model, data):
    return model.evaluate(data.test, verbose=0, return_dict=True)["loss"]


def _probe(data):
    x, y = next(iter(data.test))
    return x["features"], y


def _task(data_dir):
    from zoo.data.builders.adding_problem import LENGTHS

    return _length_study.Task(
        name="Adding problem", lengths=LENGTHS, score="test_mse", score_label="MSE",
        baseline=BASELINE_MSE, perfect=0.0,
        load=lambda config, length, n: load_data(config, data_dir, length=length,
                                                 train_examples=n),
        build=build_model, score_fn=_mse, probe=_probe, loss="mse", log_score=True)


report = _length_study.make_report(_task)  # every cell (and init) at every length


main = main_for(__name__)

if __name__ == "__main__":
    main()
