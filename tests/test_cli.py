"""The `zoo` command, through its console-script entry point."""

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import run_light
from zoo import cli, recipe

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZOO = os.path.join(os.path.dirname(sys.executable), "zoo")


def _zoo(*args, timeout=300):
    cmd = [ZOO] if os.path.exists(ZOO) else [sys.executable, "-m", "zoo.cli"]
    env = dict(os.environ, KERAS_BACKEND="tensorflow", CUDA_VISIBLE_DEVICES="")
    return subprocess.run([*cmd, *args], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=timeout)


def test_help_everywhere():
    top = _zoo("--help")
    assert top.returncode == 0
    for command in ("list", "train", "evaluate", "export", "generate", "predict", "tune"):
        assert command in top.stdout
    parser = cli.build_parser(["tune"])
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, subparser in sub.choices.items():
        text = subparser.format_help()
        assert text.startswith("usage: zoo " + name), name
    assert "--set" in sub.choices["train"].format_help()
    assert "--max-trials" in sub.choices["tune"].format_help()


def test_list_recipes(capsys):
    assert cli.main(["list", "recipes"]) == 0
    out = capsys.readouterr().out
    for name in recipe.list_recipes():
        assert f"  {name}\n" in out
    assert f"{len(recipe.list_recipes())} recipes" in out


def test_unknown_recipe_lists_the_known_ones(capsys):
    assert cli.main(["train", "no_such_recipe"]) == 2
    err = capsys.readouterr().err
    assert "Unknown recipe 'no_such_recipe'" in err
    assert "adding_problem" in err


def test_bad_set_names_the_key_and_type(capsys):
    assert cli.main(["train", "adding_problem", "--set", "epochz=3"]) == 2
    err = capsys.readouterr().err
    assert "Unknown config key 'epochz'" in err and "epochs" in err
    assert cli.main(["train", "adding_problem", "--set", "epochs=three"]) == 2
    err = capsys.readouterr().err
    assert "--set epochs: expected int. Received: epochs='three'" in err
    assert cli.main(["train", "adding_problem", "--set", "mixed_precision=maybe"]) == 2
    assert "expected bool" in capsys.readouterr().err
    assert cli.main(["train", "adding_problem", "--set", "model.units=many"]) == 2
    assert "--set model.units: expected int" in capsys.readouterr().err


@pytest.mark.slow
def test_train_evaluate_export_predict(tmp_path, capsys):
    run = str(tmp_path / "run")
    args = ["--tiny", "--set", "cells=()", "--run-dir", run, "--no-export",
            "--data-dir", str(tmp_path / "tfds"), "--quiet"]
    assert cli.main(["train", "adding_problem", *args]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("[adding_problem] complete: mse=") and f"run {run}" in last
    # Started again, the finished run is reused, not retrained nor overwritten.
    assert cli.main(["train", "adding_problem", *args]) == 0
    assert "already_complete" in capsys.readouterr().out.strip().splitlines()[-1]
    assert cli.main(["train", "adding_problem", *args, "--set", "learning_rate=0.5"]) == 2
    assert "another configuration (learning_rate" in capsys.readouterr().err

    assert cli.main(["evaluate", run, "--data-dir", str(tmp_path / "tfds")]) == 0
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1].startswith(f"[evaluate] {run}: mse=")

    target = str(tmp_path / "export" / "1")
    assert cli.main(["export", run, "--to", target]) == 0
    assert os.path.isfile(os.path.join(target, "saved_model.pb"))
    assert cli.main(["export", run, "--to", target]) == 2
    assert "exists" in capsys.readouterr().err

    features = [[[0.5, 1.0], [0.25, 1.0], [0.1, 0.0]]]
    assert cli.main(["predict", target, "--inputs", json.dumps({"features": features})]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1] == f"[predict] 1 example(s) through {target} (predict): value (1, 1)"
    assert len(json.loads(lines[-2])) == 1
    # The tensor-level signature, by name.
    assert cli.main(["predict", target, "--signature", "serve", "--inputs",
                     json.dumps({"features": features})]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1] == f"[predict] 1 example(s) through {target} (serve): output_0 (1, 1)"


def test_generate_needs_a_generative_export(tmp_path, capsys):
    assert cli.main(["generate", str(tmp_path / "missing")]) == 2
    assert "No SavedModel folder" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["train"], ["nonsense"]])
def test_usage_errors_exit_2(argv):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2


def test_list_everything(capsys):
    import zoo
    import zoo.data

    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for name in list(zoo.list_models()) + list(zoo.data.list_datasets()):
        assert f"  {name}\n" in out
    assert "cells:\n  simple\n  gru (chrono_init)\n  lstm (chrono_init)\n  indrnn\n" in out
    assert "  lnlstm (chrono_init)\n" in out
    assert out.strip().splitlines()[-1] == (
        f"{len(zoo.list_models())} models | 7 cells | {len(recipe.list_recipes())} recipes | "
        f"{len(zoo.data.list_datasets())} datasets")


def test_the_listed_cells_are_the_factories_and_only_the_marked_take_chrono_init():
    from zoo.models import blocks

    assert cli.CELLS == blocks.CELLS and cli.GATED_CELLS == blocks.GATED_CELLS
    assert cli.main(["list", "cells"]) == 0
    for cell in cli.CELLS:
        blocks.make_cell(cell, 2, chrono_init=10 if cell in cli.GATED_CELLS else None)
        if cell not in cli.GATED_CELLS:
            with pytest.raises(ValueError, match="chrono_init"):
                blocks.make_cell(cell, 2, chrono_init=10)


def test_the_static_catalogs_are_the_registries():
    import zoo
    import zoo.data

    assert list(cli.MODELS) == list(zoo.list_models())
    assert list(cli.DATASETS) == list(zoo.data.list_datasets())


LIGHT_ARGVS = [
    ["--help"], ["list"], ["list", "models"], ["list", "datasets"],
    *[[command, "--help"] for command in
      ("list", "train", "evaluate", "export", "generate", "predict", "tune")],
]


@pytest.fixture(scope="session")
def light():
    return run_light(LIGHT_ARGVS)


@pytest.mark.parametrize("argv", LIGHT_ARGVS)
def test_help_and_list_import_neither_tensorflow_nor_keras(light, argv):
    answer = light[tuple(argv)]
    assert (answer["code"], answer["heavy"]) == (0, []), answer["stderr"][-2000:]
