"""Tests for benchmarks/rnn_throughput.py: its arithmetic, its arguments, and
a real smoke run on tiny shapes in subprocesses (one per Keras backend)."""

import importlib.util
import json
import math
import os
import re
import subprocess
import sys

import pytest

from benchmarks import rnn_throughput as bench

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _row(family, cell, backend, setting, seq_s, latency_ms=1.0):
    return dict(backend=backend, family=family, cell=cell, setting=setting, requested=setting,
                train_best=seq_s, train_median=seq_s / 2, latency_best_ms=latency_ms,
                latency_median_ms=latency_ms, steps_timed=10)


def test_train_flops_counts_gates_inputs_and_units():
    # forward 2*T*B*(D+H)*k*H, training three times that
    assert bench.train_flops("lstm", steps=100, features=64, units=256, batch=64) == (
        3 * 2 * 100 * 64 * (64 + 256) * 4 * 256)
    assert bench.train_flops("gru", 10, 3, 8) == 3 * 2 * 10 * 11 * 3 * 8
    assert bench.train_flops("simple", 10, 3, 8) == 3 * 2 * 10 * 11 * 1 * 8


def test_ratios_compare_same_backend_and_setting_and_best_peer():
    rows = [
        _row("zoo", "lstm", "tensorflow", "xla", 300.0, latency_ms=2.0),
        _row("keras", "lstm", "tensorflow", "xla", 200.0),
        _row("keras", "lstm", "tensorflow", "graph", 100.0),
        _row("torch", "lstm", "torch", "1 thr", 250.0, latency_ms=3.0),
    ]
    shape = (64, 100, 64, 256)
    bench.add_ratios(rows, shape, rate=100.0)
    zoo, keras_xla, keras_graph, torch_row = rows
    assert zoo["vs_keras"] == pytest.approx(1.5)
    assert keras_graph["vs_keras"] == pytest.approx(1.0)
    assert torch_row["vs_keras"] is None
    assert zoo["vs_peer"] == pytest.approx(300 / 250)  # best peer is torch
    assert keras_graph["vs_peer"] == pytest.approx(100 / 250)
    assert zoo["lat_vs_torch"] == pytest.approx(1.5)  # torch 3 ms / zoo 2 ms
    expected = 300.0 * bench.train_flops("lstm", 100, 64, 256) / 1e9
    assert zoo["gflops"] == pytest.approx(expected)
    assert zoo["frac_matmul"] == pytest.approx(expected / 100.0)
    table = bench.format_table(rows)
    assert table.count("\n") == 2 + len(rows) - 1
    assert "| LSTM | zoo | tensorflow | xla | 300 |" in table


def test_arguments_are_validated():
    with pytest.raises(SystemExit):
        bench.parse_args(["--cells", "lstm,rnn"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--families", "pytorch"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--repeats", "0"])
    args = bench.parse_args(["--quick", "--units", "16"])
    assert (args.batch, args.steps, args.features, args.units) == (4, 5, 3, 16)
    assert args.latency_steps == 5
    args = bench.parse_args([])
    assert (args.batch, args.steps, args.features, args.units) == (64, 100, 64, 256)


def _expected_rows(backend, zoo_ok, torch_ok):
    settings = {"tensorflow": ["graph", "xla"], "jax": ["jit"]}[backend]
    families = (["zoo"] if zoo_ok else []) + ["keras"]
    want = {(f, c, backend, s) for c in bench.CELLS for f in families for s in settings}
    if torch_ok:
        threads = {os.cpu_count() or 1, 1}
        want |= {("torch", c, "torch", f"{n} thr") for c in bench.CELLS for n in threads}
    return want


@pytest.mark.slow
# CI runs the TensorFlow smoke run; the exhaustive tier the JAX one too.
@pytest.mark.parametrize("backend", ["tensorflow",
                                     pytest.param("jax", marks=pytest.mark.exhaustive)])
def test_quick_run_has_every_row_with_sane_numbers(backend, tmp_path):
    out = tmp_path / "result.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.rnn_throughput", "--backend", backend, "--quick",
         "--repeats", "3", "--json", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=900,
        env=dict(os.environ, KERAS_BACKEND=backend),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["notes"] == [] or all("skipped" in n for n in result["notes"]), result["notes"]
    zoo_ok = not any(n.startswith("zoo rows skipped") for n in result["notes"])
    torch_ok = importlib.util.find_spec("torch") is not None
    got = {(r["family"], r["cell"], r["backend"], r["setting"]) for r in result["rows"]}
    assert got == _expected_rows(backend, zoo_ok, torch_ok)
    for r in result["rows"]:
        assert r["steps_timed"] == 3
        for key in ("train_best", "train_median", "latency_best_ms", "latency_median_ms"):
            assert math.isfinite(r[key]) and r[key] > 0, (key, r)
        assert r["train_best"] >= r["train_median"]
        assert r["latency_best_ms"] <= r["latency_median_ms"]
    assert result["matmul_gflops"] > 0
    # The printed table has a line per row and the matmul rate.
    assert proc.stdout.count("\n| ") == len(result["rows"]) + 1
    assert "float32 matrix product" in proc.stdout


def test_merged_tables_name_the_process_of_torch_rows():
    rows = [_row("torch", "gru", "torch", "1 thr", 10.0), _row("keras", "gru", "jax", "jit", 5.0)]
    bench.label_torch_rows(rows, "jax")
    assert [r["backend"] for r in rows] == ["torch (jax process)", "jax"]


@pytest.mark.slow
def test_cli_startup_table_and_a_real_run():
    from benchmarks import cli_startup

    rows = cli_startup.table({"python -c pass (baseline)": [0.02, 0.03], "x": [0.2, 0.4, 0.3]},
                             {"python -c pass (baseline)": "", "x": "keras"})
    assert rows[1] == {"case": "x", "best_s": 0.2, "median_s": 0.3, "ratio_to_baseline": 10.0,
                       "heavy_modules": "keras"}
    out = subprocess.run([sys.executable, "-m", "benchmarks.cli_startup", "--repeats", "1",
                          "--json"], capture_output=True, text=True, cwd=REPO, check=True,
                         timeout=600).stdout
    measured = {r["case"]: r for r in json.loads(out)}
    assert set(measured) == set(cli_startup.CASES)
    for case in ("zoo --help", "zoo list", "zoo train --help", "zoo tune --help"):
        assert measured[case]["heavy_modules"] == "none", measured[case]
    assert "tensorflow" not in measured["import zoo; zoo.layers (jax backend)"]["heavy_modules"]
    assert "keras" in measured["import zoo; zoo.layers (jax backend)"]["heavy_modules"]


def test_long_sequences_arguments_are_validated(capsys):
    from benchmarks import long_sequences

    for argv, message in ([["--lengths", "0,10"], "positive integers; received '0,10'"],
                          [["--contenders", "mingru,lstm"],
                           "--contenders must be a comma list of .*received: \\['mingru'\\]"],
                          [["--repeats", "0"], "--repeats must be >= 1; received: 0"]):
        with pytest.raises(SystemExit):
            long_sequences.parse_args(argv)
        assert re.search(message, capsys.readouterr().err), (argv, message)
    args = long_sequences.parse_args(["--quick"])
    assert args.lengths == long_sequences.QUICK["lengths"] and args.batch == 4


@pytest.mark.slow
def test_long_sequences_quick_run_times_and_measures_the_scan(tmp_path):
    """A real run on JAX: a row per contender and length with sane numbers, ratios
    against zoo's LSTM, and XLA's gradient memory of the parallel and step modes."""
    out = tmp_path / "result.json"
    contenders = "mingru_parallel,mingru_step,minlstm_parallel,lstm"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.long_sequences", "--backend", "jax", "--quick",
         "--repeats", "2", "--contenders", contenders, "--json", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=900,
        env=dict(os.environ, KERAS_BACKEND="jax"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["notes"] == []
    got = {(r["contender"], r["steps"]) for r in result["rows"]}
    assert got == {(c, t) for c in contenders.split(",") for t in (8, 16)}
    for r in result["rows"]:
        assert r["timed"] == 2 and math.isfinite(r["steps_per_s"]) and r["steps_per_s"] > 0
        assert r["sequences_per_s"] == pytest.approx(4 * r["steps_per_s"])
    assert {r["vs_lstm"] for r in result["rows"] if r["contender"] == "lstm"} == {1.0}
    memory = {(m["contender"], m["steps"]): m["temp_bytes"] for m in result["memory"]}
    assert set(memory) == got
    assert all(v > 0 for v in memory.values())
    assert proc.stdout.count("\n| mingru_parallel |") == 4  # speed and memory tables
