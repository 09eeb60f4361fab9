"""zoo.tuning._upstream: the workaround for keras-team/keras-tuner#915, and when it can go."""

import keras_tuner
import pytest

from zoo.tuning import _upstream, oracles


def _attach(oracle, directory):
    """Give ``oracle`` a project folder and a search space the public way: a tuner around it."""
    keras_tuner.Tuner(oracle=oracle, hypermodel=lambda hp: hp.Int("units", 1, 100),
                      directory=str(directory), project_name="probe", overwrite=True)
    return oracle


def test_upstream_bug_a_dead_workers_trial_is_never_requeued(tmp_path):
    """keras-tuner's own oracle keeps a dead worker's trial forever (issue #915).

    When this test fails, keras-tuner requeues such trials itself: drop the
    heartbeat timeout of zoo.tuning.oracles and the server loop of
    zoo.tuning._upstream, and use keras-tuner's public chief mode.
    """
    oracle = keras_tuner.oracles.RandomSearchOracle(
        objective=keras_tuner.Objective("score", "max"), max_trials=1, seed=0)
    _attach(oracle, tmp_path)
    running = oracle.create_trial("tuner0")  # tuner0 then dies without a word
    assert running.status == "RUNNING"
    again = oracle.create_trial("tuner1")
    assert again.status == "STOPPED"  # the trial is not handed to the live worker
    assert "tuner0" in oracle.ongoing_trials  # ... and never leaves the running ones
    assert "trial_timeout" not in keras_tuner.Oracle.__init__.__code__.co_varnames


def test_the_zoo_oracle_requeues_it(tmp_path, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(oracles.time, "monotonic", lambda: clock[0])
    oracle = oracles.RandomSearchOracle(
        objective=keras_tuner.Objective("score", "max"), max_trials=1, seed=0,
        trial_timeout=10, idle_wait=0)
    _attach(oracle, tmp_path)
    running = oracle.create_trial("tuner0")
    clock[0] += 11  # tuner0 is silent past the timeout
    again = oracle.create_trial("tuner1")
    assert again.status == "RUNNING" and again.trial_id == running.trial_id
    assert "tuner0" not in oracle.ongoing_trials


@pytest.mark.parametrize("version, expected", [
    ("1.4.8", True), ("1.4.0", True), ("1.5.0", False), ("2.0.0", False)])
def test_the_workaround_is_guarded_by_the_version(version, expected):
    assert _upstream.supported(version) is expected
    assert _upstream.supported() is (keras_tuner.__version__.startswith("1.4."))
