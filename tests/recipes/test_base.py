"""recipes/__init__ and recipes/base: the registry, configs and overrides."""

import dataclasses
import typing

import pytest

import recipes
from recipes import adding_problem, base


def test_registry_lists_every_recipe_module_and_rejects_unknown_names():
    names = recipes.list_recipes()
    assert names[0] == "chorale_generation" and "adding_problem" in names
    for name in names:
        recipe = recipes.get_recipe(name)
        for attr in ("Config", "TINY", "SEARCH_SPACE", "OBJECTIVE", "load_data", "build_model",
                     "evaluate", "main"):
            assert hasattr(recipe, attr), (name, attr)
        config = recipe.Config()
        assert {"epochs", "batch_size", "learning_rate", "seed", "model"} <= set(
            f.name for f in dataclasses.fields(config))
        assert "name" in config.model
        assert set(recipe.TINY) <= {f.name for f in dataclasses.fields(config)}
        assert recipe.OBJECTIVE[1] in ("min", "max")
    assert recipes.get_recipe("recipes.dates").NAME == "dates"
    with pytest.raises(ValueError, match="Unknown recipe 'nope'. Known recipes: chorale_gen"):
        recipes.get_recipe("nope")
    with pytest.raises(ValueError, match="is not a recipe: it has no `Config`"):
        recipes.get_recipe("recipes._standard")


def test_overrides_are_typed():
    config = base.make_config(adding_problem, overrides=[
        "epochs=3", "learning_rate=1e-2", "mixed_precision=true", "jit=auto",
        "compare_lengths=(50, 200)", "model.units=16", "model.cell=lstm",
        "model.num_layers=2"])
    assert config.epochs == 3 and config.learning_rate == 0.01
    assert config.mixed_precision is True and config.jit == "auto"
    assert config.compare_lengths == (50, 200)
    assert config.model == {"name": "many_to_one", "cell": "lstm", "units": 16, "num_layers": 2}
    assert base.apply_overrides(config, ["jit=off"]).jit is False
    assert adding_problem.Config().model["units"] == 32  # defaults untouched


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
    ("compare_lengths=50", "--set compare_lengths: expected tuple"),
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
    assert base._module_name(module) == "recipes.dates"
    assert base._module_name(adding_problem) == "recipes.adding_problem"
