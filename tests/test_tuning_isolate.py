"""Trials in subprocesses (``isolate_trials``): same sweep, one process per trial."""

import dataclasses
import json

import pytest

from tests import tuning_recipe_fixture as fixture
from zoo.tuning import tune

pytestmark = pytest.mark.slow


def test_isolated_trials_run_one_process_each_and_resume(tmp_path):
    config = dataclasses.replace(fixture.Config(), **fixture.TINY)
    kwargs = dict(config=config, directory=str(tmp_path), seed=2, verbose=0, isolate_trials=True)
    summary = tune("tests.tuning_recipe_fixture", max_trials=2, **kwargs)
    assert summary["num_trials"] == summary["completed"] == 2
    # One process per trial, and one more that is told the sweep is over.
    assert len(set(summary["trial_processes"])) == 3
    project = tmp_path / "tuning_fixture_random"
    assert json.loads((project / "summary.json").read_text())["best"] == summary["best"]
    # Resuming works the same: the two finished trials stay, one more runs.
    more = tune("tests.tuning_recipe_fixture", max_trials=3, **kwargs)
    assert more["trials"][:2] == summary["trials"] and more["completed"] == 3


def test_isolate_trials_refuses_distributed_and_custom_spaces(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="SEARCH_SPACE only"):
        tune(fixture, isolate_trials=True, search_space={}, directory=str(tmp_path), verbose=0,
             config=dataclasses.replace(fixture.Config(), **fixture.TINY))  # fmt: skip
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", "1")
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "tuner0")
    with pytest.raises(ValueError, match="not with --distributed"):
        tune(fixture, isolate_trials=True, directory=str(tmp_path), verbose=0,
             config=dataclasses.replace(fixture.Config(), **fixture.TINY))  # fmt: skip
