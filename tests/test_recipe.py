"""zoo.recipe: finding recipes (entry points), configs and overrides."""

import dataclasses
import json
import os
import typing

import pytest

from recipes import adding_problem
from zoo import recipe as base


def test_registry_lists_every_recipe_module_and_rejects_unknown_names():
    names = base.list_recipes()
    assert names == sorted(names)
    assert {"chorale_generation", "adding_problem", "dates"} <= set(names)
    for name in names:
        recipe = base.get_recipe(name)
        for attr in ("Config", "TINY", "SEARCH_SPACE", "OBJECTIVE", "load_data", "build_model",
                     "evaluate", "main"):
            assert hasattr(recipe, attr), (name, attr)
        config = recipe.Config()
        assert {"epochs", "batch_size", "learning_rate", "seed", "model"} <= set(
            f.name for f in dataclasses.fields(config))
        assert "name" in config.model
        assert set(recipe.TINY) <= {f.name for f in dataclasses.fields(config)}
        assert recipe.OBJECTIVE[1] in ("min", "max")
    assert base.get_recipe("recipes.dates").NAME == "dates"
    known = "Known recipes: adding_problem, char_lm, chorale_gen"
    with pytest.raises(ValueError, match=f"Unknown recipe 'nope'. {known}"):
        base.get_recipe("nope")
    with pytest.raises(ValueError, match="is not a recipe: it has no `Config`"):
        base.get_recipe("recipes._standard")
    with pytest.raises(ValueError, match="Cannot import recipe module 'no_such.module'"):
        base.get_recipe("no_such.module")


def test_overrides_are_typed():
    config = base.make_config(adding_problem, overrides=[
        "epochs=3", "learning_rate=1e-2", "mixed_precision=true", "jit=auto",
        "lengths=(50, 200)", "cells=gru,lstm", "model.units=16", "model.cell=lstm",
        "model.num_layers=2"])
    assert config.epochs == 3 and config.learning_rate == 0.01
    assert config.mixed_precision is True and config.jit == "auto"
    assert config.lengths == (50, 200) and config.cells == ("gru", "lstm")
    assert config.model == {"name": "many_to_one", "cell": "lstm", "units": 16, "num_layers": 2}
    assert base.apply_overrides(config, ["jit=off"]).jit is False
    assert adding_problem.Config().model["units"] == 32  # defaults untouched


def test_any_dict_field_takes_dotted_keys_like_model():
    from recipes import chorale_generation

    config = base.apply_overrides(chorale_generation.Config(), [
        "harmonizer.epochs=6", "harmonizer.model={'name': 'many_to_many', 'units': 32}",
        "model.units=64"])
    assert config.harmonizer == {"epochs": 6, "model": {"name": "many_to_many", "units": 32}}
    assert config.model["units"] == 64
    assert chorale_generation.Config().harmonizer == {}  # defaults untouched
    # A dict given whole, then a key of it: the key wins, the rest stays.
    both = base.apply_overrides(chorale_generation.Config(), [
        "harmonizer={'epochs': 2, 'batch_size': 8}", "harmonizer.epochs=5"])
    assert both.harmonizer == {"epochs": 5, "batch_size": 8}
    with pytest.raises(ValueError, match=r"Unknown config key 'harmoniser.epochs'.*"
                                         r"model.<create_model argument>, harmonizer.<key>\)"):
        base.apply_overrides(chorale_generation.Config(), ["harmoniser.epochs=6"])


def test_jit_overrides_parse_after_typing_has_evicted_the_fields_union():
    # typing caches Union[...] in a bounded LRU; heavy imports (keras_tuner,
    # every recipe) evict Union[bool, str], after which a fresh one is equal
    # to the ``jit`` annotation but not the same object.
    for i in range(300):
        filler = type(f"Filler{i}", (), {})
        typing.Union[int, filler]
    assert typing.get_type_hints(base.BaseConfig)["jit"] is not typing.Union[bool, str]
    config = adding_problem.Config()
    assert base.apply_overrides(config, ["jit=auto"]).jit == "auto"
    assert base.apply_overrides(config, ["jit=on"]).jit is True
    with pytest.raises(ValueError, match="--set jit: expected 'auto', true or false"):
        base.apply_overrides(config, ["jit=maybe"])


@pytest.mark.parametrize("item, message", [
    ("epochs", "--set expects KEY=VALUE. Received: 'epochs'"),
    ("epoch=3", "Unknown config key 'epoch'"),
    ("epochs=2.5", "--set epochs: expected int. Received: epochs='2.5'"),
    ("learning_rate=fast", "--set learning_rate: expected float"),
    ("jit=maybe", "--set jit: expected 'auto', true or false"),
    ("lengths={50: 1}", "--set lengths: expected tuple"),
    ("cells=gru,'a,b'", "--set cells: expected tuple"),  # a quoted item: write a literal
    ("model.units=big", "--set model.units: expected int"),
])
def test_bad_overrides_name_the_key_and_the_type(item, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        base.apply_overrides(adding_problem.Config(), [item])


def test_tiny_then_overrides_then_epochs():
    config = base.make_config(adding_problem, tiny=True, overrides=["epochs=5"], epochs=2)
    assert config.train_examples == adding_problem.TINY["train_examples"]
    assert config.epochs == 2


def test_next_version(tmp_path):
    assert base.next_version(str(tmp_path / "missing")) == "1"
    for name in ("1", "3", "notes"):
        (tmp_path / name).mkdir()
    assert base.next_version(str(tmp_path)) == "4"


def test_a_recipe_run_as_main_records_its_importable_name():
    import types

    module = types.ModuleType("__main__")
    module.__spec__ = types.SimpleNamespace(name="recipes.dates")
    assert base.module_name(module) == "recipes.dates"
    assert base.module_name(adding_problem) == "recipes.adding_problem"


def _recipe_references(path):
    """(line, text) of every import of, or module-path string naming, the `recipes` package."""
    import ast
    import re

    tree = ast.parse(open(path).read(), filename=path)
    names = re.compile(r"^recipes(\.\w+)*$")
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if names.match(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.module and names.match(node.module):
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if re.search(r"(^|[\s\"'`(])recipes\.\w", node.value) or (
                    names.match(node.value) and node.value != "recipes"):
                found.append((node.lineno, node.value[:60]))
        elif isinstance(node, ast.Call) and node.args:
            func = ast.unparse(node.func)
            first = node.args[0]
            if func.endswith(("import_module", "__import__")) and isinstance(
                    first, ast.Constant) and str(first.value).startswith("recipes"):
                found.append((node.lineno, first.value))
    return found


def test_nothing_under_zoo_names_the_recipes_package(tmp_path):
    root = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "zoo")
    offenders = {}
    for folder, _, files in os.walk(root):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                refs = _recipe_references(path)
                if refs:
                    offenders[os.path.relpath(path, root)] = refs
    assert offenders == {}
    # The check itself sees the ways a module can be named.
    sample = tmp_path / "sample.py"
    sample.write_text("import recipes\nfrom recipes import base\nimport importlib\n"
                      "importlib.import_module('recipes')\nx = 'recipes.dates'\n"
                      "doc = '''see ``recipes.base.run``'''\nok = 'the recipes of a package'\n")
    assert [line for line, _ in _recipe_references(str(sample))] == [1, 2, 4, 5, 6]


def test_run_artifacts_are_the_recorded_ones_not_a_folder_scan(tmp_path):
    from zoo.training import runs

    run = str(tmp_path)
    runs.write_json(os.path.join(run, "recipe.json"),
                    {"name": "t", "module": "m", "artifacts": ["vocabulary"]})
    runs.write_json(os.path.join(run, "vocabulary.json"), {"classes": ["a", "b"]})
    runs.write_json(os.path.join(run, "stray.json"), {"not": "an artifact"})
    assert base.run_artifacts(run) == {"vocabulary": {"classes": ["a", "b"]}}
    with pytest.raises(ValueError, match="no recipe.json"):
        base.run_artifacts(str(tmp_path / "elsewhere"))


def test_the_contract_module_is_light():
    from tests.helpers import run_python

    out = run_python("""
        import sys
        import zoo.recipe
        print(sorted(m for m in ("keras", "tensorflow", "jax") if m in sys.modules))
        """)
    assert out.split() == ["[]"]


def test_default_backend_and_objective():
    import types

    assert base.default_backend(adding_problem) == "tensorflow"
    assert base.default_backend(types.SimpleNamespace(BACKEND="jax")) == "jax"
    recipe = types.SimpleNamespace(OBJECTIVE=("val_accuracy", "max"))
    assert base.objective(recipe) == ("val_accuracy", "max")
    assert base.objective(recipe, base.Data(train=None)) == ("accuracy", "max")
    with pytest.raises(ValueError, match="must return a zoo.recipe.Data. Received: dict"):
        base._check_data({}, adding_problem)


def test_major_minor_reads_release_and_candidate_versions():
    from zoo._versions import major_minor

    assert major_minor("3.15.0") == (3, 15)
    assert major_minor("2.21.0rc1") == (2, 21)
    assert major_minor("1.4") == (1, 4)
    assert major_minor("2") == (2,)
    with pytest.raises(ValueError, match="Not a version number. Received: 'dev'"):
        major_minor("dev")


def test_initial_weights_do_not_depend_on_whether_the_data_was_already_built(tmp_path):
    # The first run builds the data (drawing from the seeded generators); the
    # second finds it built. Both must train the same model from the same start.
    from zoo import recipe as contract
    from tests import seeded_data_recipe as fixture

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    losses = []
    for name in ("builds", "finds_built"):
        contract.run(fixture, fixture.Config(), data_dir=str(data_dir),
                     run_dir=str(tmp_path / name), export=False, verbose=0)
        metrics = json.loads((tmp_path / name / "metrics.json").read_text())
        losses.append(metrics["history"]["loss"] + metrics["history"]["val_loss"])
    assert (data_dir / "built").exists()
    assert losses[0] == losses[1]
