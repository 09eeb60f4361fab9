"""``python -m benchmarks.results``: tables written from real (tiny) runs, read back without
training, a stale README table caught by ``--check``, bad arguments refused.

One session-scoped pair of tiny runs (japanese_vowels, sunspots) trained by the command
itself in a subprocess serves the slow tests; the other invocations only read them. The fast
tests read a run folder written by hand, with figures whose table form is worked out here.
"""

import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from benchmarks import results
from tests.helpers import ROOT, subprocess_env

# One worker runs this module (scripts/test.sh uses --dist loadgroup), so its
# session-scoped fixtures (trainings, exports, live models) are built once.
pytestmark = pytest.mark.xdist_group("test_results")

RECIPES = ("japanese_vowels", "sunspots")


def run_results(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "benchmarks.results", *args], cwd=ROOT,
                          env=subprocess_env(), capture_output=True, text=True,
                          timeout=timeout)


def block(text):
    start, end = text.index(results.BEGIN), text.index(results.END)
    return text[start:end + len(results.END)]


def outside(text):
    start, end = text.index(results.BEGIN), text.index(results.END)
    return text[:start], text[end + len(results.END):]


def row_of(text, recipe):
    rows = [line for line in block(text).splitlines() if line.startswith(f"| {recipe} |")]
    assert len(rows) == 1, block(text)
    return rows[0]


def metrics(runs, recipe):
    with open(os.path.join(runs, f"{recipe}-tiny", "metrics.json")) as handle:
        return json.load(handle)


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """Two tiny runs trained by ``benchmarks.results`` itself, and the files it wrote."""
    folder = tmp_path_factory.mktemp("results")
    readme = folder / "README.md"
    shutil.copy(os.path.join(ROOT, "README.md"), readme)
    original = readme.read_text()
    runs, md = str(folder / "runs"), str(folder / "results.md")
    done = run_results("--tiny", "--recipes", ",".join(RECIPES), "--runs-dir", runs,
                       "--output-md", md, "--readme", str(readme))
    assert done.returncode == 0, done.stdout + done.stderr
    return {"folder": folder, "readme": readme, "original": original, "runs": runs, "md": md,
            "stdout": done.stdout, "stderr": done.stderr}


@pytest.mark.slow
def test_table_replaced_between_markers_with_the_runs_figures(tiny):
    text = tiny["readme"].read_text()
    assert outside(text) == outside(tiny["original"])  # nothing else in the README changed
    assert block(text) != block(tiny["original"])
    assert "TINY CONFIGS — NOT RESULTS" in block(text)
    assert "TINY CONFIGS — NOT RESULTS" in open(tiny["md"]).read()
    for recipe in RECIPES:
        assert f"training: zoo train {recipe} --run-dir" in tiny["stdout"]
    vowels, spots = metrics(tiny["runs"], "japanese_vowels"), metrics(tiny["runs"], "sunspots")
    row = row_of(text, "japanese_vowels")
    accuracy = vowels["test"]["accuracy"]
    assert 0.0 <= accuracy <= 1.0
    assert f"accuracy {100 * accuracy:.2f} %" in row
    summary = vowels["summary"]
    assert f"| {summary['epochs']} |" in row
    assert f"{summary['train_seconds']:.0f} s / {summary['total_seconds']:.0f} s" in row
    row = row_of(text, "sunspots")
    assert f"mae {spots['test']['mae']:.4g}" in row
    assert f"persistence mae {spots['test']['persistence_mae']:.4g}" in row  # the reference


@pytest.mark.slow
def test_results_md_has_every_metric_and_the_provenance(tiny):
    text = open(tiny["md"]).read()
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout.strip()
    assert f"- commit: {head}" in text
    assert f"- machine: {os.cpu_count()} CPUs" in text
    assert "python -m benchmarks.results --tiny --recipes japanese_vowels,sunspots" in text
    loss = metrics(tiny["runs"], "japanese_vowels")["test"]["loss"]
    assert f"| loss | {loss:.4g} |" in text
    years = metrics(tiny["runs"], "sunspots")["test"]["test_years"]
    assert f"| test years | {years:,} |" in text
    assert "| backend | tensorflow |" in text


@pytest.mark.slow
def test_read_only_reproduces_the_table_without_training(tiny, capsys):
    readme = tiny["folder"] / "README-again.md"
    shutil.copy(tiny["readme"], readme)
    stamps = {r: os.path.getmtime(os.path.join(tiny["runs"], f"{r}-tiny", "metrics.json"))
              for r in RECIPES}
    md = str(tiny["folder"] / "again.md")
    code = results.main(["--tiny", "--read-only", "--recipes", ",".join(RECIPES),
                         "--runs-dir", tiny["runs"], "--output-md", md,
                         "--readme", str(readme)])
    assert code == 0
    assert "training:" not in capsys.readouterr().out
    assert results.table_lines(readme.read_text()) == results.table_lines(
        tiny["readme"].read_text())
    assert stamps == {r: os.path.getmtime(os.path.join(tiny["runs"], f"{r}-tiny",
                                                       "metrics.json")) for r in RECIPES}


@pytest.mark.slow
def test_read_only_says_what_is_not_measured(tiny, capsys):
    readme = tiny["folder"] / "README-missing.md"
    shutil.copy(tiny["readme"], readme)
    code = results.main(["--tiny", "--read-only", "--recipes", "sequential_digits,ner",
                         "--runs-dir", tiny["runs"], "--output-md",
                         str(tiny["folder"] / "missing.md"), "--readme", str(readme)])
    assert code == 0
    text = readme.read_text()
    assert "not measured in this run (no finished run in" in row_of(text, "sequential_digits")
    assert "needs data (TFDS download), not run" in row_of(text, "ner")
    assert not os.path.exists(os.path.join(tiny["runs"], "sequential_digits-tiny"))


@pytest.mark.slow
def test_check_passes_on_a_current_table_and_catches_a_hand_edit(tiny, capsys):
    common = ["--tiny", "--recipes", ",".join(RECIPES), "--runs-dir", tiny["runs"]]
    readme = tiny["folder"] / "README-check.md"
    shutil.copy(tiny["readme"], readme)
    before = readme.read_text()
    assert results.main(common + ["--check", "--readme", str(readme)]) == 0
    assert "matches the runs" in capsys.readouterr().out
    assert readme.read_text() == before  # --check writes nothing
    row = row_of(before, "sunspots")
    edited = row.replace("| sunspots | mae ", "| sunspots | mae 1")
    assert edited != row
    readme.write_text(before.replace(row, edited))
    assert results.main(common + ["--check", "--readme", str(readme)]) == 1
    out = capsys.readouterr().out
    assert "the results table is stale" in out
    assert f"-{edited}" in out and f"+{row}" in out
    assert readme.read_text() == before.replace(row, edited)


def test_unknown_recipe_and_missing_markers_are_clear_errors(tmp_path):
    readme = tmp_path / "README.md"
    shutil.copy(os.path.join(ROOT, "README.md"), readme)
    done = run_results("--recipes", "japanese_vowels,no_such_recipe", "--read-only",
                       "--readme", str(readme))
    assert done.returncode == 2
    assert "--recipes: unknown recipe(s) no_such_recipe" in done.stderr
    assert "Expected names from: " in done.stderr and "sunspots" in done.stderr
    assert "Traceback" not in done.stderr
    plain = tmp_path / "no-markers.md"
    plain.write_text("# A README without the markers\n")
    done = run_results("--read-only", "--readme", str(plain))
    assert done.returncode == 2
    assert "has no results markers" in done.stderr and results.BEGIN in done.stderr
    assert "Traceback" not in done.stderr


def handmade_run(runs, recipe, test, *, epochs, summary_epochs, train_s, total_s):
    """A finished tiny run folder of ``recipe`` written by hand: metrics, config, weights."""
    import h5py
    import numpy as np

    from zoo import recipe as zoo_recipe

    folder = os.path.join(runs, f"{recipe}-tiny")
    os.makedirs(folder)
    config = results.default_config(zoo_recipe.get_recipe(recipe), tiny=True)
    assert config["epochs"] == epochs
    with open(os.path.join(folder, "config.json"), "w") as handle:
        json.dump(config, handle)
    summary = {"backend": "tensorflow", "epochs": summary_epochs, "status": "complete",
               "test": test, "train_seconds": train_s, "total_seconds": total_s}
    with open(os.path.join(folder, "metrics.json"), "w") as handle:
        json.dump({"status": "complete", "test": test, "summary": summary}, handle)
    weights = os.path.join(folder, "model.weights.h5")
    with h5py.File(weights, "w") as handle:  # 3 x 4 + 4 = 16 weights, the optimizer's not
        handle["layers/dense/vars/0"] = np.zeros((3, 4))
        handle["layers/dense/vars/1"] = np.zeros(4)
        handle["optimizer/vars/0"] = np.zeros((3, 4))
    with zipfile.ZipFile(os.path.join(folder, "model.keras"), "w") as archive:
        archive.write(weights, "model.weights.h5")
    return folder


def test_handmade_runs_give_the_expected_rows_and_check(tmp_path, capsys):
    runs = str(tmp_path / "runs")
    handmade_run(runs, "japanese_vowels", {"accuracy": 0.9648648, "loss": 0.13861},
                 epochs=1, summary_epochs=1, train_s=13.6, total_s=34.5)
    handmade_run(runs, "sunspots", {"mae": 12.6049, "persistence_mae": 22.7425,
                                    "test_years": 40},
                 epochs=1, summary_epochs=1, train_s=100.6, total_s=122.51)
    readme, md = tmp_path / "README.md", tmp_path / "results.md"
    shutil.copy(os.path.join(ROOT, "README.md"), readme)
    common = ["--tiny", "--recipes", "sunspots,japanese_vowels,ner", "--runs-dir", runs,
              "--readme", str(readme)]
    note = "The machine was shared: times are upper bounds."
    assert results.main(common + ["--read-only", "--output-md", str(md), "--note", note]) == 0
    text = readme.read_text()
    assert note in block(text) and f"- note: {note}" in md.read_text()
    assert row_of(text, "japanese_vowels") == (
        "| japanese_vowels | accuracy 96.49 % | — | 1 | 14 s / 34 s |")
    assert row_of(text, "sunspots") == (
        "| sunspots | mae 12.6 | persistence mae 22.74 | 1 | 101 s / 123 s |")
    assert row_of(text, "ner") == "| ner | needs data (TFDS download), not run | — | — | — |"
    full = md.read_text()
    assert "| weights (parameters in model.keras) | 16 |" in full
    assert "| test years | 40 |" in full and "| loss | 0.1386 |" in full
    assert full.startswith("# Results\n\n" + results.BEGIN)
    capsys.readouterr()
    assert results.main(common + ["--check"]) == 0
    readme.write_text(text.replace("accuracy 96.49 %", "accuracy 97.60 %"))
    assert results.main(common + ["--check"]) == 1
    assert "+| japanese_vowels | accuracy 96.49 %" in capsys.readouterr().out


def test_a_run_of_another_configuration_is_not_read(tmp_path, capsys):
    runs = str(tmp_path / "runs")
    folder = handmade_run(runs, "sunspots", {"mae": 12.6}, epochs=1, summary_epochs=1,
                          train_s=1.0, total_s=2.0)
    with open(os.path.join(folder, "config.json")) as handle:
        config = json.load(handle)
    with open(os.path.join(folder, "config.json"), "w") as handle:
        json.dump({**config, "epochs": 7}, handle)
    readme = tmp_path / "README.md"
    shutil.copy(os.path.join(ROOT, "README.md"), readme)
    assert results.main(["--tiny", "--read-only", "--recipes", "sunspots", "--runs-dir", runs,
                         "--readme", str(readme), "--output-md", str(tmp_path / "r.md")]) == 0
    assert "is not the default configuration" in row_of(readme.read_text(), "sunspots")
