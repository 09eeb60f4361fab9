"""The objective of every trial is the whole validation split, for every tuner.

The recipe here caches its validation split the way ``zoo.data.pipelines``
does (``cache`` before ``batch``) over a source that prefetches, as a TFDS
read does. A partial read of such a pipeline (``take(1)``) leaves a truncated
cache behind, which later reads then serve as if it were the whole split. So
each trial's recorded objective, in keras-tuner's own state and in the sweep
summary, is compared here with ``model.evaluate`` of the trial's checkpoint
on a freshly loaded, fully read validation split.
"""

import dataclasses
import json
import os
import subprocess
import sys
import time
import types

import keras_tuner
import numpy as np
import pytest
import tensorflow as tf

from tests import tuning_recipe_fixture as fixture
from zoo.data import pipelines
from zoo.recipe import Data
from zoo.tuning import HyperModel, tune, tuners

pytestmark = pytest.mark.slow  # three sweeps and a sweep in a fresh process: minutes

VALIDATION_SIZE = 100  # not a multiple of the batch size: the last batch is partial
CACHE_WARNING = "did not fully read the dataset being cached"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclasses.dataclass
class Config(fixture.Config):
    validation_size: int = VALIDATION_SIZE
    # True: the split is read with latency and prefetched before the cache, so
    # a partial read truncates the cache; False: read at once, so a partial
    # read makes TensorFlow discard the cache (and warn).
    prefetched_source: bool = True


def _slow_source(x, y):
    """The examples of (x, y), each read with a little latency, then prefetched."""

    def read(i):
        time.sleep(0.02)  # 2 s for the whole split: a partial read ends mid-read
        return i

    def example(i):
        i = tf.py_function(read, [i], tf.int64)
        i.set_shape(())
        return tf.gather(x, i), tf.gather(y, i)

    return tf.data.Dataset.range(len(y)).map(example).prefetch(tf.data.AUTOTUNE)


def load_data(config, data_dir=None):
    rng = np.random.default_rng(config.seed)
    train = fixture._split(rng, config.train_size)
    validation = fixture._split(rng, config.validation_size)
    if config.prefetched_source:
        source = _slow_source(*validation)
    else:
        source = tf.data.Dataset.from_tensor_slices(validation)
    test = fixture._split(rng, 32)
    return Data(
        tf.data.Dataset.from_tensor_slices(train).batch(config.batch_size),
        pipelines.batch(source, batch_size=config.batch_size),
        tf.data.Dataset.from_tensor_slices(test).batch(config.batch_size),
        model_kwargs={"input_dim": fixture.FEATURES, "num_classes": 2},
    )


RECIPE = types.SimpleNamespace(
    NAME="cached_validation",
    Config=Config,
    load_data=load_data,
    build_model=fixture.build_model,
    evaluate=fixture.evaluate,
    SEARCH_SPACE=fixture.SEARCH_SPACE,
    OBJECTIVE=("val_accuracy", "max"),
)


def _config(**changes):
    return dataclasses.replace(Config(), epochs=2, train_size=48, batch_size=16, **changes)


def _sweep(kind, directory, **changes):
    return tune(
        RECIPE, tuner=kind, max_trials=2, config=_config(**changes), directory=directory, seed=3,
        patience=0, verbose=0,
    )  # fmt: skip


def _partial_then_full_read(**changes):
    """A ``take(1)`` read of the validation split, then a full one: the examples it yields.

    Over the prefetched source the partial read may leave a truncated cache
    (a race, so not asserted here); over a plain source TensorFlow discards
    the partial cache and logs its warning.
    """
    validation = load_data(_config(**changes)).validation
    for _ in validation.take(1):
        pass
    return sum(int(y.shape[0]) for _, y in validation)


# CI sweeps with the random tuner; the exhaustive tier with the other two as well (a sweep
# each: the objective is read the same way whatever the tuner).
@pytest.mark.parametrize("kind", ["random", pytest.param("hyperband", marks=pytest.mark.exhaustive),
                                  pytest.param("bayesian", marks=pytest.mark.exhaustive)])
def test_each_trial_objective_is_evaluate_on_the_whole_validation_split(kind, tmp_path):
    summary = _sweep(kind, str(tmp_path))
    assert summary["completed"] == summary["num_trials"] == 2
    # The sweep reloaded from its folder, as keras-tuner keeps it.
    hypermodel = HyperModel(RECIPE, _config())
    oracle = tuners.make_oracle(
        kind, keras_tuner.Objective("val_accuracy", "max"), max_trials=2, max_epochs=2, seed=3
    )
    sweep = tuners.make_tuner(
        kind, hypermodel, oracle, directory=str(tmp_path), project_name=f"cached_validation_{kind}"
    )
    validation = load_data(_config()).validation  # a fresh copy of the split, read in full
    assert sum(int(y.shape[0]) for _, y in validation) == VALIDATION_SIZE
    rows = {row["trial_id"]: row for row in summary["trials"]}
    for trial_id, trial in sweep.oracle.trials.items():
        logs = sweep.load_model(trial).evaluate(validation, verbose=0, return_dict=True)
        # The checkpoint is the best epoch's: its metrics are those of `best_step`.
        recorded = {
            name: [o for o in trial.metrics.get_history(name) if o.step == trial.best_step]
            for name in ("val_accuracy", "val_loss")
        }
        assert all(len(observations) == 1 for observations in recorded.values())
        assert trial.score == pytest.approx(logs["accuracy"], abs=1e-6)
        assert rows[trial_id]["objective"] == pytest.approx(logs["accuracy"], abs=1e-6)
        assert recorded["val_accuracy"][0].mean() == pytest.approx(logs["accuracy"], abs=1e-6)
        assert recorded["val_loss"][0].mean() == pytest.approx(logs["loss"], rel=1e-5)
        # Accuracies over the whole split are multiples of 1/VALIDATION_SIZE.
        assert trial.score * VALIDATION_SIZE == pytest.approx(round(trial.score * VALIDATION_SIZE))
        with open(tmp_path / f"cached_validation_{kind}" / f"trial_{trial_id}" / "trial.json") as f:
            assert json.load(f)["score"] == pytest.approx(logs["accuracy"], abs=1e-6)


def test_a_sweep_provokes_no_cache_warning(tmp_path):
    # TensorFlow logs the warning from C++; the suite silences those logs, so
    # the sweep runs in a fresh process with them on.
    code = (
        "import sys; from tests import test_tuning_objective as t; "
        "s = t._sweep('random', sys.argv[1], prefetched_source=False); "
        "print('completed', s['completed']); print('SWEEP DONE', file=sys.stderr, flush=True); "
        "t._partial_then_full_read(prefetched_source=False)"
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0", PYTHONPATH=ROOT)
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "completed 2" in done.stdout
    sweep_log, after = done.stderr.split("SWEEP DONE")
    assert CACHE_WARNING not in sweep_log
    # The partial read after the sweep shows that the warning does reach stderr.
    assert CACHE_WARNING in after, after[-3000:]
