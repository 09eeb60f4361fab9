"""The `zoo` command's help: the README synopsis is the parser's, every option states its
default, train and tune share their options, and help answers without TensorFlow."""

import os
import re
import sys

import pytest

from tests.helpers import ROOT, run_light
from zoo import _cli_synopsis, cli, recipe

COMMANDS = ("list", "train", "evaluate", "export", "predict", "generate", "tune")


def _subparsers():
    parser = cli.build_parser(["tune"])
    return next(a for a in parser._actions if a.dest == "command").choices


def _options(parser):
    return {a.option_strings[-1]: a for a in parser._actions
            if a.option_strings and a.help != "==SUPPRESS=="}


def test_the_readme_synopsis_is_the_parsers():
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    found = re.search(r"<!-- synopsis:begin -->\n```\n(.*?)\n```\n<!-- synopsis:end -->", text,
                      re.S)
    assert found, "README.md has no synopsis block"
    assert found.group(1) == _cli_synopsis.synopsis(), (
        "README synopsis differs from the parser: paste `python -m zoo._cli_synopsis`")


def test_the_synopsis_names_every_command_and_option():
    text = _cli_synopsis.synopsis()
    subparsers = _subparsers()
    assert set(subparsers) == set(COMMANDS)
    for name, parser in subparsers.items():
        line = next(i for i, line in enumerate(text.splitlines())
                    if line.startswith(f"zoo {name} "))
        block = " ".join(text.splitlines()[line:line + 7])
        for flag in _options(parser):
            assert flag in text if flag in ("--help", "--verbose", "--debug") else flag in block, \
                (name, flag)
    for flag in ("--no-export", "--export-dir", "--quiet", "--export", "--data"):
        assert flag in text


def test_every_option_has_help_that_states_its_default():
    for name, parser in _subparsers().items():
        for flag, action in _options(parser).items():
            if flag == "--help":
                continue
            assert action.help, (name, flag)
            assert "default" in action.help, f"zoo {name} {flag}: {action.help!r}"
    generate = _options(_subparsers()["generate"])
    assert "the same seed" in generate["--seed"].help
    assert "(default: the export's)" in generate["--top-k"].help
    assert "repeat" in _options(_subparsers()["train"])["--set"].help


def test_train_and_tune_share_their_options():
    train, tune = (_options(_subparsers()[n]) for n in ("train", "tune"))
    shared = set(train) & set(tune)
    for flag in ("--backend", "--jit", "--mixed-precision", "--data-dir", "--data", "--tiny",
                 "--quiet", "--verbose", "--debug", "--epochs", "--set", "--export-dir",
                 "--overwrite"):
        assert flag in shared, flag
    for flag in shared - {"--overwrite", "--help"}:  # --overwrite: a run folder vs a sweep folder
        a, b = train[flag], tune[flag]
        assert (a.dest, a.default, a.choices, a.type, a.nargs) == \
            (b.dest, b.default, b.choices, b.type, b.nargs), flag
        if flag != "--tiny":  # the one help text that differs: where a tiny sweep goes
            assert a.help == b.help, flag
    assert "runs/<recipe>-tiny" in train["--tiny"].help
    assert "<recipe>_<tuner>-tiny" in tune["--tiny"].help
    assert "--retrain-best exports only with --export-dir" in tune["--tiny"].help
    # --export-dir is the export folder itself in both.
    assert "the export folder itself" in tune["--export-dir"].help


def test_tune_reads_jit_mixed_precision_and_data(tmp_path):
    from zoo.tuning import cli as tuning_cli

    module = recipe.get_recipe("sunspots")
    parser = tuning_cli.build_parser()
    args = parser.parse_args(["sunspots", "--tiny", "--jit", "off", "--mixed-precision"])
    config = tuning_cli.config_from_args(module, args)
    assert config.jit is False and config.mixed_precision is True
    args = parser.parse_args(["sunspots", "--data", str(tmp_path)])
    with pytest.raises(ValueError, match="takes no --data"):
        tuning_cli.config_from_args(module, args)


@pytest.mark.parametrize("flags,where", [(["--verbose"], 0), (["--verbose"], 1),
                                         (["--debug"], 0), (["--debug"], 1)])
def test_verbose_and_debug_before_or_after_the_command(monkeypatch, capsys, flags, where):
    monkeypatch.setenv("ZOO_VERBOSE", "0")  # set by main(), undone after the test
    monkeypatch.setenv("ZOO_DEBUG", "0")
    argv = flags + ["list", "models"] if where == 0 else ["list", "models"] + flags
    assert cli.main(argv) == 0
    assert capsys.readouterr().out.strip().endswith("5 models")
    variable = "ZOO_VERBOSE" if flags == ["--verbose"] else "ZOO_DEBUG"
    assert os.environ.get(variable) == "1"


_FLAGS = [["--verbose", "--help"], ["--debug", "tune", "--help"], ["--verbose", "list"]]
_BAD = [
    (["train", "sunspots", "--tiny", "--set", "epochs=0"], "--set epochs: expected an integer"),
    (["train", "sunspots", "--data", "x.csv"], "recipe sunspots takes no --data"),
    (["train", "text_classification", "--data", "no-such.csv"], "--data: no such file"),
    (["tune", "sunspots", "--tiny", "--data", "x.csv"], "recipe sunspots takes no --data"),
    (["tune", "sunspots", "--set", "batch_size=0"], "--set batch_size: expected an integer"),
]


@pytest.fixture(scope="session")
def light():
    # One fresh process runs them all (each command's imports are read after it).
    return run_light(_FLAGS + [argv + ["--backend", "jax"] for argv, _ in _BAD])


@pytest.mark.parametrize("argv", _FLAGS)
def test_global_flags_keep_help_and_list_light(light, argv):
    answer = light[tuple(argv)]
    assert (answer["code"], answer["heavy"]) == (0, []), answer["stderr"][-2000:]
    if "tune" in argv:
        assert "--max-trials" in answer["stdout"] and "--backend" in answer["stdout"]


@pytest.mark.parametrize("argv,message", _BAD)
def test_a_bad_set_or_data_is_refused_before_keras_loads(light, argv, message):
    # Also before the command would start itself again on another backend.
    answer = light[tuple(argv + ["--backend", "jax"])]
    assert (answer["code"], answer["heavy"]) == (2, []), answer["stderr"][-2000:]
    assert message in answer["stderr"] and "Traceback" not in answer["stderr"]


def test_tune_starts_again_on_the_wanted_backend(monkeypatch):
    import keras

    wanted = "jax" if keras.backend.backend() == "tensorflow" else "tensorflow"
    calls = []

    class Exec(Exception):
        pass

    def execve(path, argv, env):
        calls.append((argv, env["KERAS_BACKEND"]))
        raise Exec

    monkeypatch.setattr(os, "execve", execve)
    argv = ["tune", "sunspots", "--tiny", "--backend", wanted, "--max-trials", "1"]
    with pytest.raises(Exec):
        cli._dispatch(cli.build_parser(argv).parse_args(argv), argv)
    assert calls == [([sys.executable, "-m", "zoo.cli", *argv], wanted)]


def test_the_tuning_doc_synopsis_is_the_parsers():
    with open(os.path.join(ROOT, "docs", "tuning.md")) as f:
        text = f.read()
    found = re.search(r"<!-- tune-synopsis:begin -->\n```\n(.*?)\n```\n<!-- tune-synopsis:end -->",
                      text, re.S)
    assert found, "docs/tuning.md has no tune synopsis block"
    assert found.group(1) == _cli_synopsis.command_synopsis("tune"), (
        "docs/tuning.md's synopsis differs from the parser: paste "
        "`python -m zoo._cli_synopsis tune`")
    assert found.group(1) in _cli_synopsis.synopsis()  # the README's lines for zoo tune
