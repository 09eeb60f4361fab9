"""Quiet commands: no library start-up noise, no warnings the zoo's pipelines provoke,
known step counts; ``ZOO_VERBOSE=1`` brings the library logs back.

The command-line tests run real ``zoo`` processes on one shared tiny sunspots run.
"""

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from tests.helpers import ROOT, subprocess_env
from zoo import _quiet

# One worker runs this module (scripts/test.sh uses --dist loadgroup), so its
# session-scoped fixtures (trainings, exports, live models) are built once.
pytestmark = pytest.mark.xdist_group("test_quiet")

# What a user must not see (each was seen on main before this module's fixes).
NOISE = ("absl::InitializeLog", "cudart_stub", "cuInit", "oneDNN", "cpu_feature_guard",
         "shuffle=True", "ran out of data", "Unknown", "Traceback", "Warning:",
         "WARNING:absl", "Using custom data configuration", "did not fully read")
PROGRESS = re.compile(r"(\d+)/(\d+) ")  # Keras's bar: "13/13 ━━━━ 0s 40ms/step - loss..."
COLOURS = re.compile(r"\x1b\[[0-9;]*m")


def _zoo(*args, verbose=False, backend="tensorflow", timeout=600):
    """Run ``python -m zoo.cli ARGS`` as a user would: no log level of ours set."""
    env = dict(subprocess_env(), KERAS_BACKEND=backend)
    env.pop("TF_CPP_MIN_LOG_LEVEL")
    env.pop("ZOO_VERBOSE", None)
    if verbose:
        env["ZOO_VERBOSE"] = "1"
    proc = subprocess.run([sys.executable, "-m", "zoo.cli", *args], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return COLOURS.sub("", proc.stdout + proc.stderr).replace("\r", "\n")


def _assert_quiet(output):
    found = [word for word in NOISE if word in output]
    assert not found, f"noise {found} in:\n{output[-4000:]}"


def _first_bar(output):
    """(step, steps) of the first Keras progress line."""
    for line in output.splitlines():
        match = PROGRESS.search(line)
        if match and "step" in line:
            return int(match.group(1)), int(match.group(2))
    raise AssertionError(f"no progress bar in:\n{output[-3000:]}")


@pytest.fixture(scope="session")
def sunspots(tmp_path_factory):
    """A tiny sunspots run (``zoo train --tiny``), its data folder, and what it printed."""
    tmp = tmp_path_factory.mktemp("quiet")
    run, data = str(tmp / "run"), str(tmp / "tfds")
    output = _zoo("train", "sunspots", "--tiny", "--run-dir", run, "--no-export",
                  "--data-dir", data)
    return run, data, output


@pytest.mark.slow
def test_train_prints_no_noise_and_known_step_counts(sunspots):
    run, _, output = sunspots
    _assert_quiet(output)
    step, steps = _first_bar(output)  # epoch 1's bar knows how many steps it has
    assert 1 <= step <= steps
    assert f"{steps}/{steps} " in output
    assert "Preparing the dataset sunspots/next_value" in output  # our one line, once
    assert "[sunspots] complete: mae=" in output


@pytest.mark.slow
def test_evaluate_prints_no_noise(sunspots):
    run, data, _ = sunspots
    output = _zoo("evaluate", run, "--data-dir", data)
    _assert_quiet(output)
    assert f"[evaluate] {run}: mae=" in output


@pytest.mark.slow  # the same zoo._quiet.install() as the zoo command, from zoo.recipe.main_for
def test_recipe_module_entry_is_quiet(sunspots):
    run, data, _ = sunspots
    env = subprocess_env()
    env.pop("TF_CPP_MIN_LOG_LEVEL")
    proc = subprocess.run([sys.executable, "-m", "recipes.sunspots", "--tiny", "--run-dir", run,
                           "--no-export", "--data-dir", data], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    _assert_quiet(proc.stdout + proc.stderr)
    assert "already_complete" in proc.stdout


@pytest.mark.slow
def test_verbose_brings_the_library_logs_back(sunspots):
    run, data, _ = sunspots
    output = _zoo("evaluate", run, "--data-dir", data, verbose=True)
    runtime = [line for line in output.splitlines() if _quiet.NOISE.match(line)]
    assert runtime, output[-3000:]  # absl's notice, cudart/cuInit or oneDNN lines
    assert f"[evaluate] {run}: mae=" in output


@pytest.mark.slow
def test_train_on_jax_prints_no_noise(tmp_path):
    output = _zoo("train", "sunspots", "--tiny", "--backend", "jax", "--run-dir",
                  str(tmp_path / "run"), "--no-export", "--data-dir", str(tmp_path / "tfds"),
                  backend="jax")
    _assert_quiet(output)
    step, steps = _first_bar(output)
    assert f"{steps}/{steps} " in output


# --- the capture window --------------------------------------------------------------

BRIEF = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "I0000 00:00:1796153498.021734   26950 cudart_stub.cc:31] Could not find cuda drivers on "
    "your machine, GPU will not be used.\n"
    "E0000 00:00:1796153508.114937   26950 cuda_platform.cc:52] failed call to cuInit: "
    "INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)\n"
    "I0000 00:00:1796153550.432205   28145 cpu_feature_guard.cc:227] This TensorFlow binary "
    "is optimized to use available CPU instructions in performance-critical operations.\n"
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow "
    "with the appropriate compiler flags.\n"
)


def test_start_up_lines_are_dropped_and_real_errors_kept():
    real = "E0000 00:00:1796153508.1 26950 loader.cc:1] could not load libfoo.so\nOops\n"
    assert _quiet.drop_noise(BRIEF) == ""
    assert _quiet.drop_noise(BRIEF + real) == real


def test_the_window_gives_back_all_but_noise(capfd):
    with _quiet.captured_stderr():
        os.write(2, (BRIEF + "a real problem\n").encode())
    assert capfd.readouterr().err == "a real problem\n"
    with pytest.raises(RuntimeError, match="boom"):
        with _quiet.captured_stderr():
            os.write(2, BRIEF.encode())
            raise RuntimeError("boom")
    assert capfd.readouterr().err == BRIEF  # a failing window hides nothing
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"  # file descriptor 2 is back


def test_ctrl_c_in_the_window_prints_back_no_noise(capfd):
    # Ctrl-C during `import tensorflow` is no failure of the window: the start-up lines stay
    # out, so the command's "interrupted" line is all that shows.
    with pytest.raises(KeyboardInterrupt):
        with _quiet.captured_stderr():
            os.write(2, (BRIEF + "a real problem\n").encode())
            raise KeyboardInterrupt
    assert capfd.readouterr().err == "a real problem\n"
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"


def test_verbose_silences_nothing(monkeypatch):
    monkeypatch.setenv("ZOO_VERBOSE", "1")
    finders = list(sys.meta_path)
    assert _quiet.install() is False
    assert sys.meta_path == finders


# --- known step counts ----------------------------------------------------------------


def _lengths_dataset(n=103, seed=0):
    """(inputs, label) pairs of random lengths 1-39, from a generator: unknown cardinality."""
    import tensorflow as tf

    lengths = np.random.default_rng(seed).integers(1, 40, size=n)

    def gen():
        for i, length in enumerate(lengths):
            yield {"tokens": np.arange(1, length + 1, dtype=np.int32)}, np.int32(i % 2)

    spec = ({"tokens": tf.TensorSpec((None,), tf.int32)}, tf.TensorSpec((), tf.int32))
    return tf.data.Dataset.from_generator(gen, output_signature=spec), lengths


@pytest.mark.parametrize("buckets", [None, (10, 20)])
@pytest.mark.parametrize("drop_remainder", [False, True])
def test_batches_have_a_known_cardinality(buckets, drop_remainder):
    from zoo.data import pipelines

    ds, lengths = _lengths_dataset()
    assert ds.cardinality() < 0
    batched = pipelines.batch(ds, batch_size=8, training=True, seed=1,
                              bucket_boundaries=buckets, drop_remainder=drop_remainder)
    sizes = (np.bincount(np.digitize(lengths, buckets), minlength=3) if buckets
             else np.array([len(lengths)]))
    expected = int(sum(s // 8 if drop_remainder else -(-s // 8) for s in sizes))
    assert int(batched.cardinality()) == expected
    for _ in range(2):  # each epoch (a new order) yields exactly that many batches
        assert sum(1 for _ in batched) == expected


def test_fit_shuffles_arrays_only():
    import tensorflow as tf

    from zoo.training import trainer

    assert trainer.fit_shuffles(np.zeros((4, 2))) is True
    assert trainer.fit_shuffles(tf.data.Dataset.range(3)) is False
    assert trainer.fit_shuffles(iter([1, 2])) is False


@pytest.mark.slow
def test_a_masked_bidirectional_model_predicts_without_the_onednn_bool_notice(tmp_path):
    """The notice came from the first traced transpose of a boolean mask, long after
    start-up (seen under the main job's harmoniser): the probe window provokes it."""
    script = (
        "from zoo import _quiet; _quiet.install()\n"
        "import numpy as np, keras\n"
        "inputs = keras.Input((None,), dtype='int32')\n"
        "x = keras.layers.Embedding(9, 4, mask_zero=True)(inputs)\n"
        "x = keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True))(x)\n"
        "model = keras.Model(inputs, keras.layers.Dense(2)(x))\n"
        "model.predict(np.array([[1, 2, 0]]), verbose=0)\n")
    env = dict(subprocess_env(), KERAS_BACKEND="tensorflow")
    env.pop("TF_CPP_MIN_LOG_LEVEL")
    env.pop("ZOO_VERBOSE", None)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    _assert_quiet(proc.stdout + proc.stderr)
