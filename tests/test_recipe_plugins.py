"""Recipes are plugins: a module registered under the ``zoo.recipes`` entry points
is listed, trained and configured by ``zoo`` exactly like this project's recipes.

The plugin here is a tiny recipe module in a temporary folder with a
``my_recipes-0.1.dist-info`` beside it (``METADATA`` + ``entry_points.txt``):
the same files ``pip install`` would write for a package declaring
``[project.entry-points."zoo.recipes"]``.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.helpers import zoo_main
from tests.recipe_entry_points import write_dist_info

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZOO = os.path.join(os.path.dirname(sys.executable), "zoo")

PLUGIN = textwrap.dedent(
    '''
    """A tiny task from another package: is the sum of the first feature positive?"""

    import dataclasses

    from zoo.recipe import BaseConfig, Data, main_for

    NAME = "tiny_plugin_task"


    @dataclasses.dataclass
    class Config(BaseConfig):
        epochs: int = 2
        batch_size: int = 8
        examples: int = 64
        model: dict = dataclasses.field(default_factory=lambda: {
            "name": "many_to_one", "cell": "gru", "units": 8})


    TINY = {"epochs": 1, "examples": 16}
    SEARCH_SPACE = {"units": {"type": "int", "min": 4, "max": 8, "step": 4, "default": 8}}
    OBJECTIVE = ("val_accuracy", "max")


    def load_data(config, data_dir=None):
        import numpy as np
        import tensorflow as tf

        rng = np.random.default_rng(config.seed)
        x = rng.normal(size=(config.examples, 5, 2)).astype("float32")
        y = (x[:, :, 0].sum(axis=1) > 0).astype("int32")
        ds = tf.data.Dataset.from_tensor_slices(({"features": x}, y)).batch(config.batch_size)
        return Data(train=ds, validation=ds, test=ds,
                    model_kwargs={"input_dim": 2, "num_classes": 2},
                    artifacts={"vocabulary": {"classes": ["negative", "positive"]}})


    def build_model(config, data):
        import keras
        import zoo

        kwargs = dict(config.model)
        model = zoo.create_model(kwargs.pop("name"), **kwargs, **data.model_kwargs)
        model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        return model


    def evaluate(model, data, config):
        return {k: float(v) for k, v in
                model.evaluate(data.test, verbose=0, return_dict=True).items()}


    main = main_for(__name__)
    '''
)


@pytest.fixture
def plugin_path(tmp_path):
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "my_tiny_recipe.py").write_text(PLUGIN)
    write_dist_info(str(folder), "my_recipes", "0.1",
                    {"zoo.recipes": {"tiny_plugin_task": "my_tiny_recipe"}})
    return str(folder)


def _zoo(plugin_path, *args, cwd):
    cmd = [ZOO] if os.path.exists(ZOO) else [sys.executable, "-m", "zoo.cli"]
    path = os.pathsep.join(filter(None, [plugin_path, ROOT, os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, PYTHONPATH=path, KERAS_BACKEND="tensorflow", CUDA_VISIBLE_DEVICES="")
    return subprocess.run([*cmd, *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=300)


@pytest.mark.slow
def test_an_installed_package_recipe_is_listed_and_trains(plugin_path, tmp_path, monkeypatch,
                                                          capsys):
    listed = _zoo(plugin_path, "list", "recipes", cwd=str(tmp_path))
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert "  tiny_plugin_task\n" in listed.stdout
    assert "  adding_problem\n" in listed.stdout  # this project's recipes, found the same way

    # Installed in this process too (its folder on sys.path): train, evaluate and a bad
    # setting through zoo.cli.main, found the same way.
    monkeypatch.syspath_prepend(plugin_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "my_tiny_recipe", raising=False)
    run = str(tmp_path / "run")
    code, out, err = zoo_main(["train", "tiny_plugin_task", "--tiny", "--set", "model.units=4",
                               "--run-dir", run, "--no-export", "--quiet"], capsys)
    assert code == 0, err[-3000:]
    last = out.strip().splitlines()[-1]
    assert last.startswith("[tiny_plugin_task] complete: ") and f"run {run}" in last
    assert json.load(open(os.path.join(run, "config.json")))["model"]["units"] == 4
    info = json.load(open(os.path.join(run, "recipe.json")))
    assert info == {"name": "tiny_plugin_task", "module": "my_tiny_recipe",
                    "artifacts": ["vocabulary"]}
    assert json.load(open(os.path.join(run, "vocabulary.json"))) == {
        "classes": ["negative", "positive"]}
    metrics = json.load(open(os.path.join(run, "metrics.json")))
    assert metrics["status"] == "complete" and metrics["epochs_done"] == 1
    assert set(metrics["test"]) == {"accuracy", "loss"}

    code, out, err = zoo_main(["evaluate", run], capsys)  # found via recipe.json
    assert code == 0, err[-3000:]
    assert out.strip().splitlines()[-1].startswith(f"[evaluate] {run}: accuracy=")

    code, _, err = zoo_main(["train", "tiny_plugin_task", "--set", "epochz=1"], capsys)
    assert code == 2
    assert "Unknown config key 'epochz' for my_tiny_recipe" in err
    sys.modules.pop("my_tiny_recipe", None)
